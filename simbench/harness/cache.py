"""A cache of generated samples on disk, so that a suite is generated once for all methods and workers.

Layout: ``ROOT/<suite>/<key>/<sample id>.sample``, one file per sample (a ``/`` in
a suite name, e.g. ``axial/chromatin``, is ``--`` in the folder name).  ``key``
is the sha256 of everything that decides a sample's bytes: suite name and
version, its changed options, size, seed, the plugin distribution that
provides the suite and, for suites whose bytes depend on the CPU, the BLAS
kernel.  A file is an 8-byte little-endian header length, a JSON header (the
sample's fields, the digest it was made with, once measured the sample's
measurements, the target's reference scores with the metrics that scored them and their own
sha256, and each array's dtype, shape and offset) and the arrays' bytes
(raw frames and their repeat, the target), each at a 64-byte-aligned offset,
so that reading is one read and no copy.  Reading recomputes the digest: a
file that does not match is ignored (and regenerated), never served.  Files are
written to a temporary name and renamed into place, so concurrent writers
(processes, cluster workers on a shared file system) never expose half a
file; the last identical rename wins.

The root is ``--cache DIR``, else ``$SIMBENCH_CACHE``, else
``$XDG_CACHE_HOME/simbench`` (``~/.cache/simbench``).  ``simbench cache clear``
empties it; do so after editing a suite's code without bumping its version.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simbench.harness.digest import canonical_json, json_sha256, sample_digest
from simbench.harness.manifest import blas_kernel
from simbench.suites.base import Suite
from simbench.types import HexPattern, Optics, RawStack, Sample, StripePattern

ENV_CACHE = "SIMBENCH_CACHE"
#: bump when the file layout changes: older files are then never read
FORMAT = 2
SUFFIX = ".sample"
#: alignment (bytes) of each array in a file
_ALIGN = 64
_SLASH = "--"
_PATTERNS = {"StripePattern": StripePattern, "HexPattern": HexPattern}


def default_root() -> Path:
    """``$SIMBENCH_CACHE``, else ``$XDG_CACHE_HOME/simbench``, else ``~/.cache/simbench``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "simbench"


def suite_key(suite: Suite, size: str, seed: int, distribution: str | None) -> str:
    """The cache key of ``suite``'s samples at ``size`` and ``seed`` (hex, 24 characters)."""
    fields = {"format": FORMAT, "suite": suite.name, "version": suite.version,
              "options": suite.changed_options(), "size": size, "seed": seed, "distribution": distribution,
              "kernel": blas_kernel() if suite.bytes_depend_on_cpu else None}
    return json_sha256(fields)[:24]


@dataclass(frozen=True)
class Cached:
    """A sample read from the cache: the sample as made, its digest, its measurements (or None) and
    the target's reference scores, keyed by :func:`simbench.harness.evaluation.reference_key` (or None)."""

    sample: Sample
    digest: str
    measured: dict[str, Any] | None
    reference: dict[str, Any] | None = None


def _checked_reference(stored: Any) -> dict[str, Any] | None:
    """The stored reference scores when their sha256 matches (else None: they are measured again)."""
    if not isinstance(stored, dict) or "scores" not in stored:
        return None
    return stored["scores"] if json_sha256(stored["scores"]) == stored.get("sha256") else None


def _raw_fields(raw: RawStack) -> dict[str, Any]:
    return {"optics": raw.optics.to_dict(), "pattern_type": type(raw.pattern).__name__,
            "pattern": raw.pattern.to_dict(), "frame_patterns": list(raw.frame_patterns),
            "modality": raw.modality, "oracle": raw.oracle, "z_step_nm": raw.z_step_nm}


def _raw(frames: np.ndarray, fields: dict[str, Any]) -> RawStack:
    return RawStack(frames=frames, optics=Optics(**fields["optics"]),
                    pattern=_PATTERNS[fields["pattern_type"]].from_dict(fields["pattern"]),
                    frame_patterns=tuple(fields["frame_patterns"]), modality=fields["modality"],
                    oracle=fields["oracle"], z_step_nm=fields["z_step_nm"])


