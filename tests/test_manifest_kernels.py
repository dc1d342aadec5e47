"""Manifests of suites whose bytes depend on the CPU's BLAS kernel keep digests per kernel."""
from __future__ import annotations

import pytest

from simbench.harness import manifest
from simbench.suites.axial import AxialTwoPoint
from simbench.suites.static import StaticSuite


def _entry(tag: str) -> dict:
    return {"n": 1, "content_hash": f"hash-{tag}", "samples": {"s-0000": f"digest-{tag}"}}


@pytest.fixture
def recorded(monkeypatch):
    """A manifest made on kernel A with digests of kernel B beside it; this machine runs ``kernel``."""
    state = {"kernel": "openblas:A"}
    data = {"version": AxialTwoPoint.version, "seed": 0, "kernel": "openblas:A", "sizes": {"quick": _entry("A")},
            "kernels": {"openblas:B": {"quick": _entry("B")}}}
    monkeypatch.setattr(manifest, "load_manifest", lambda name: data)
    monkeypatch.setattr(manifest, "blas_kernel", lambda: state["kernel"])
    return state


@pytest.mark.parametrize("kernel, digest", [("openblas:A", "digest-A"), ("openblas:B", "digest-B")])
def test_samples_are_checked_against_their_own_kernels_digests(recorded, kernel, digest):
    recorded["kernel"] = kernel
    entry = manifest.expected(AxialTwoPoint(), "quick", 0)
    assert entry.digests == {"s-0000": digest}
    manifest.check_digest(AxialTwoPoint(), entry, "s-0000", digest)
    with pytest.raises(manifest.DigestMismatchError):
        manifest.check_digest(AxialTwoPoint(), entry, "s-0000", "digest-A" if digest == "digest-B" else "digest-B")


def test_an_unrecorded_kernel_checks_no_bytes_but_every_recorded_hash_is_current(recorded):
    recorded["kernel"] = "openblas:C"
    assert manifest.expected(AxialTwoPoint(), "quick", 0) is None
    assert manifest.content_hashes(AxialTwoPoint(), "quick", 0) == {"hash-A", "hash-B"}
    assert manifest.content_hashes(AxialTwoPoint(), "full", 0) is None


def test_suites_independent_of_the_cpu_use_only_their_top_level_digests(recorded):
    recorded["kernel"] = "openblas:B"
    assert StaticSuite.bytes_depend_on_cpu is False and AxialTwoPoint.bytes_depend_on_cpu is True
    data = manifest.load_manifest("static")
    data["version"] = StaticSuite.version
    assert manifest.expected(StaticSuite(), "quick", 0).digests == {"s-0000": "digest-A"}


def test_this_machine_names_its_kernel():
    kernel = manifest.blas_kernel()
    assert kernel == "unknown" or kernel.count(":") == 1
