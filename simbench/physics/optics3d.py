"""3D scalar-pupil optics: defocused PSF and its transfer functions (SCIENCE.md §4).

The amplitude PSF of a uniform pupil of radius NA/λ (transverse spatial frequency
ρ in cycles/µm) propagated to defocus z (SCIENCE.md §4):

    h(r, z) = ∫₀^{NA/λ} 2πρ·J₀(2πρr)·exp(2πi·z·√((n/λ)² − ρ²)) dρ,

evaluated by Gauss–Legendre quadrature over ρ.  Everything is radially
symmetric, so 2D Fourier transforms are Hankel transforms
``F(k) = 2π ∫ f(r)·J₀(2πkr)·r dr`` on a fine radial grid (no lateral grid, no
lateral wrap-around).  The intensity PSF is ``|h|^(2·power)``: power 1 for
widefield detection, power 2 for the squared (confocal) PSF of the targets.

Units: r and z in µm, spatial frequencies in cycles/µm, wavelengths in nm.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from simbench.types import Optics

#: Gauss–Legendre nodes over the pupil radius: exact for the ≤ 60 oscillations
#: (defocus phase plus J₀ over r ≤ 25 µm) of the integrands met here.
_PUPIL_NODES = 384
#: Radial sample spacing (µm) of the Hankel transforms, as a fraction of the
#: Nyquist spacing 1/(2·support) of the intensity PSF |h|^(2·power).
_RADIAL_OVERSAMPLING = 4.0
#: Lateral margin (µm) beyond the geometric blur radius |z|·tan θ over which an
#: intensity PSF is integrated: the in-focus OTF then matches the analytic one
#: (:func:`simbench.physics.otf_profile`) within 2e-3 (the Airy tails left out).
_RADIAL_MARGIN_UM = 16.0


def pupil_radius_per_um(optics: Optics) -> float:
    """Pupil radius NA/λ (cycles/µm) of the amplitude PSF."""
    return optics.na / (optics.wavelength_nm * 1e-3)


def axial_cutoff_per_um(optics: Optics, power: int = 1) -> float:
    """Axial support of the 3D OTF of |h|^(2·power): power·(n − √(n² − NA²))/λ (cycles/µm)."""
    n, na = optics.refractive_index, optics.na
    return power * (n - math.sqrt(n * n - na * na)) / (optics.wavelength_nm * 1e-3)


def lateral_cutoff_per_um(optics: Optics, power: int = 1) -> float:
    """Lateral support of the OTF of |h|^(2·power): 2·power·NA/λ (cycles/µm)."""
    return 2.0 * power * pupil_radius_per_um(optics)


@lru_cache(maxsize=8)
def _pupil_quadrature(optics: Optics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes ρ (cycles/µm), weights·2πρ and axial frequencies √((n/λ)² − ρ²)."""
    x, w = np.polynomial.legendre.leggauss(_PUPIL_NODES)
    a = pupil_radius_per_um(optics)
    rho = 0.5 * a * (x + 1.0)
    weights = 0.5 * a * w * 2.0 * np.pi * rho
    kz = np.sqrt((optics.refractive_index / (optics.wavelength_nm * 1e-3)) ** 2 - rho ** 2)
    return rho, weights, kz


def amplitude_psf(r_um: np.ndarray, z_um: np.ndarray, optics: Optics) -> np.ndarray:
    """Amplitude PSF h(r, z) (complex128, shape (len z, len r)) of the uniform pupil,
    normalised to an in-focus peak of 1 (h(0, 0) = π(NA/λ)² before normalisation)."""
    rho, weights, kz = _pupil_quadrature(optics)
    r_um, z_um = np.atleast_1d(r_um).astype(np.float64), np.atleast_1d(z_um).astype(np.float64)
    bessel = special.j0(2.0 * np.pi * np.outer(rho, r_um))  # (nodes, r)
    defocus = np.exp(2j * np.pi * np.outer(z_um, kz)) * weights  # (z, nodes)
    return (defocus @ bessel) / (np.pi * pupil_radius_per_um(optics) ** 2)