class SampleCache:
    """The cache folder of one suite configuration (see :func:`suite_key`)."""

    def __init__(self, root: Path, suite: Suite, size: str, seed: int, distribution: str | None) -> None:
        self.dir = Path(root) / suite.name.replace("/", _SLASH) / suite_key(suite, size, seed, distribution)

    def _path(self, sample_id: str) -> Path:
        return self.dir / f"{sample_id}{SUFFIX}"

    def load(self, sample_id: str) -> Cached | None:
        """The cached sample, or None when it is absent, unreadable or fails its digest."""
        try:
            fields, arrays = _read(self._path(sample_id))
            raw = _raw(arrays["raw"], fields["raw"])
            repeat = _raw(arrays["raw_repeat"], fields["raw"]) if "raw_repeat" in arrays else None
            sample = Sample(id=fields["id"], raw=raw, target=arrays.get("target"),
                            target_pixel_size_nm=fields["target_pixel_size_nm"], truth=fields["truth"],
                            meta=fields["meta"], raw_repeat=repeat, target_z_step_nm=fields["target_z_step_nm"])
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            return None
        if fields.get("format") != FORMAT or sample_digest(sample) != fields["digest"]:
            return None
        return Cached(sample, fields["digest"], fields.get("measured"), _checked_reference(fields.get("reference")))

    def store(self, sample: Sample, digest: str, measured: dict[str, Any] | None,
              reference: dict[str, Any] | None = None) -> None:
        """Write ``sample`` atomically, with its measurements and the target's reference scores by
        reference key (a failure to write only costs the saving: it is not raised)."""
        stored = None if reference is None else {
            "scores": reference, "sha256": json_sha256(reference)}
        fields = {"format": FORMAT, "id": sample.id, "digest": digest, "measured": measured, "reference": stored,
                  "raw": _raw_fields(sample.raw), "target_pixel_size_nm": sample.target_pixel_size_nm,
                  "target_z_step_nm": sample.target_z_step_nm, "truth": sample.truth, "meta": sample.meta}
        arrays = {"raw": sample.raw.frames}
        if sample.target is not None:
            arrays["target"] = sample.target
        if sample.raw_repeat is not None:
            arrays["raw_repeat"] = sample.raw_repeat.frames
        tmp = self.dir / f".{sample.id}.{uuid.uuid4().hex}.tmp"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            _write(tmp, fields, arrays)
            os.replace(tmp, self._path(sample.id))
        except OSError:
            tmp.unlink(missing_ok=True)


def _write(path: Path, fields: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """``fields`` and ``arrays`` in the layout described at the top of this module."""
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    layout, offset = {}, 0
    for name, a in arrays.items():
        layout[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = canonical_json({"fields": fields, "arrays": layout})
    header += b" " * (-(8 + len(header)) % _ALIGN)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header)) + header)
        for name, a in arrays.items():
            out.write(memoryview(a).cast("B"))
            out.write(b"\0" * (-a.nbytes % _ALIGN))


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The fields and (writable) arrays of a file written by :func:`_write`; raises on a short file."""
    with open(path, "rb") as handle:
        data = bytearray(os.fstat(handle.fileno()).st_size)
        if handle.readinto(data) != len(data):
            raise OSError(f"{path}: short read")
    (size,) = struct.unpack_from("<Q", data)
    header = json.loads(data[8:8 + size])
    start, arrays = 8 + size, {}
    for name, spec in header["arrays"].items():
        dtype = np.dtype(spec["dtype"])
        if dtype.hasobject:
            raise ValueError(f"{path}: array {name!r} has object dtype")
        count = int(np.prod(spec["shape"], dtype=np.int64))
        arrays[name] = np.frombuffer(data, dtype, count, start + spec["offset"]).reshape(spec["shape"])
    return header["fields"], arrays


@dataclass(frozen=True)
class Entry:
    """One suite configuration in the cache, as ``simbench cache info`` lists it."""

    suite: str
    key: str
    samples: int
    bytes: int


def entries(root: Path) -> list[Entry]:
    """Every suite configuration under ``root`` with its sample count and size on disk."""
    found = []
    for folder in sorted(p for p in Path(root).glob("*/*") if p.is_dir()):
        files = list(folder.glob(f"*{SUFFIX}"))
        found.append(Entry(folder.parent.name.replace(_SLASH, "/"), folder.name, len(files), sum(f.stat().st_size for f in files)))
    return found


def clear(root: Path, suite: str | None = None) -> int:
    """Delete the cached samples (of ``suite`` only, when given); returns the bytes freed."""
    chosen = [e for e in entries(root) if suite is None or e.suite == suite]
    for entry in chosen:
        shutil.rmtree(Path(root) / entry.suite.replace("/", _SLASH) / entry.key, ignore_errors=True)
    return sum(e.bytes for e in chosen)
