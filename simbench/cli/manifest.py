"""``simbench manifest``: regenerate or verify a suite's committed manifest."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = """\
Generate every sample of a suite (default seed, every size) and write the
sha256 of each, with the suite's content hash, to datasets/<suite>.json in the
source checkout. Run it after bumping a suite's version. With --check, only
verify that regeneration matches the committed manifest (exit 1 if not).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("manifest", help="write or check a suite's manifest (developers)", description=HELP)
    p.add_argument("--suite", "-s", required=True)
    p.add_argument("--size", action="append", default=None, help="only this size (repeatable)")
    p.add_argument("--check", action="store_true", help="verify instead of writing")
    p.add_argument("--out", type=Path, default=None, help="manifest directory (default: the checkout's datasets/)")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:

    from tqdm import tqdm

    from simbench.cli.common import load_registry, warn
    from simbench.harness.digest import content_hash, sample_digest
    from simbench.harness.manifest import load_manifest, manifest_path_in_source
    from simbench.harness.results import atomic_write_json

    registry = load_registry(args)
    suite = registry.suite(args.suite)
    sizes = args.size or list(suite.sizes)
    for size in sizes:
        suite.n_samples(size)
    committed = load_manifest(suite.manifest_name) or {}
    if committed.get("version") != suite.version:
        committed = {}
    manifest = {"suite": suite.name, "version": suite.version, "seed": suite.default_seed,
                "sizes": dict(committed.get("sizes", {}))}
    digests: dict[str, str] = {}
    for size in sizes:
        ids = [suite.sample_id(i) for i in range(suite.n_samples(size))]
        for i, sid in enumerate(tqdm(ids, desc=f"{suite.name}/{size}", disable=None)):
            if sid not in digests:
                digests[sid] = sample_digest(suite.make_sample(i, size, suite.default_seed))
        manifest["sizes"][size] = {"n": len(ids), "content_hash": content_hash(digests[s] for s in ids),
                                   "samples": {s: digests[s] for s in ids}}
    if args.check:
        bad = [size for size in sizes
               if committed.get("sizes", {}).get(size) != manifest["sizes"][size]]
        for size in bad:
            warn(f"suite {suite.name} v{suite.version} size {size}: regenerated samples differ from the manifest")
        print("manifest matches" if not bad else "manifest MISMATCH")
        return 1 if bad else 0
    out = (args.out or manifest_path_in_source()) / f"{suite.manifest_name}.json"
    atomic_write_json(out, manifest)
    print(f"wrote {out}")
    return 0
