"""Suite manifests: the committed record of what a suite version generates.

A manifest (``datasets/<suite>.json``, shipped as package data of
``simbench_datasets``) holds, for the default seed and each size, the sha256
of every sample and the resulting content hash; for suites that measure their
samples (e.g. optical flow), also each sample's measurements and, per size, the
suite's summary of them (not hashed).  The runner checks every
sample it generates against it, so a generator change without a version
bump is an error, never a silent change of the benchmark.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
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


def expected(suite: Suite, size: str, seed: int) -> SizeManifest | None:
    """The manifest entry for this exact suite version, seed and size, if any."""
    if suite.changed_options():
        return None
    manifest = load_manifest(suite.manifest_name)
    if not manifest or manifest.get("version") != suite.version or manifest.get("seed") != seed:
        return None
    entry = manifest.get("sizes", {}).get(size)
    if entry is None:
        return None
    measured = manifest.get("measurements", {})
    return SizeManifest(digests=entry["samples"], content_hash=entry["content_hash"],
                        measurements={sid: measured[sid] for sid in entry["samples"] if sid in measured})


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
