"""Degenerate methods, written as a third party would write them, to try to game the scores.

Each wraps an honest installed method (its *parent*, found as simbench finds it: through the
``simbench`` entry point of that name) and turns its output into something that is not a better
reconstruction.  ``tests/test_adversarial.py`` installs this module as a plugin distribution
and checks that none of them outranks its parent on any primary metric of a suite.

Imports only ``simbench`` (its public API), numpy and the standard library.
"""
from __future__ import annotations

import hashlib
from importlib.metadata import entry_points
from typing import ClassVar

import numpy as np

import simbench

#: every degenerate method of this module and the method it is derived from, per modality
PARENTS: dict[str, dict[str, str]] = {}


def installed(name: str) -> type[simbench.Method]:
    """The installed method ``name``, loaded through its entry point and ``simbench_methods`` hook."""
    (point,) = entry_points(group="simbench", name=name)
    return next(cls for cls in point.load().simbench_methods() if cls.name == name)


#: the last parent output, keyed by (parent, digest of the raw frames): the degenerate methods
#: of one sample share it instead of each rerunning the parent (a 3D widefield stack takes seconds)
_LAST: dict[tuple[str, str], np.ndarray] = {}


def digest(raw: simbench.RawStack) -> str:
    return hashlib.sha256(np.ascontiguousarray(raw.frames).tobytes()).hexdigest()


def parent_output(name: str, raw: simbench.RawStack) -> np.ndarray:
    """The output of the installed method ``name`` for ``raw`` (float64; the last one is kept)."""
    key = (name, digest(raw))
    if key not in _LAST:
        output = installed(name)().reconstruct(raw)
        image = output.image if isinstance(output, simbench.Reconstruction) else output
        _LAST.clear()
        _LAST[key] = np.asarray(image, dtype=np.float64)
    return _LAST[key]


class _Derived(simbench.Method):
    """Runs its parent (per modality, :attr:`parents`) and degrades the output (:meth:`degrade`)."""

    modalities = (simbench.MODALITY_SIM2D, simbench.MODALITY_LSSIM3D)
    accepts_any_pattern_order = True
    parents: ClassVar[dict[str, str]] = {simbench.MODALITY_SIM2D: "widefield", simbench.MODALITY_LSSIM3D: "widefield"}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        PARENTS[cls.name] = dict(cls.parents)

    def reconstruct(self, raw: simbench.RawStack) -> np.ndarray:
        return self.degrade(parent_output(self.parents[raw.modality], raw), raw).astype(np.float32)

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        raise NotImplementedError


class Texture(_Derived):
    """The honest output plus a fixed, data-independent texture of 1 % of its standard deviation:
    the same in every reconstruction, so two repeats correlate up to Nyquist."""

    name = "adv-texture"
    parents = {simbench.MODALITY_SIM2D: "wiener", simbench.MODALITY_LSSIM3D: "widefield"}

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        texture = np.random.default_rng(12345).standard_normal(image.shape)
        return image + 0.01 * image.std() * texture


class Cube(_Derived):
    """The widefield image cubed pixel by pixel: narrower blobs, not more resolution."""

    name = "adv-cube"

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        return np.clip(image, 0, None) ** 3


class Threshold(_Derived):
    """The widefield image where it exceeds its mean, zero elsewhere."""

    name = "adv-threshold"

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        return np.where(image > image.mean(), image, 0.0)


class Offset(_Derived):
    """The widefield image minus a constant (80 % of its maximum): every profile's dip deepens."""

    name = "adv-offset"

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        return image - 0.8 * image.max()


class Constant(_Derived):
    """A constant image at the widefield image's mean."""

    name = "adv-constant"

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        return np.full_like(image, image.mean())


def relative_noise(raw: simbench.RawStack) -> float:
    """Noise of the raw stack's mean frame relative to its standard deviation, from its power beyond
    1.1× the optics' cut-off 2 NA/λ (where only noise is): an input-only difficulty estimate."""
    mean = raw.frames.mean(axis=0, dtype=np.float64)
    power = np.abs(np.fft.rfft2(mean - mean.mean())) ** 2
    pixel_um = raw.optics.pixel_size_nm / 1e3
    k = np.hypot(np.fft.fftfreq(mean.shape[0], pixel_um)[:, None], np.fft.rfftfreq(mean.shape[1], pixel_um)[None, :])
    beyond = k > 1.1 * 2 * raw.optics.na / (raw.optics.wavelength_nm / 1e3)
    return float(np.sqrt(power[beyond].mean() / mean.size) / mean.std())


class Refuser(_Derived):
    """Its parent, except that it raises on the noisiest inputs (:func:`relative_noise` above
    :attr:`max_noise`): the two noisiest of the six static quick samples (0.029 and 0.035; the
    others 0.016-0.026), among them the one with wiener's worst PSNR.  On the samples it keeps
    it is its parent exactly."""

    name = "adv-refuser"
    parents = {simbench.MODALITY_SIM2D: "wiener", simbench.MODALITY_LSSIM3D: "widefield"}
    max_noise = 0.027

    def reconstruct(self, raw: simbench.RawStack) -> np.ndarray:
        if relative_noise(raw) > self.max_noise:
            raise ValueError("this input looks hard; no reconstruction")
        return super().reconstruct(raw)

    def degrade(self, image: np.ndarray, raw: simbench.RawStack) -> np.ndarray:
        return image


def _unregularised() -> type[simbench.Method]:
    """Wiener SIM without its regulariser or apodisation: an inverse filter that fits the noise."""
    wiener = installed("wiener")

    class NoiseFit(wiener):  # type: ignore[misc, valid-type]
        name = "adv-noisefit"
        description = "wiener with w = 1e-6, no spectral regulariser, no apodisation"
        wiener_constant = 1e-6
        regularisation_scale = 0.0
        apodisation_exponent = 0.0

    PARENTS[NoiseFit.name] = {simbench.MODALITY_SIM2D: "wiener"}
    return NoiseFit


@simbench.hookimpl
def simbench_methods() -> list[type[simbench.Method]]:
    return [Texture, Cube, Threshold, Offset, Constant, Refuser, _unregularised()]
