"""``simbench measure``: the resolution of images (FRC of two, decorrelation of one, ACF-FWHM)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

HELP = """\
Measure the resolution of images in nm.

  frc     Fourier ring correlation of two images of the same field: two
          independent acquisitions or reconstructions (threshold 1/7), or an
          image and its ground truth (use --threshold 0.5).
  decorr  decorrelation analysis of a single image (Descloux et al.,
          Nat. Methods 2019).
  fwhm    lateral (x, y) and axial (z) FWHM of the structures in an image or
          volume from its autocorrelation (Boland et al.; docs/metrics.md).

The pixel size comes from --pixel-size (nm) or else from the TIFF's calibration.

examples:
  simbench measure frc recon_a.tif recon_b.tif --pixel-size 31.3
  simbench measure frc recon.tif truth.tif --pixel-size 31.3 --threshold 0.5
  simbench measure decorr image.tif
  simbench measure decorr image.tif --pixel-size 15.34 --json
  simbench measure fwhm volume.tif --pixel-size 54.17 --z-step 100
"""

FRC_HELP = """\
Fourier ring correlation (FRC) resolution of two images of the same field.
Both are mean-subtracted and edge-tapered (Tukey window); the FRC per ring of
one frequency pixel is lightly smoothed ([1, 2, 1]/4) and the resolution is
1/k where it first drops below the threshold (interpolated between rings).
It is the Nyquist limit 2·pixel if the FRC never drops below the threshold.

examples:
  simbench measure frc recon_a.tif recon_b.tif --pixel-size 31.3
  simbench measure frc recon.tif truth.tif --threshold 0.5 --json
"""

DECORR_HELP = """\
Single-image resolution by decorrelation analysis (Descloux, Grußmayer &
Radenovic, Nat. Methods 16, 918 (2019)): 2·pixel / k_max, where k_max is the
highest significant peak of the decorrelation curves (unfiltered and after
Gaussian high-pass filters), in units of the Nyquist frequency.

examples:
  simbench measure decorr image.tif
  simbench measure decorr image.tif --pixel-size 15.34 --json
"""


FWHM_HELP = """\
FWHM in nm along x, y and (for a volume) z from the autocorrelation function:
per axis, the mean-subtracted linear (zero-padded) autocorrelation's central
profile is fitted with two Gaussians (structure and neighbour terms); the
narrow one's FWHM / √2 is the structures' FWHM (Boland et al.; docs/metrics.md).
The zero lag is left out, so Poisson noise does not bias it. A volume is
(planes, rows, columns) and needs --z-step.

examples:
  simbench measure fwhm volume.tif --pixel-size 54.17 --z-step 100
  simbench measure fwhm image.tif --pixel-size 31.3 --json
