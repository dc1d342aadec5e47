"""The method contract, checked in seconds on tiny synthetic data (for plugin authors).

``simbench mock-run --method M`` and the pytest fixture ``simbench_contract``
(:mod:`simbench.pytest_plugin`) run :func:`check_method`: the class declares
what it accepts, can be created, and on a small 2D SIM stack returns a finite,
real-valued, non-constant image on the target grid, the same image twice for the
same input, without touching its input; a method that declares
``accepts_any_pattern_order`` also gets a stack whose pattern cycle starts
elsewhere.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from simbench.method import Method
from simbench.types import MODALITY_SIM2D, RawStack, Sample

#: raw frame size of mock data: big enough for pattern estimation, small enough for seconds
MOCK_RAW_SHAPE = (128, 128)
#: modalities simbench can make mock data for
MOCKED_MODALITIES = (MODALITY_SIM2D,)


@dataclass(frozen=True)
class Check:
    """One contract check: ``status`` is pass, fail or skip."""

    name: str
    status: str
    detail: str = ""

    def describe(self) -> str:
        return f"{self.status.upper():<4}  {self.name}" + (f": {self.detail}" if self.detail else "")


def mock_sample(shape: tuple[int, int] = MOCK_RAW_SHAPE, seed: int = 0, first_pattern: int = 0) -> Sample:
    """A small synthetic 2D SIM sample: a rendered cell scene, jittered stripes, 5 % Gaussian noise.
    Frame t shows pattern (t + ``first_pattern``) mod 9."""
    from simbench.phantoms.cells import render_cell_scene
    from simbench.physics import NoiseModel, default_optics, jitter_pattern, nominal_pattern, simulate_sim2d

    optics = default_optics()
    target_px = optics.pixel_size_nm / 2
    rng = np.random.default_rng(seed)
    target = render_cell_scene((2 * shape[0], 2 * shape[1]), rng, pixel_size_nm=target_px)
    nominal = nominal_pattern(optics)
    true = jitter_pattern(nominal, rng)
    order = tuple((t + first_pattern) % nominal.n_patterns for t in range(nominal.n_patterns))
    clean = simulate_sim2d(target, target_px, optics, true, order)
    frames, _ = NoiseModel(gaussian_rel=(0.05, 0.05)).apply(clean, rng)
    raw = RawStack(frames=frames, optics=optics, pattern=nominal, frame_patterns=order)
    return Sample(id=f"mock-{seed:04d}", raw=raw, target=target, target_pixel_size_nm=target_px,
                  truth={"pattern": true.to_dict()})


def _output_check(method: Method, raw: RawStack, shape: tuple[int, ...], label: str) -> tuple[Check, np.ndarray | None]:
    from simbench.harness.evaluation import as_image

    frames = raw.frames.copy()
    start = time.perf_counter()
    try:
        output = method.reconstruct(raw)
        seconds = time.perf_counter() - start
        image = as_image(output, shape)[0]
    except Exception as exc:  # noqa: BLE001 - plugin code: report, don't crash
        return Check(label, "fail", f"{type(exc).__name__}: {exc}"), None
    if not np.array_equal(frames, raw.frames):
        return Check(label, "fail", "reconstruct() modified its input frames in place"), None
    if float(image.max() - image.min()) == 0.0:
        return Check(label, "fail", f"returned a constant image ({float(image.flat[0]):g})"), None
    dtype = output.image.dtype if hasattr(output, "image") else output.dtype
    return Check(label, "pass", f"{shape} {dtype}, finite, input untouched, {seconds:.2f} s"), image


def check_method(cls: type[Method], seed: int = 0) -> list[Check]:
    """Run the contract checks on ``cls``; stops early when a check leaves nothing to test."""
    declared = getattr(cls, "modalities", None)
    if not (isinstance(declared, tuple) and declared and all(isinstance(m, str) for m in declared)):
        return [Check("declares modalities", "fail", f"modalities must be a non-empty tuple of strings; got {declared!r}")]
    checks = [Check("declares modalities", "pass", ", ".join(declared))]
    unmocked = [m for m in declared if m not in MOCKED_MODALITIES]
    if unmocked:
        checks.append(Check("mock data", "skip", f"none for {', '.join(unmocked)} (simbench mocks "
                            f"{', '.join(MOCKED_MODALITIES)}); run a quick suite of that modality instead"))
    if len(unmocked) == len(declared):
        return checks
    try:
        method = cls()
    except Exception as exc:  # noqa: BLE001 - plugin code
        return checks + [Check("creates", "fail", f"{cls.__name__}() raised {type(exc).__name__}: {exc}")]
    sample = mock_sample(seed=seed)
    shape = sample.target.shape
    first, image = _output_check(method, sample.raw, shape, "reconstructs mock 2D SIM data")
    checks.append(first)
    if image is None:
        return checks
    again = _output_check(method, sample.raw, shape, "deterministic")[1]
    if again is None or not np.array_equal(image, again):
        scale = float(np.abs(image).max()) or 1.0
        detail = ("second call failed" if again is None else
                  f"two calls on the same input differ by up to {float(np.abs(image - again).max()) / scale:.2e} "
                  "(relative to the image's maximum); seed any randomness")
        checks.append(Check("deterministic", "fail", detail))
    else:
        checks.append(Check("deterministic", "pass", "identical output for identical input"))
    if cls.accepts_any_pattern_order:
        shifted = mock_sample(seed=seed, first_pattern=4)
        checks.append(_output_check(method, shifted.raw, shape, "any pattern order (cycle starting at pattern 4)")[0])
    else:
        checks.append(Check("any pattern order", "skip", "accepts_any_pattern_order is False: rolling suites skip it"))
    return checks


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == "fail"]
