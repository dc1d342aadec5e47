"""Which sample and crop a report shows (simbench.harness.views), on synthetic images."""
from __future__ import annotations

import numpy as np

from simbench.harness.views import band_pass, best_window, choose_view, structure

PIXEL_NM = 31.3
#: the default acquisition's SIM band, cycles/µm (half the widefield cut-off to the SIM cut-off)
BAND = (2.29, 8.5)
SIDE = 64


def _filaments(shape: tuple[int, int], rng: np.random.Generator, n: int = 12) -> np.ndarray:
    """Thin random lines (one pixel wide) on a dark background: sparse fine structure."""
    image = np.zeros(shape)
    for _ in range(n):
        y0, x0 = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        angle = rng.uniform(0, np.pi)
        t = np.arange(-shape[0], shape[0], 0.5)
        ys, xs = np.round(y0 + t * np.sin(angle)).astype(int), np.round(x0 + t * np.cos(angle)).astype(int)
        inside = (ys >= 0) & (ys < shape[0]) & (xs >= 0) & (xs < shape[1])
        image[ys[inside], xs[inside]] = 1.0
    return image


def _gravel(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Noise-like texture with the same kind of band energy: Gaussian noise, band-passed."""
    return 0.5 + band_pass(rng.normal(size=shape), PIXEL_NM, BAND)


def test_the_window_with_fine_structure_is_chosen_over_a_flat_one():
    rng = np.random.default_rng(0)
    image = np.full((256, 256), 0.3)
    image[128:192, 160:224] += _filaments((64, 64), rng)  # fine structure in one place only
    image[0:64, 0:64] = 0.9  # a bright but flat block: no energy in the band
    y, x = best_window(image, PIXEL_NM, BAND, SIDE)
    assert abs(y - 128) <= SIDE // 8 and abs(x - 160) <= SIDE // 8
    assert best_window(image, PIXEL_NM, BAND, SIDE) == (y, x)  # deterministic
    assert best_window(image[:48, :48], PIXEL_NM, BAND, SIDE) == (0, 0)  # smaller than the window: all of it


def test_structure_prefers_sparse_filaments_to_gravel_and_is_zero_when_flat():
    rng = np.random.default_rng(1)
    filaments, gravel = _filaments((256, 256), rng), _gravel((256, 256), rng)
    assert structure(filaments, PIXEL_NM, BAND) > 2 * structure(gravel, PIXEL_NM, BAND)
    assert structure(np.full((64, 64), 0.5), PIXEL_NM, BAND) == 0.0
    ramp = np.tile(np.linspace(0, 1, 256), (256, 1))  # structure far below the band only
    assert structure(ramp, PIXEL_NM, BAND) < 0.01 * structure(filaments, PIXEL_NM, BAND)


def test_choose_view_takes_the_structured_sample_and_the_first_of_equals():
    rng = np.random.default_rng(2)
    scenes = [_gravel((256, 256), rng), np.full((256, 256), 0.5), 0.2 + _filaments((256, 256), rng)]
    asked = []

    def target(index: int) -> tuple[np.ndarray, float, tuple[float, float]]:
        asked.append(index)
        return scenes[index], PIXEL_NM, BAND

    view = choose_view(target, range(3), SIDE)
    assert view.index == 2 and view.plane == () and view.side == SIDE and view.band_per_um == BAND
    assert view == choose_view(target, range(3), SIDE)  # deterministic
    assert asked == [0, 1, 2] * 2
    assert view.crop(scenes[2]).shape == (SIDE, SIDE)
    assert "of the first 3 samples" in view.describe("s-0002", 3) and "asked for" in view.describe("s-0002", 1)
    twins = [scenes[2], scenes[2]]
    assert choose_view(lambda i: (twins[i], PIXEL_NM, BAND), range(2), SIDE).index == 0


def test_a_volume_is_viewed_in_its_brightest_plane():
    rng = np.random.default_rng(3)
    volume = np.zeros((3, 128, 128))
    volume[1] = 0.2 + _filaments((128, 128), rng)
    view = choose_view(lambda i: (volume, PIXEL_NM, BAND), [0], SIDE)
    assert view.plane == (1,)
    np.testing.assert_array_equal(view.crop(volume), volume[1, view.y:view.y + SIDE, view.x:view.x + SIDE])


def test_a_report_generates_each_candidate_once_and_skips_the_choice_for_real_data():
    from types import SimpleNamespace

    from simbench.harness.report import choose_sample
    from simbench.physics import default_optics

    rng = np.random.default_rng(4)
    raw = SimpleNamespace(optics=default_optics(), pattern=SimpleNamespace(frequency_per_um=3.93))
    scenes = [np.full((256, 256), 0.5), 0.2 + _filaments((256, 256), rng), _gravel((256, 256), rng)]
    made = []

    def make_sample(index: int, size: str, seed: int) -> SimpleNamespace:
        made.append(index)
        return SimpleNamespace(id=f"s{index}", target=scenes[index], target_pixel_size_nm=PIXEL_NM, raw=raw)

    suite = SimpleNamespace(make_sample=make_sample, default_seed=0)
    sample, view = choose_sample(suite, "quick", range(3))
    assert sample.id == "s1" and view.index == 1 and made == [0, 1, 2, 1]
    scenes[0] = None  # a real acquisition: no target
    made.clear()
    sample, view = choose_sample(suite, "quick", range(3))
    assert sample.id == "s0" and view is None and made == [0]
