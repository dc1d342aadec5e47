"""``simbench reconstruct``: reconstruct a user's raw SIM TIFF with any method."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = """\
Reconstruct your own 2D SIM acquisition (9 frames: 3 angles x 3 phases of
stripes; or 7 frames: one plane of hexagonal SIM, 7 phase steps in order) and
write a float32 TIFF calibrated in µm (Fiji and napari read the pixel size).
Give one multi-page TIFF, or one single-frame TIFF per frame in acquisition order.
Optics are required: NA, emission wavelength (nm) and the raw pixel size at the
sample (nm; taken from the TIFF's calibration when omitted). Methods that
estimate the pattern (wiener) print what they found; --params-json saves it.

examples:
  simbench reconstruct --method wiener RAW.tif -o OUT.tif --na 1.49 --wavelength 515 --pixel-size 86.7
  simbench reconstruct --method wiener 1_X*.tif -o OUT.tif --na 1.49 --wavelength 515 --pixel-size 86.7 \\
      --frame-order angle-major --params-json params.json
  simbench reconstruct --method hexsim HEX7.tif -o OUT.tif --na 1.1 --wavelength 525 --pixel-size 108.3 \
      --refractive-index 1.33 --params-json carriers.json
"""

FRAME_ORDERS = ("angle-major", "phase-major")  # simbench.physics.FRAME_ORDERS (not imported: keeps --help light)
N_ANGLES = N_PHASES = 3
#: frames of one hexagonal SIM plane (7 phase steps)
N_HEX_STEPS = 7


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="reconstruct your own raw SIM TIFF", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("raw", nargs="+", type=Path, help="raw TIFF (9 stripe or 7 hexagonal frames), or one "
                   "single-frame TIFF per frame in order")
    p.add_argument("-o", "--output", type=Path, required=True, help="output TIFF (float32, calibrated)")
    p.add_argument("--method", "-m", default="wiener", help="method name (default: wiener)")
    p.add_argument("--na", type=float, default=None, help="numerical aperture of the objective")
    p.add_argument("--wavelength", type=float, default=None, help="emission wavelength, nm")
    p.add_argument("--pixel-size", type=float, default=None, help="raw camera pixel at the sample, nm")
    p.add_argument("--refractive-index", type=float, default=1.515, help="immersion medium (default 1.515, oil)")
    p.add_argument("--frame-order", choices=FRAME_ORDERS, default="angle-major",
                   help="stripes: angle-major (default): a0p0 a0p1 a0p2 a1p0 …; phase-major: a0p0 a1p0 a2p0 a0p1 …")
    p.add_argument("--params-json", type=Path, default=None, help="save what the method reports (e.g. "
                   "estimated pattern parameters) as JSON")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.cli.common import load_registry
    from simbench.errors import SimbenchError
    from simbench.harness.evaluation import as_image
    from simbench.io import read_stack, write_image
    from simbench.physics import frame_patterns, nominal_hex_pattern, nominal_pattern
    from simbench.types import MODALITY_HEX2D, MODALITY_SIM2D, Optics, RawStack

    missing = [flag for flag, value in (("--na", args.na), ("--wavelength", args.wavelength)) if value is None]
    if missing:
        raise SimbenchError(f"missing optics: pass {' and '.join(missing)} (the raw data's NA and emission "
                            f"wavelength in nm)")
    registry = load_registry(args)
    method_cls = registry.method(args.method)
    frames, calibrated = read_stack(args.raw)
    kinds = {N_ANGLES * N_PHASES: (MODALITY_SIM2D, f"2D SIM ({N_ANGLES} angles x {N_PHASES} phases of stripes)"),
             N_HEX_STEPS: (MODALITY_HEX2D, f"hexagonal SIM of one plane ({N_HEX_STEPS} phase steps)")}
    if frames.shape[0] not in kinds:
        raise SimbenchError(f"{', '.join(map(str, args.raw))}: {frames.shape[0]} frames; give "
                            + " or ".join(f"{n} for {text}" for n, (_, text) in kinds.items()))
    modality, text = kinds[frames.shape[0]]
    if modality not in method_cls.modalities:
        raise SimbenchError(f"method {args.method!r} does not reconstruct {text} "
                            f"(it accepts {', '.join(method_cls.modalities)})")
    pixel = args.pixel_size if args.pixel_size is not None else calibrated
    if pixel is None:
        raise SimbenchError(f"{args.raw[0]} has no pixel-size calibration: pass --pixel-size (nm at the sample)")
    try:
        optics = Optics(na=args.na, wavelength_nm=args.wavelength, refractive_index=args.refractive_index,
                        pixel_size_nm=pixel)
    except ValueError as exc:
        raise SimbenchError(f"invalid optics: {exc}") from None
    if optics.cutoff_per_pixel >= 0.5:
        print(f"simbench: warning: the raw data are undersampled (OTF cut-off {optics.cutoff_per_pixel:.3f} "
              "cycles/pixel ≥ Nyquist 0.5)", file=sys.stderr)
    if modality == MODALITY_HEX2D:
        raw = RawStack(frames=frames, optics=optics, pattern=nominal_hex_pattern(optics),
                       frame_patterns=tuple(range(N_HEX_STEPS)), modality=MODALITY_HEX2D)
    else:
        raw = RawStack(frames=frames, optics=optics, pattern=nominal_pattern(optics),
                       frame_patterns=frame_patterns(args.frame_order))
    output = method_cls().reconstruct(raw)
    expected_shape = (2 * frames.shape[1], 2 * frames.shape[2])
    image, info = as_image(output, expected_shape)
    write_image(args.output, image, pixel / 2, description={"method": args.method, "na": args.na,
                                                           "wavelength_nm": args.wavelength})
    print(f"wrote {args.output}: {image.shape[1]}x{image.shape[0]} float32, {pixel / 2:.2f} nm/pixel")
    if info:
        print(json.dumps(info, indent=1))
    if args.params_json:
        args.params_json.write_text(json.dumps(info, indent=1) + "\n")
    return 0
