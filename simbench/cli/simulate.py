"""``simbench simulate``: export a suite's samples as TIFF + JSON for tools outside Python."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = """\
Write every sample of a suite to a folder, so that tools outside Python
(fairSIM in Fiji, MATLAB pipelines) can be run on exactly the benchmark's data:

  DIR/suite.json            suite name, version, seed, size, content hash, layout
  DIR/raw/<id>.tif          raw frames (frames, y, x), float32, calibrated in µm
  DIR/raw-repeat/<id>.tif   the same acquisition with independent noise (for FRC)
  DIR/target/<id>.tif       ground truth on the target grid, calibrated in µm
  DIR/meta/<id>.json        optics, nominal pattern, frame order, true pattern, sample facts

Frame order is in meta (frame_patterns[i] = 3·angle + phase of frame i).

example:
  simbench simulate --suite static --size quick -o static-quick/
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_suite_option_argument

    p = sub.add_parser("simulate", help="export a suite as TIFF/JSON", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", "-s", required=True)
    p.add_argument("--size", default="quick", help="suite size (default quick)")
    p.add_argument("--seed", type=int, default=None, help="suite seed (default: the suite's own)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    add_suite_option_argument(p)
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from simbench.cli.common import load_registry, parse_suite_options
    from simbench.harness import manifest
    from simbench.harness.digest import content_hash, jsonable, sample_digest
    from simbench.harness.jsonfile import atomic_write_json
    from simbench.io import write_image

    registry = load_registry(args)
    suite = registry.suite(args.suite).configured(parse_suite_options(args.suite_opt))
    n = suite.n_samples(args.size)
    seed = suite.default_seed if args.seed is None else args.seed
    expected = manifest.expected(suite, args.size, seed)
    out: Path = args.output
    digests = []
    for index in tqdm(range(n), desc=f"{suite.name}/{args.size}", disable=None):
        sample = suite.make_sample(index, args.size, seed)
        digest = sample_digest(sample)
        manifest.check_digest(suite, expected, sample.id, digest)
        digests.append(digest)
        raw = sample.raw
        write_image(out / "raw" / f"{sample.id}.tif", raw.frames, raw.optics.pixel_size_nm)
        if sample.raw_repeat is not None:
            write_image(out / "raw-repeat" / f"{sample.id}.tif", sample.raw_repeat.frames, raw.optics.pixel_size_nm)
        if sample.target is not None:  # a real acquisition has none
            write_image(out / "target" / f"{sample.id}.tif", sample.target, sample.target_pixel_size_nm)
        atomic_write_json(out / "meta" / f"{sample.id}.json", jsonable({
            "id": sample.id, "digest": digest, "modality": raw.modality, "optics": raw.optics,
            "nominal_pattern": raw.pattern, "frame_patterns": list(raw.frame_patterns),
            "raw_pixel_size_nm": raw.optics.pixel_size_nm, "target_pixel_size_nm": sample.target_pixel_size_nm,
            "truth": sample.truth, "meta": sample.meta}))
    atomic_write_json(out / "suite.json", {
        "suite": suite.name, "version": suite.version, "seed": seed, "size": args.size, "n_samples": n,
        "options": jsonable(suite.changed_options()),
        "content_hash": content_hash(digests), "modality": suite.modality,
        "sample_ids": [suite.sample_id(i) for i in range(n)],
        "layout": {"raw": "raw/<id>.tif", "raw_repeat": "raw-repeat/<id>.tif", "target": "target/<id>.tif",
                   "meta": "meta/<id>.json"}})
    print(f"wrote {n} samples of {suite.name} v{suite.version} ({args.size}) to {out}")
    return 0