"""


def _pixel_size(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid pixel size {text!r}: expected a positive number (nm)") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"invalid pixel size {text!r}: expected a positive number (nm)")
    return value


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid threshold {text!r}: expected a number in (0, 1)") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"invalid threshold {text!r}: expected a number in (0, 1)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measure", help="measure image resolution (FRC, decorrelation)", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="measure", metavar="MEASURE")
    kinds.required = True
    raw = argparse.RawDescriptionHelpFormatter

    frc = kinds.add_parser("frc", help="Fourier ring correlation of two images", description=FRC_HELP,
                           formatter_class=raw)
    frc.add_argument("image_a", type=Path, help="first image (2D TIFF)")
    frc.add_argument("image_b", type=Path, help="second image of the same field and shape")
    frc.add_argument("--threshold", type=_threshold, default=1.0 / 7.0,
                     help="FRC threshold: 1/7 ≈ 0.142857 (default) between independent images, "
                          "0.5 against ground truth")
    _common(frc)

    decorr = kinds.add_parser("decorr", help="decorrelation analysis of one image", description=DECORR_HELP,
                              formatter_class=raw)
    decorr.add_argument("image", type=Path, help="the image (2D TIFF)")
    _common(decorr)

    fwhm = kinds.add_parser("fwhm", help="ACF-FWHM along x, y and z of an image or volume", description=FWHM_HELP,
                            formatter_class=raw)
    fwhm.add_argument("image", type=Path, help="the image (2D TIFF) or volume (3D TIFF: planes, rows, columns)")
    fwhm.add_argument("--z-step", type=_pixel_size, default=None, metavar="NM",
                      help="plane spacing of a volume in nm (required for volumes)")
    _common(fwhm)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pixel-size", type=_pixel_size, default=None, metavar="NM",
                   help="pixel size in nm (default: the TIFF's calibration)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON object (resolution, threshold, pixel size, curve) instead of a sentence")
    p.set_defaults(func=execute)


def _read_2d(path: Path) -> tuple[Any, float | None]:
    from simbench.errors import SimbenchError
    from simbench.io import read_image

    image, pixel = read_image(path)
    if image.ndim != 2:
        raise SimbenchError(f"{path}: expected a 2D image; got shape {image.shape}")
    return image, pixel


def _resolve_pixel_size(given: float | None, calibrations: dict[Path, float | None]) -> float:
    from simbench.errors import SimbenchError

    if given is not None:
        return given
    known = {path: px for path, px in calibrations.items() if px is not None}
    missing = [str(path) for path in calibrations if calibrations[path] is None]
    if missing:
        raise SimbenchError(f"{', '.join(missing)} has no pixel-size calibration; pass --pixel-size NM")
    values = list(known.values())
    if any(not math.isclose(v, values[0], rel_tol=1e-3) for v in values):
        listing = ", ".join(f"{path}: {px:g} nm" for path, px in known.items())
        raise SimbenchError(f"the images' pixel sizes differ ({listing}); pass --pixel-size NM")
    return values[0]


def _number(value: float) -> float | None:
    """JSON has no NaN: undetermined values become null."""
    return None if not math.isfinite(value) else float(value)


def execute(args: argparse.Namespace) -> int:
    import json

    from simbench.errors import SimbenchError

    try:
        result = {"frc": _measure_frc, "decorr": _measure_decorr, "fwhm": _measure_fwhm}[args.measure](args)
    except ValueError as exc:  # invalid image content (too small, ...) → one-line user error
        raise SimbenchError(str(exc)) from None
    payload, sentence = result
    print(json.dumps(payload, indent=2) if args.json else sentence)
    return 0


def _measure_frc(args: argparse.Namespace) -> tuple[dict, str]:
    from simbench.errors import SimbenchError
    from simbench.metrics.resolution import frc_analysis

    a, px_a = _read_2d(args.image_a)
    b, px_b = _read_2d(args.image_b)
    if a.shape != b.shape:
        raise SimbenchError(f"images differ in shape: {args.image_a} is {a.shape}, {args.image_b} is {b.shape}")
    pixel = _resolve_pixel_size(args.pixel_size, {args.image_a: px_a, args.image_b: px_b})
    res = frc_analysis(a, b, pixel, args.threshold)
    payload = {
        "measure": "frc", "image_a": str(args.image_a), "image_b": str(args.image_b),
        "resolution_nm": _number(res.resolution_nm), "threshold": res.threshold, "pixel_size_nm": pixel,
        "nyquist_limited": not res.crossed, "crossed": res.crossed,
        "curve": {"frequency_per_um": res.frequency_per_um.tolist(), "frc": res.frc.tolist(),
                  "frc_smoothed": res.frc_smoothed.tolist()},
    }
    if not math.isfinite(res.resolution_nm):
        sentence = "FRC resolution: undetermined (an image is constant)"
    else:
        note = " — no crossing: never below the threshold, so only bounded by the Nyquist limit" if not res.crossed else ""
        sentence = (f"FRC resolution: {res.resolution_nm:.1f} nm (threshold {res.threshold:.4g}, "
                    f"pixel {pixel:g} nm){note}")
    return payload, sentence


def _measure_decorr(args: argparse.Namespace) -> tuple[dict, str]:
    from simbench.metrics.resolution import DECORR_MIN_AMPLITUDE, decorrelation_analysis

    image, px = _read_2d(args.image)
    pixel = _resolve_pixel_size(args.pixel_size, {args.image: px})
    res = decorrelation_analysis(image, pixel)
    to_per_um = 1e3 / (2 * pixel)  # normalised frequency 1 = Nyquist = 1/(2·pixel)
    payload = {
        "measure": "decorr", "image": str(args.image),
        "resolution_nm": _number(res.resolution_nm),
        # decorrelation has no FRC-style threshold; peaks below this amplitude are ignored
        "threshold": None, "min_peak_amplitude": DECORR_MIN_AMPLITUDE,
        "pixel_size_nm": pixel, "cutoff_normalised": res.cutoff, "amplitude": res.amplitude,
        "curve": {"frequency_per_um": (res.radii * to_per_um).tolist(), "d": res.d0.tolist()},
        "best_curve": {"frequency_per_um": (res.best_radii * to_per_um).tolist(), "d": res.best_curve.tolist()},
    }
    if not math.isfinite(res.resolution_nm):
        sentence = ("Decorrelation resolution: undetermined (no significant decorrelation peak: "
                    "a constant or pure-noise image, or content up to the Nyquist limit)")
    else:
        sentence = (f"Decorrelation resolution: {res.resolution_nm:.1f} nm (cut-off {res.cutoff:.3f} × Nyquist, "
                    f"amplitude A0 {res.amplitude:.3f}, pixel {pixel:g} nm)")
    return payload, sentence


def _measure_fwhm(args: argparse.Namespace) -> tuple[dict, str]:
    from simbench.errors import SimbenchError
    from simbench.io import read_image
    from simbench.metrics.acf import acf_fwhm

    image, px = read_image(args.image)
    if (image.ndim == 3 and image.shape[0] == 1) or (image.ndim == 2 and args.z_step is not None):
        raise SimbenchError(f"{args.image} has one plane: nothing to measure along z (drop --z-step for x and y)")
    if image.ndim not in (2, 3):
        raise SimbenchError(f"{args.image}: expected a 2D image or a 3D volume; got shape {image.shape}")
    pixel = _resolve_pixel_size(args.pixel_size, {args.image: px})
    if image.ndim == 3 and args.z_step is None:
        raise SimbenchError(f"{args.image} is a volume of {image.shape[0]} planes; pass --z-step NM")
    voxel = ((args.z_step,) if image.ndim == 3 else ()) + (pixel, pixel)
    res = acf_fwhm(image, voxel)
    axes = [a for a in ("x", "y", "z") if a in res]
    payload = {"measure": "fwhm", "image": str(args.image), "pixel_size_nm": pixel, "z_step_nm": args.z_step,
               **{f"fwhm_{a}_nm": _number(res[a]) for a in axes}, "fits": res["fits"]}
    sentence = "ACF-FWHM: " + ", ".join(_fwhm_phrase(a, res[a], res["fits"][a]) for a in axes)
    return payload, sentence


def _fwhm_phrase(axis: str, fwhm_nm: float, fit: dict) -> str:
    """``x 123.4 ± 2.1 nm`` and, when the fit cannot be trusted, why."""
    if not math.isfinite(fwhm_nm):
        return f"{axis} undetermined"
    spread = f" ± {fit['uncertainty_nm']:.1f}" if math.isfinite(fit["uncertainty_nm"]) else ""
    problems = f" (unreliable: {', '.join(fit['problems'])})" if fit["problems"] else ""
    return f"{axis} {fwhm_nm:.1f}{spread} nm{problems}"
