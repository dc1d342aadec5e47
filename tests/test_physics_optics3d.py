"""3D scalar-pupil PSF and OTF against closed-form theory (SCIENCE.md §4)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simbench.physics import otf_profile
from simbench.physics.optics3d import defocus_otf, intensity_psf
from simbench.types import Optics

WIDEFIELD = Optics(na=1.1, wavelength_nm=525.0, refractive_index=1.33, pixel_size_nm=108.33)
#: the confocal target: λ/√2 and the PSF squared (SCIENCE.md §4)
CONFOCAL = Optics(na=1.1, wavelength_nm=525.0 / math.sqrt(2), refractive_index=1.33, pixel_size_nm=54.17)


def _fwhm(x: np.ndarray, y: np.ndarray) -> float:
    above = np.flatnonzero(y >= 0.5 * y.max())
    return float(x[above[-1]] - x[above[0]])


def _on_axis_theory(z_um: np.ndarray, optics: Optics) -> np.ndarray:
    """|h(0, z)|² in closed form: with u = √((n/λ)² − ρ²), ρ dρ = −u du, so
    h(0, z) ∝ ∫_{u₀}^{n/λ} u·e^{2πizu} du (u₀ = √(n² − NA²)/λ), integrated by parts."""
    lam = optics.wavelength_nm * 1e-3
    a, b = math.sqrt(optics.refractive_index ** 2 - optics.na ** 2) / lam, optics.refractive_index / lam
    c = 2j * np.pi * z_um

    def primitive(u: float) -> np.ndarray:
        return np.exp(c * u) * (u / c - 1 / c ** 2)

    with np.errstate(invalid="ignore", divide="ignore"):
        h = primitive(b) - primitive(a)
    h = np.where(z_um == 0, (b * b - a * a) / 2, h)
    return np.abs(h) ** 2 / ((b * b - a * a) / 2) ** 2


def test_widefield_psf_matches_airy_and_closed_form_axial_profile():
    r = np.linspace(0, 0.6, 6001)
    z = np.linspace(-2, 2, 8001)
    lateral = _fwhm(np.concatenate([-r[:0:-1], r]), np.concatenate([intensity_psf(r[:0:-1], [0.0], WIDEFIELD)[0],
                                                                     intensity_psf(r, [0.0], WIDEFIELD)[0]]))
    axial_profile = intensity_psf([0.0], z, WIDEFIELD)[:, 0]
    np.testing.assert_allclose(axial_profile, _on_axis_theory(z, WIDEFIELD), atol=1e-9)
    # Airy disc: FWHM 0.5145·λ/NA = 245.6 nm; axial from the closed form: 810 nm
    assert lateral * 1e3 == pytest.approx(0.5145 * 525 / 1.1, rel=2e-3)
    assert lateral * 1e3 == pytest.approx(246, rel=0.05)
    assert _fwhm(z, axial_profile) * 1e3 == pytest.approx(811, rel=0.05)


def test_confocal_psf_is_half_the_widefield_width():
    r = np.linspace(-0.3, 0.3, 6001)
    z = np.linspace(-1, 1, 8001)
    lateral = _fwhm(r, intensity_psf(np.abs(r), [0.0], CONFOCAL, power=2)[0])
    axial_profile = intensity_psf([0.0], z, CONFOCAL, power=2)[:, 0]
    np.testing.assert_allclose(axial_profile, _on_axis_theory(z, CONFOCAL) ** 2, atol=1e-9)
    assert lateral * 1e3 == pytest.approx(125, rel=0.05)
    assert _fwhm(z, axial_profile) * 1e3 == pytest.approx(412, rel=0.05)


def test_in_focus_otf_is_the_analytic_otf_and_every_plane_keeps_its_energy():
    k = np.linspace(0, 5, 101)
    z = np.array([0.0, 0.5, 2.0, 6.4])
    otf = defocus_otf(k, z, WIDEFIELD)
    np.testing.assert_allclose(otf[0], otf_profile(k / WIDEFIELD.cutoff_per_um), atol=3e-3)
    np.testing.assert_allclose(otf[:, 0], 1.0, atol=1e-3)  # Parseval: ∫ |h|² d²r is the same at every z
    assert np.all(np.abs(otf[1:, 50:]) < np.abs(otf[0, 50:]) + 3e-3)  # defocus loses high frequencies
