"""Suite manifests: the committed record of what a suite version generates.

A manifest (``datasets/<suite>.json``, shipped as package data of
``simbench_datasets``; a variant of a suite under non-default options has its own,
``datasets/<suite>@<option>=<value>.json``) holds, for the default seed and each size, the sha256
of every sample and the resulting content hash; for suites that measure their
samples (e.g. optical flow), also each sample's measurements and, per size, the
suite's summary of them (not hashed).  The runner checks every
sample it generates against it, so a generator change without a version
bump is an error, never a silent change of the benchmark.

Suites whose samples come out of large BLAS matrix products (``Suite.bytes_depend_on_cpu``,
the light-sheet suites) are byte-reproducible on one CPU family, not across them: OpenBLAS
picks its kernels at run time (e.g. AVX-512 on one Xeon, AVX2 on an EPYC), and their sums
round differently in the last bit.  Their manifest says which kernel made its digests
(``"kernel"``, from :func:`blas_kernel`) and may hold the digests of the same version made
on other kernels (``"kernels": {KERNEL: {SIZE: …}}``, written by ``simbench manifest`` on
such a machine).  A sample is checked byte for byte against its own kernel's digests; a
result scored on any recorded kernel's content hash counts as scored on this version.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.suites.base import Suite

MANIFEST_PACKAGE = "simbench_datasets"


@dataclass(frozen=True)
class SizeManifest:
    """Expected digests for one (suite version, seed, size)."""

    digests: dict[str, str]
    content_hash: str
    #: per sample id, the suite's :meth:`~simbench.suites.base.Suite.measure` results
    measurements: dict[str, dict[str, Any]]


def manifest_path_in_source() -> Path:
    """Where manifests live in a source checkout (``datasets/``)."""
    return Path(__file__).resolve().parents[2] / "datasets"


def load_manifest(suite_name: str) -> dict[str, Any] | None:
    try:
        text = resources.files(MANIFEST_PACKAGE).joinpath(f"{suite_name}.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    return json.loads(text)


@lru_cache(maxsize=1)
def blas_kernel() -> str:
    """The BLAS library and kernel numpy's matrix products run on here, e.g. ``openblas:Haswell``
    (``unknown`` when threadpoolctl cannot tell)."""
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in str(info.get("filepath", "")):
            return f"{info.get('internal_api')}:{info.get('architecture')}"
    return "unknown"


def entries(manifest: dict[str, Any], size: str) -> dict[str, dict[str, Any]]:
    """A manifest's entries for ``size``, by the CPU kernel that made them (``"kernel"`` of the
    top-level ``sizes``; ``unrecorded`` when the manifest does not say)."""
    found = {name: per_size[size] for name, per_size in manifest.get("kernels", {}).items() if size in per_size}
    if size in manifest.get("sizes", {}):
        found[manifest.get("kernel", "unrecorded")] = manifest["sizes"][size]
    return found


def _manifest_of(suite: Suite, seed: int) -> dict[str, Any] | None:
    """The manifest of the suite with its options, if one describes this version and seed."""
    manifest = load_manifest(suite.manifest_file)
    if not manifest or manifest.get("version") != suite.version or manifest.get("seed") != seed:
        return None
    return manifest


def expected(suite: Suite, size: str, seed: int) -> SizeManifest | None:
    """The manifest entry for this exact suite version, seed and size, if any: for a suite whose
    bytes depend on the CPU, the entry made on this machine's BLAS kernel (none if the manifest
    has no digests from it: the samples are then not checked byte for byte)."""
    manifest = _manifest_of(suite, seed)
    if manifest is None:
        return None
    if suite.bytes_depend_on_cpu:
        entry = entries(manifest, size).get(blas_kernel())
    else:
        entry = manifest.get("sizes", {}).get(size)
    if entry is None:
        return None
    measured = manifest.get("measurements", {})
    return SizeManifest(digests=entry["samples"], content_hash=entry["content_hash"],
                        measurements={sid: measured[sid] for sid in entry["samples"] if sid in measured})


def content_hashes(suite: Suite, size: str, seed: int) -> frozenset[str] | None:
    """Every content hash that counts as this suite version's ``size``: one per CPU kernel the
    manifest records (a single one for suites whose bytes do not depend on the CPU); None when
    the manifest has no entry to judge by."""
    manifest = _manifest_of(suite, seed)
    return None if manifest is None else frozenset(e["content_hash"] for e in entries(manifest, size).values()) or None


class DigestMismatchError(SimbenchError):
    """A regenerated sample differs from the committed manifest."""


def check_digest(suite: Suite, expected_entry: SizeManifest | None, sample_id: str, digest: str) -> None:
    if expected_entry is None:
        return
    want = expected_entry.digests.get(sample_id)
    if want is not None and want != digest:
        raise DigestMismatchError(
            f"suite {suite.name!r} v{suite.version} regenerated sample {sample_id} with sha256 {digest[:12]}… "
            f"but its manifest records {want[:12]}…: the generator (or a source image from a dependency) "
            f"changed without a version bump. Bump {type(suite).__name__}.version and run "
            f"`simbench manifest --suite {suite.name}`.")
