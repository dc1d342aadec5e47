"""A folder of the user's raw acquisitions: one sidecar JSON per dataset, validated.

Each ``NAME.json`` in the folder describes one raw 2D SIM acquisition (its frames, optics and
frame order); the dataset is called ``NAME``.  Example (paths relative to the sidecar)::

    {"frames": ["1_X1.tif", "1_X2.tif", ...] or "stack.tif",
     "na": 1.49, "emission_wavelength_nm": 515, "pixel_size_nm": 86.7,
     "refractive_index": 1.515, "frame_order": "angle-major", "kind": "beads"}

``pixel_size_nm`` may be left out when the TIFF is calibrated; ``refractive_index`` defaults to
1.515 (oil), ``frame_order`` to angle-major, ``modality`` to 2D SIM (3 angles × 3 phases of
stripes; ``sim2d-hex-7step``: one hexagonal plane, 7 phase steps in order);
``kind: beads`` asks for the bead FWHM ratio; ``pattern_frequency_per_um`` (stripe frequency,
cycles/µm) replaces the estimate from the data; ``description``, ``source`` and ``licence`` are
recorded as they are.  Any other key, a missing file or a wrong type is refused with a message
naming the sidecar and the key.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simbench.errors import SimbenchError
from simbench.harness.names import check_name
from simbench.types import MODALITY_HEX2D, MODALITY_SIM2D, Optics

#: refractive index of the immersion medium when the sidecar gives none (oil)
DEFAULT_REFRACTIVE_INDEX = 1.515
#: modalities the real-data track reads: 2-beam stripes (9 frames) and one hexagonal plane (7 frames)
REAL_MODALITIES = (MODALITY_SIM2D, MODALITY_HEX2D)
#: sample kinds with extra metrics (``kind``); anything else is scored with the common ones
KINDS = ("beads", "other")
_NUMBERS = ("na", "emission_wavelength_nm", "pixel_size_nm", "refractive_index", "pattern_frequency_per_um")
_TEXTS = ("frame_order", "modality", "kind", "description", "source", "licence")
_KEYS = ("frames", *_NUMBERS, *_TEXTS)


@dataclass(frozen=True)
class Sidecar:
    """One dataset as its sidecar describes it (paths resolved, values checked)."""

    name: str
    path: Path
    frames: tuple[Path, ...]
    na: float
    emission_wavelength_nm: float
    pixel_size_nm: float | None
    refractive_index: float
    frame_order: str
    modality: str
    kind: str
    pattern_frequency_per_um: float | None
    #: description, source, licence: recorded in the results as given
    notes: dict[str, str]

    def optics(self, calibrated_nm: float | None) -> Optics:
        """The optics, the pixel size from the sidecar or else from the TIFF's calibration (nm)."""
        pixel = self.pixel_size_nm if self.pixel_size_nm is not None else calibrated_nm
        if pixel is None:
            raise SimbenchError(f"{self.path}: the TIFF has no pixel-size calibration: add \"pixel_size_nm\" "
                                "(the camera pixel at the sample, nm)")
        try:
            return Optics(self.na, self.emission_wavelength_nm, self.refractive_index, pixel)
        except ValueError as exc:
            raise SimbenchError(f"{self.path}: invalid optics: {exc}") from None


def _fail(path: Path, text: str) -> SimbenchError:
    return SimbenchError(f"{path}: {text}")


def _number(path: Path, data: dict[str, Any], key: str, required: bool) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(path, f"missing \"{key}\" (a positive number)")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise _fail(path, f"\"{key}\" must be a positive number; got {value!r}")
    return float(value)


def _choice(path: Path, data: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise _fail(path, f"\"{key}\" must be one of {', '.join(choices)}; got {value!r}")
    return value


def _frame_files(path: Path, value: Any) -> tuple[Path, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise _fail(path, "\"frames\" must be a TIFF file name or a list of them (one per frame), relative to "
                          "the sidecar")
    files = tuple((path.parent / n) for n in names)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise _fail(path, f"frame file(s) not found: {', '.join(missing[:3])}")
    return files


def read_sidecar(path: Path) -> Sidecar:
    """Parse and check one sidecar (:class:`SimbenchError` naming the file and key on any problem)."""
    from simbench.physics import FRAME_ORDERS

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(path, f"not a readable JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "must hold a JSON object")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    if "frames" not in data:
        raise _fail(path, "missing \"frames\" (the raw TIFF, or one TIFF per frame in acquisition order)")
    for key in ("description", "source", "licence"):
        if key in data and not isinstance(data[key], str):
            raise _fail(path, f"\"{key}\" must be text")
    name = path.stem
    try:
        check_name("dataset", name)
    except SimbenchError as exc:
        raise _fail(path, f"the file name gives the dataset's name: {exc}") from None
    return Sidecar(
        name=name, path=path, frames=_frame_files(path, data["frames"]),
        na=_number(path, data, "na", True), emission_wavelength_nm=_number(path, data, "emission_wavelength_nm", True),
        pixel_size_nm=_number(path, data, "pixel_size_nm", False),
        refractive_index=_number(path, data, "refractive_index", False) or DEFAULT_REFRACTIVE_INDEX,
        frame_order=_choice(path, data, "frame_order", FRAME_ORDERS, "angle-major"),
        modality=_choice(path, data, "modality", REAL_MODALITIES, MODALITY_SIM2D),
        kind=_choice(path, data, "kind", KINDS, "other"),
        pattern_frequency_per_um=_number(path, data, "pattern_frequency_per_um", False),
        notes={k: data[k] for k in ("description", "source", "licence") if k in data})


def find_sidecars(folder: Path) -> list[Sidecar]:
    """Every dataset of ``folder`` (its ``*.json`` sidecars, by name), each checked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SimbenchError(f"real-data folder {folder} not found (give --suite-opt data_dir=DIR: a folder of raw "
                            "TIFFs with one sidecar JSON per dataset)")
    sidecars = [read_sidecar(p) for p in sorted(folder.glob("*.json"))]
    if not sidecars:
        raise SimbenchError(f"{folder} holds no sidecar (*.json): describe each acquisition in one, e.g. "
                            "{\"frames\": \"raw.tif\", \"na\": 1.49, \"emission_wavelength_nm\": 515, "
                            "\"pixel_size_nm\": 86.7}")
    return sidecars
