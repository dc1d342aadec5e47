"""Noise and object power spectra measured on one widefield image (for Wiener filters).

An image D = H·O + N (H the OTF, N white noise of the camera: Gaussian read noise
or shot noise) has the expected power spectrum E|D̂(f)|² = H(f)²·Φ_O(f) + Φ_N.
Beyond the OTF cut-off k_c only noise is left, so Φ_N is measured there; below it
Φ_O(f) = (|D̂|² − Φ_N)/H² is fitted, where the signal stands above the noise, with
the power law A·|f|^−α that natural scenes and cells follow (van der Schaaf &
van Hateren 1996: α ≈ 2).  The ratio Φ_N/Φ_O(f) is what the minimum-mean-square-
error (Wiener) filter adds to its denominator; the fit extrapolates it to the
extended support of SIM.  Units: |FFT|² of the image (numpy's unnormalised FFT),
frequencies in cycles/µm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from simbench.physics.fourier import edge_taper, radial_freq_per_um
from simbench.physics.optics import otf_profile
from simbench.physics.threads import thread_budget
from simbench.types import Optics

#: Noise is measured on frequencies above this multiple of the cut-off (the OTF is 0 beyond 1;
#: the margin keeps the taper's leakage of the signal out).
NOISE_BAND_START = 1.15
#: Fit range of the object power law, as fractions of the cut-off: from a few frequency pixels
#: above 0 (where the taper's leakage of the mean sits) to where the OTF is still ≥ 0.03.
FIT_BAND = (0.05, 0.85)
#: Radial bins of the fit; a bin enters it when its signal power exceeds the noise power
#: (SNR > 1), and the fit needs at least this many.
N_BINS = 40
MIN_FIT_BINS = 4
#: the fitted exponent is kept in this range (α = 0: white object; 6: far beyond any scene)
EXPONENT_RANGE = (0.0, 6.0)


@dataclass(frozen=True)
class PowerSpectra:
    """Φ_N (flat) and Φ_O(f) = amplitude·(|f|/1 cycle/µm)^−exponent of one image."""

    noise_power: float
    amplitude: float
    exponent: float

    def noise_to_object(self, freq_per_um: np.ndarray) -> np.ndarray:
        """Φ_N / Φ_O at |f| (cycles/µm), float32; 0 at f = 0, and everywhere for noise-free data."""
        if self.noise_power <= 0.0:
            return np.zeros(np.shape(freq_per_um), dtype=np.float32)
        ratio = np.abs(freq_per_um, dtype=np.float64) ** self.exponent * (self.noise_power / self.amplitude)
        return ratio.astype(np.float32)

    def to_dict(self) -> dict[str, float]:
        return {"noise_power": self.noise_power, "object_amplitude": self.amplitude,
                "object_exponent": self.exponent}


def estimate_power_spectra(image: np.ndarray, pixel_size_nm: float, optics: Optics) -> PowerSpectra:
    """Measure Φ_N and fit Φ_O on ``image`` (h, w), sampled at ``pixel_size_nm``.

    The image is mean-subtracted and faded to 0 at its edges (real images are not
    periodic); both spectra are then corrected for the taper's power loss.  Raises
    ``ValueError`` when the grid samples nothing beyond the cut-off (no noise band).
    """
    data = np.asarray(image, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"expected a 2D image; got shape {data.shape}")
    taper = edge_taper(data.shape)
    power = np.abs(sfft.rfft2((data - data.mean()) * taper, workers=thread_budget())) ** 2 / float(np.mean(taper ** 2))
    k = radial_freq_per_um(data.shape, pixel_size_nm, rfft=True) / optics.cutoff_per_um
    noise_band = power[k > NOISE_BAND_START]
    if noise_band.size < 16:
        raise ValueError(f"the image's pixels ({pixel_size_nm:g} nm) sample too little beyond the OTF cut-off "
                         f"({optics.cutoff_per_um:.3g} cycles/µm) to measure the noise")
    # |D̂|² of white noise is exponentially distributed: median = ln 2 · mean (robust to stray signal)
    noise = float(np.median(noise_band) / np.log(2.0))
    edges = np.linspace(*FIT_BAND, N_BINS + 1)
    which = np.digitize(k, edges) - 1
    inside = (which >= 0) & (which < N_BINS)
    counts = np.bincount(which[inside], minlength=N_BINS)
    sums = np.bincount(which[inside], weights=power[inside], minlength=N_BINS)
    centres = 0.5 * (edges[:-1] + edges[1:])
    signal = sums / np.maximum(counts, 1) - noise
    use = (counts > 0) & (signal > noise)
    if np.count_nonzero(use) < MIN_FIT_BINS:
        # no structure above the noise: a flat object spectrum at the noise level (strong regularisation)
        return PowerSpectra(noise_power=noise, amplitude=noise, exponent=0.0)
    log_f = np.log(centres[use] * optics.cutoff_per_um)
    log_object = np.log(signal[use] / otf_profile(centres[use]) ** 2)
    slope = np.polyfit(log_f, log_object, 1, w=np.sqrt(counts[use]))[0]
    exponent = float(np.clip(-slope, *EXPONENT_RANGE))
    # refit the amplitude at the clipped exponent (weighted mean of log A)
    amplitude = float(np.exp(np.average(log_object + exponent * log_f, weights=counts[use])))
    return PowerSpectra(noise_power=noise, amplitude=amplitude, exponent=exponent)