def intensity_psf(r_um: np.ndarray, z_um: np.ndarray, optics: Optics, power: int = 1) -> np.ndarray:
    """|h(r, z)|^(2·power) (float64, (len z, len r)), in-focus peak 1."""
    return np.abs(amplitude_psf(r_um, z_um, optics)) ** (2 * power)


def defocus_otf(k_per_um: np.ndarray, z_um: np.ndarray, optics: Optics, power: int = 1) -> np.ndarray:
    """2D transfer function of the intensity PSF at each defocus: the Hankel transform
    of |h(·, z)|^(2·power) at radial frequencies ``k_per_um`` (float64, (len z, len k)).

    Normalised by the in-focus plane's integral: for power 1 the integral of every
    plane is the same (the pupil's energy, Parseval), so the result is the
    per-plane OTF with value 1 at k = 0 (within 1e-3: the Airy tails beyond the
    radial integration range).  For power 2 planes away from focus hold less.
    """
    z_um = np.atleast_1d(z_um).astype(np.float64)
    k_per_um = np.atleast_1d(k_per_um).astype(np.float64)
    dr = 1.0 / (2.0 * lateral_cutoff_per_um(optics, power) * _RADIAL_OVERSAMPLING)
    tan_theta = optics.na / math.sqrt(optics.refractive_index ** 2 - optics.na ** 2)
    r_max = float(np.max(np.abs(z_um), initial=0.0)) * tan_theta + _RADIAL_MARGIN_UM
    r = np.arange(math.ceil(r_max / dr) + 1) * dr
    planes = intensity_psf(r, np.append(z_um, 0.0), optics, power)  # last row: in focus
    # trapezoid rule for ∫ g(r) dr, g = 2πr·f(r)·J₀(2πkr), g(0) = 0, with the Euler–Maclaurin
    # end correction −dr²/12·(g'(R) − g'(0)), g'(0) = 2π·f(0): O(dr⁴) accurate
    hankel = (planes * (2.0 * np.pi * r * dr)) @ special.j0(2.0 * np.pi * np.outer(r, k_per_um))
    hankel += (np.pi * dr * dr / 6.0) * planes[:, :1]
    return hankel[:-1] / hankel[-1, 0]


def gaussian_sheet(z_um: np.ndarray, fwhm_nm: float) -> np.ndarray:
    """Light-sheet intensity profile exp(−z²/2σ²), σ = FWHM/2.355, peak 1 (SCIENCE.md §4)."""
    sigma_um = fwhm_nm * 1e-3 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return np.exp(-0.5 * (np.asarray(z_um, dtype=np.float64) / sigma_um) ** 2)


def otf3d(k_per_um: np.ndarray, kz_per_um: np.ndarray, z_um: np.ndarray, z_weights: np.ndarray,
          optics: Optics, power: int = 1) -> np.ndarray:
    """3D transfer function (complex128, (len kz, len k)) of a z-sampled intensity PSF:
    ``Σ_i w_i·H(k; z_i)·exp(−2πi kz z_i)`` with H from :func:`defocus_otf`.

    ``z_um`` (µm) and ``z_weights`` (e.g. light-sheet profile × dz in µm) define
    the axial sampling: with planes closer than 1/(2·(axial support + kz)) this
    is the Riemann sum of the continuous axial Fourier integral; with the planes
    of a stack it is the stack's discrete-time (aliased) transfer function.  The
    PSF is even in z (scalar, aberration-free), so the result is real.
    """
    planes = defocus_otf(k_per_um, z_um, optics, power) * np.asarray(z_weights, dtype=np.float64)[:, None]
    phases = np.exp(-2j * np.pi * np.outer(np.atleast_1d(kz_per_um), np.asarray(z_um, dtype=np.float64)))
    return phases @ planes
