"""Content digests of samples and suites (the reproducibility contract)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from simbench.types import Sample


def canonical_json(obj: Any) -> bytes:
    """JSON bytes with sorted keys and no whitespace: stable across runs."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_jsonable).encode()


def json_sha256(obj: Any) -> str:
    """sha256 (hex) of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types (dataclasses with ``to_dict``, numpy scalars and arrays converted)."""
    return json.loads(canonical_json(obj))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def _update_array(h: hashlib._Hash, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    h.update(canonical_json([a.dtype.str, list(a.shape)]))
    h.update(memoryview(a).cast("B"))  # the array's bytes as stored: no copy


def sample_digest(sample: Sample) -> str:
    """sha256 of everything a sample carries: raw frames (and their repeat),
    target, optics, nominal pattern, frame order, true parameters and metadata."""
    h = hashlib.sha256()
    _update_array(h, sample.raw.frames)
    if sample.raw_repeat is not None:
        _update_array(h, sample.raw_repeat.frames)
    if sample.target is not None:
        _update_array(h, sample.target)
    h.update(canonical_json({
        "id": sample.id, "optics": sample.raw.optics, "pattern": sample.raw.pattern,
        "frame_patterns": list(sample.raw.frame_patterns), "modality": sample.raw.modality,
        "target_pixel_size_nm": sample.target_pixel_size_nm, "truth": sample.truth, "meta": sample.meta,
    }))
    return h.hexdigest()


def content_hash(digests: Iterable[str]) -> str:
    """The suite's content hash: sha256 over its ordered sample digests."""
    h = hashlib.sha256()
    for d in digests:
        h.update(d.encode())
    return h.hexdigest()
