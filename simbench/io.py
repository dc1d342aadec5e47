"""TIFF in and out with physical pixel sizes (ImageJ/Fiji and napari read them).

Pixel sizes are stored as TIFF X/YResolution in pixels per µm with the ImageJ
``unit`` set to ``um`` (and ``spacing`` for a z step), so Fiji shows
calibrated images and napari/tifffile read the scale back.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from simbench.errors import SimbenchError

#: length units accepted in TIFF metadata, in nm
_UNITS_NM = {"nm": 1.0, "nanometer": 1.0, "um": 1e3, "µm": 1e3, "\\u00B5m": 1e3, "micron": 1e3,
             "micrometer": 1e3, "mm": 1e6, "cm": 1e7, "m": 1e9}
_RESOLUTION_UNIT_NM = {2: 2.54e7, 3: 1e7}  # TIFF ResolutionUnit: inch, centimetre
#: a "pixel size" above this (100 µm) is a print resolution (e.g. 72 dpi), not a calibration
_MAX_PLAUSIBLE_NM = 1e5


def _pixel_size_nm(tif: Any) -> float | None:
    """Pixel size in nm from a TIFF's resolution tags and ImageJ unit, if present and plausible."""
    page = tif.pages[0]
    tag = page.tags.get("XResolution")
    if tag is None or not all(tag.value):
        return None
    num, den = tag.value
    unit_nm = None
    if tif.imagej_metadata and "unit" in tif.imagej_metadata:
        unit_nm = _UNITS_NM.get(str(tif.imagej_metadata["unit"]).strip().lower())
    if unit_nm is None:
        res_unit = page.tags.get("ResolutionUnit")
        unit_nm = _RESOLUTION_UNIT_NM.get(int(res_unit.value) if res_unit else 0)
    if unit_nm is None:
        return None
    size = unit_nm * den / num
    return size if size < _MAX_PLAUSIBLE_NM else None


class _Damage(logging.Handler):
    """Collects what tifffile reports about a damaged file (it logs, then reads what it can)."""

    SIGNS = ("invalid", "corrupt", "truncat", "failed", "out of range", "incomplete")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if any(sign in text.lower() for sign in self.SIGNS):
            self.found.append(" ".join(text.split()))


def _check_complete(tif: Any, data: np.ndarray, size: int) -> str:
    """Why the file's pixels are not all there (truncated), or ''."""
    for page in tif.pages:
        if any(o + n > size for o, n in zip(page.dataoffsets, page.databytecounts)):
            return f"page {page.index} lies past the end of the file ({size} bytes): truncated"
    expected = int((tif.imagej_metadata or {}).get("images", 1) or 1)
    planes = int(np.prod(data.shape[:-2])) if data.ndim > 2 else 1
    if planes < expected:
        return f"its ImageJ metadata says {expected} images, only {planes} can be read: truncated"
    return ""


def read_image(path: str | Path) -> tuple[np.ndarray, float | None]:
    """Read a TIFF as float32 (all pages/planes) and its pixel size in nm (None if unknown);
    a damaged or truncated file is refused, never read in part."""
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise SimbenchError(f"cannot read {path}: no such file")
    damage = _Damage()
    logger = logging.getLogger("tifffile")
    logger.addHandler(damage)
    try:
        with tifffile.TiffFile(path) as tif:
            data = np.asarray(tif.asarray())
            pixel = _pixel_size_nm(tif)
            problem = _check_complete(tif, data, path.stat().st_size)
    except Exception as exc:  # noqa: BLE001 - tifffile raises many kinds
        raise SimbenchError(f"cannot read {path} as TIFF: {' '.join(str(exc).split())[:200]}") from None
    finally:
        logger.removeHandler(damage)
    problem = problem or "; ".join(damage.found[:2])
    if problem:
        raise SimbenchError(f"cannot read {path} as TIFF: {problem[:300]}")
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise SimbenchError(f"{path}: unsupported pixel type {data.dtype}")
    data = np.squeeze(data.astype(np.float32, copy=False))
    if not np.isfinite(data).all():
        raise SimbenchError(f"{path}: contains NaN or infinite values")
    return data, pixel


def read_stack(paths: Sequence[str | Path]) -> tuple[np.ndarray, float | None]:
    """Read one multi-page TIFF, or several single-frame TIFFs in the given order,
    as a (n, H, W) float32 stack; the pixel size is the first file's."""
    frames, pixel = [], None
    for i, path in enumerate(paths):
        data, px = read_image(path)
        if data.ndim == 2:
            data = data[None]
        if data.ndim != 3:
            raise SimbenchError(f"{path}: expected 2D frames or a (frames, H, W) stack; got shape {data.shape}")
        if frames and data.shape[1:] != frames[0].shape[1:]:
            raise SimbenchError(f"{path}: frame size {data.shape[1:]} differs from {paths[0]}'s {frames[0].shape[1:]}")
        frames.append(data)
        pixel = px if i == 0 else pixel
    return np.concatenate(frames, axis=0), pixel


def write_image(path: str | Path, image: np.ndarray, pixel_size_nm: float, z_step_nm: float | None = None,
                description: dict[str, Any] | None = None) -> Path:
    """Write a 2D image or a (z or frames, y, x) stack as a float32 ImageJ TIFF with
    its pixel size (and z step) in µm."""
    import tifffile

    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.ndim not in (2, 3):
        raise ValueError(f"can write 2D or 3D images only; got shape {image.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata: dict[str, Any] = {"unit": "um", "axes": "YX" if image.ndim == 2 else ("ZYX" if z_step_nm else "TYX")}
    if z_step_nm:
        metadata["spacing"] = z_step_nm / 1e3
    if description:
        metadata["Info"] = "\n".join(f"{k}={v}" for k, v in description.items())
    per_um = 1e3 / pixel_size_nm
    tifffile.imwrite(path, image, imagej=True, resolution=(per_um, per_um), metadata=metadata)
    return path
