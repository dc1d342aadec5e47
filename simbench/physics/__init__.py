"""2D optics and SIM image formation (SCIENCE.md §1, §6)."""
from simbench.physics.estimation import (
    CarrierEstimate,
    StripeEstimate,
    estimate_carriers,
    estimate_stripes,
    frames_by_pattern,
    separation_matrix,
)
from simbench.physics.forward import simulate_sim2d, simulate_widefield, widefield_adjoint
from simbench.physics.fourier import (
    crop_rfft2,
    edge_taper,
    fft_freqs_per_um,
    freq_grid_per_um,
    pad_rfft2,
    radial_freq_per_um,
)
from simbench.physics.noise import NoiseModel
from simbench.physics.optics import (
    airy_fwhm_nm,
    otf2d,
    otf_profile,
    psf2d,
    sample_sim_support_per_um,
    sim_limit_nm,
    sim_support_per_um,
)
from simbench.physics.patterns import (
    FRAME_ORDERS,
    default_optics,
    frame_patterns,
    illumination,
    jitter_pattern,
    nominal_pattern,
)

__all__ = [
    "FRAME_ORDERS", "NoiseModel", "airy_fwhm_nm", "crop_rfft2", "default_optics", "edge_taper", "fft_freqs_per_um",
    "frame_patterns", "freq_grid_per_um", "illumination", "jitter_pattern", "nominal_pattern", "otf2d", "otf_profile",
    "pad_rfft2", "psf2d", "radial_freq_per_um", "sample_sim_support_per_um", "sim_limit_nm", "sim_support_per_um",
    "simulate_sim2d", "simulate_widefield", "widefield_adjoint",
]
# noise and object power spectra (spectra.py)
from simbench.physics.spectra import PowerSpectra, estimate_power_spectra

__all__ += ["PowerSpectra", "estimate_power_spectra"]
# the threads one task may use (threads.py)
from simbench.physics.threads import thread_budget, threaded_map

__all__ += ["thread_budget", "threaded_map"]
# pattern-parameter estimation (estimation.py)
__all__ += ["CarrierEstimate", "StripeEstimate", "estimate_carriers", "estimate_stripes", "frames_by_pattern",
            "separation_matrix"]
# 3D hexagonal light-sheet SIM and its confocal target (lightsheet.py, optics3d.py)
from simbench.physics.lightsheet import (
    LightSheetParams,
    StackOperator,
    hex_components,
    interpolate_radial,
    nominal_hex_pattern,
    shot_noise,
    simulate_confocal_target,
    simulate_lightsheet,
    stack_otf_table,
)

__all__ += ["LightSheetParams", "StackOperator", "hex_components", "interpolate_radial", "nominal_hex_pattern",
            "shot_noise",
            "simulate_confocal_target", "simulate_lightsheet", "stack_otf_table"]
