"""``simbench manifest``: regenerate or verify a suite's committed manifest."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = """\
Generate every sample of a suite (default seed, every size) and write the
sha256 of each, with the suite's content hash, to datasets/<suite>.json in the
source checkout; suites that measure their samples (the motion regimes and
rolling: TV-L1 optical flow, slow) also get each sample's measurements and a
per-size summary. Run it after bumping a suite's version. With --suite-opt, the
manifest of that variant of the suite (datasets/<suite>@<option>=<value>.json), e.g.
the fixed pattern cycle of the motion regimes (pattern_start=0): runs with those
options are then checked against it too. With --check, only
verify that regeneration matches the committed manifest's checksums (exit 1
if not; measurements are not redone).

The light-sheet suites' samples come out of large BLAS products whose last bits
depend on the CPU's BLAS kernel (e.g. AVX-512 vs AVX2): on a machine whose kernel
differs from the one that made the manifest, the digests are written (or checked)
beside the committed ones, under "kernels", and the committed ones are kept.
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_suite_option_argument

    p = sub.add_parser("manifest", help="write or check a suite's manifest (developers)", description=HELP)
    p.add_argument("--suite", "-s", required=True)
    p.add_argument("--size", action="append", default=None, help="only this size (repeatable)")
    p.add_argument("--check", action="store_true", help="verify instead of writing")
    p.add_argument("--out", type=Path, default=None, help="manifest directory (default: the checkout's datasets/)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes generating samples (default 1; the output does not depend on it)")
    add_suite_option_argument(p)
    p.set_defaults(func=execute)


def _describe(suite, indices: list[int], size: str, measure: list[bool]) -> list[tuple[str, dict]]:
    """(sha256, measurements or {}) of samples ``indices`` (a worker's contiguous share);
    ``measure[k]``: whether to measure ``indices[k]``."""
    from simbench.harness.digest import sample_digest

    return [(sample_digest(suite.make_sample(i, size, suite.default_seed)),
             suite.measure(i, size, suite.default_seed) if m else {}) for i, m in zip(indices, measure)]


def execute(args: argparse.Namespace) -> int:
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np
    from tqdm import tqdm

    from simbench.cli.common import load_registry, parse_suite_options, warn
    from simbench.errors import SimbenchError
    from simbench.harness.digest import content_hash
    from simbench.harness.manifest import blas_kernel, load_manifest, manifest_path_in_source
    from simbench.harness.jsonfile import atomic_write_json

    registry = load_registry(args)
    suite = registry.suite(args.suite).configured(parse_suite_options(args.suite_opt))
    sizes = args.size or list(suite.sizes)
    for size in sizes:
        suite.n_samples(size)
    if args.workers < 1:
        raise SimbenchError(f"--workers must be >= 1; got {args.workers}")
    committed = load_manifest(suite.manifest_file) or {}
    if committed.get("version") != suite.version:
        committed = {}
    manifest = {**committed, "suite": suite.name, "version": suite.version, "seed": suite.default_seed,
                "sizes": dict(committed.get("sizes", {}))}
    # a suite whose bytes depend on the CPU: digests of another kernel go beside the committed ones
    kernel = blas_kernel() if suite.bytes_depend_on_cpu else None
    if kernel and not committed:
        manifest["kernel"] = kernel
    beside = kernel is not None and bool(committed) and committed.get("kernel") != kernel
    if beside:
        manifest["kernels"] = {name: dict(per_size) for name, per_size in committed.get("kernels", {}).items()}
    target = manifest["kernels"].setdefault(kernel, {}) if beside else manifest["sizes"]
    digests: dict[str, str] = {}
    measurements: dict[str, dict] = dict(committed.get("measurements", {}))
    summaries: dict[str, dict] = dict(committed.get("summary", {}))
    for size in sizes:
        ids = [suite.sample_id(i) for i in range(suite.n_samples(size))]
        todo = [i for i, sid in enumerate(ids) if sid not in digests]
        # contiguous shares: suites that share work between neighbouring samples (rolling) keep it
        shares = [list(c) for c in np.array_split(todo, args.workers) if len(c)]
        pool = ProcessPoolExecutor(len(shares)) if len(shares) > 1 else None
        # measurements of this version already in the manifest are kept (not redone)
        measure = [[not args.check and ids[i] not in measurements for i in share] for share in shares]
        try:
            with tqdm(total=len(todo), desc=f"{suite.name}/{size}", disable=None) as bar:
                for share, described in zip(shares, (pool.map if pool else map)(
                        _describe, [suite] * len(shares), shares, [size] * len(shares), measure)):
                    for i, (digest, measured) in zip(share, described):
                        digests[ids[i]] = digest
                        if measured:
                            measurements[ids[i]] = measured
                    bar.update(len(share))
        finally:
            if pool:
                pool.shutdown()
        target[size] = {"n": len(ids), "content_hash": content_hash(digests[s] for s in ids),
                        "samples": {s: digests[s] for s in ids}}
        if not args.check and all(s in measurements for s in ids):
            summaries[size] = suite.summarize([measurements[s] for s in ids])
    if args.check:
        recorded = committed.get("kernels", {}).get(kernel, {}) if beside else committed.get("sizes", {})
        bad = [size for size in sizes if recorded.get(size) != target[size]]
        for size in bad:
            warn(f"suite {suite.name} v{suite.version} size {size}: regenerated samples differ from the manifest")
        print("manifest matches" if not bad else "manifest MISMATCH")
        return 1 if bad else 0
    if measurements:
        manifest["summary"] = summaries
        manifest["measurements"] = {s: measurements[s] for s in sorted(measurements)}
    out = (args.out or manifest_path_in_source()) / f"{suite.manifest_file}.json"
    atomic_write_json(out, manifest)
    print(f"wrote {out}")
    return 0

