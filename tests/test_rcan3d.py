"""RCAN3D (Boland et al.; SCIENCE.md §3): network, z chunking and stitching, weights, and training through
the shared loop on a tiny synthetic light-sheet suite.  Tiny configurations, a few steps."""
from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
import torch
from simbench_plugins.nets.blocks import count_parameters
from simbench_plugins.rcan3d import STEPS, Z_UPSAMPLE, RCAN3DMethod, chunk_plan

from simbench.errors import SimbenchError
from simbench.learn import checkpoint
from simbench.learn.data import TrainPool, canonical_order
from simbench.learn.train import TrainSettings
from simbench.suites.base import Suite
from simbench.types import MODALITY_LSSIM3D, HexPattern, Optics, RawStack, Sample

from conftest import fit_fixed_batch, train_straight_and_resumed

#: SCIENCE.md §3: ≈3.6 M parameters
PAPER_PARAMETERS = 3.6e6
#: 2 planes per chunk, so that the 5-plane stacks below have a trailing plane
TINY = {"chunk": 2, "steps": STEPS, "z_upsample": Z_UPSAMPLE, "features": 8, "groups": 1, "blocks": 1,
        "reduction": 1}
CPU = torch.device("cpu")


def _tiny(seed: int = 0, **changes):
    torch.manual_seed(seed)
    return RCAN3DMethod.build({**TINY, **changes})


class _Tiny(RCAN3DMethod):
    configs: ClassVar[dict] = {"tiny": TINY}
    tile, overlap = 16, 4


class _PlaneMeans(torch.nn.Module):
    """Stand-in network: output plane z_upsample·p + k is the mean of chunk plane p's frames (nearest ×2)."""

    chunk, steps, z_upsample = 2, STEPS, Z_UPSAMPLE

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        planes = x.view(b, self.chunk, self.steps, h, w).mean(dim=2).repeat_interleave(self.z_upsample, dim=1)
        return torch.nn.functional.interpolate(planes, scale_factor=2.0, mode="nearest")


def test_paper_configuration_matches_the_published_parameter_count():
    count = count_parameters(RCAN3DMethod.build(RCAN3DMethod.configs["paper"]))
    assert abs(count / PAPER_PARAMETERS - 1) <= 0.02, count


def test_network_collapses_the_chunk_depth_and_upsamples():
    model = _tiny()
    assert model.head.conv.kernel_size == (STEPS * TINY["chunk"], 3, 3)
    assert model(torch.rand(2, STEPS * TINY["chunk"], 16, 12)).shape == (2, Z_UPSAMPLE * TINY["chunk"], 32, 24)


@pytest.mark.parametrize("planes,chunk", [(40, 3), (39, 3), (5, 2), (4, 4), (7, 1), (1, 1), (11, 4)])
def test_chunk_plan_keeps_every_plane_exactly_once(planes, chunk):
    plan = chunk_plan(planes, chunk)
    kept = [start + k for start, keep in plan for k in range(keep, chunk)]
    assert kept == list(range(planes))
    assert all(0 <= start <= planes - chunk and 0 <= keep < chunk for start, keep in plan)
    if planes % chunk:  # the trailing chunk is flush with the last plane and overlaps the previous one
        assert plan[-1][0] == planes - chunk and plan[-1][1] > 0


def test_chunk_plan_refuses_a_stack_thinner_than_a_chunk():
    with pytest.raises(SimbenchError, match="2 planes cannot be cut into chunks of 3"):
        chunk_plan(2, 3)


@pytest.mark.parametrize("planes", [4, 5])
def test_stitched_planes_come_from_their_own_input_plane_and_are_clipped_at_zero(planes):
    # plane p holds the value p − 1 in every frame: output plane q must hold max(q // 3 − 1, 0)
    stack = np.repeat(np.arange(planes, dtype=np.float32) - 1, STEPS)[:, None, None] * np.ones((1, 20, 18), np.float32)
    out = _Tiny().infer(_PlaneMeans(), stack, CPU)
    assert out.shape == (Z_UPSAMPLE * planes, 40, 36) and out.dtype == np.float32
    expected = np.maximum(np.arange(Z_UPSAMPLE * planes) // Z_UPSAMPLE - 1, 0).astype(np.float32)
    np.testing.assert_allclose(out, expected[:, None, None] * np.ones_like(out), atol=1e-6)


def test_stacks_of_partial_planes_are_refused():
    with pytest.raises(SimbenchError, match="not whole planes of 7"):
        _Tiny().infer(_PlaneMeans(), np.zeros((20, 16, 16), np.float32), CPU)


def test_each_planes_steps_are_sorted_by_pattern():
    frames = np.arange(14, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    patterns = (3, 0, 1, 2, 4, 5, 6, 6, 5, 4, 3, 2, 1, 0)
    ordered = canonical_order(frames, patterns)[:, 0, 0]
    np.testing.assert_array_equal(ordered, [1, 2, 3, 0, 4, 5, 6, 13, 12, 11, 10, 9, 8, 7])
    with pytest.raises(SimbenchError, match="not one frame per pattern"):
        canonical_order(frames, (0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 5))


def test_loss_decreases_on_a_fixed_batch_with_the_papers_clipping():
    model = _tiny()
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(2, STEPS * TINY["chunk"], 16, 16, generator=generator)
    planes = x.view(2, TINY["chunk"], STEPS, 16, 16).mean(dim=2).repeat_interleave(Z_UPSAMPLE, dim=1)
    y = torch.nn.functional.interpolate(planes, scale_factor=2.0, mode="bilinear")
    losses = fit_fixed_batch(model, x, y, torch.nn.functional.mse_loss, RCAN3DMethod.recipe.clip_value)
    assert losses[-1] < 0.5 * losses[0], losses


def _weights(path, model, config=TINY, method="rcan3d"):
    sha = checkpoint.save_weights(path, model.state_dict(), {"method": method, "config_name": "tiny",
                                                             "config": config})
    checkpoint.write_card(checkpoint.card_path(path), {"sha256": sha})
    return path


def test_weights_round_trip_is_bit_identical(tmp_path):
    model = _tiny()
    path = _weights(tmp_path / "rcan3d.safetensors", model)
    loaded, info = _Tiny(weights=path, device="cpu").load()
    assert info["config"] == "tiny" and not info["shipped"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x = torch.rand(1, STEPS * TINY["chunk"], 16, 16)
    assert torch.equal(model.eval()(x), loaded(x))


def test_mismatched_weights_are_refused(tmp_path):
    wrong_chunk = _weights(tmp_path / "a.safetensors", _tiny(chunk=1))  # card says chunk 2
    with pytest.raises(SimbenchError, match="do not fit the architecture: wrong shape head.conv.weight"):
        RCAN3DMethod(weights=wrong_chunk).load()
    other_method = _weights(tmp_path / "b.safetensors", _tiny(), method="mlsim")
    with pytest.raises(SimbenchError, match="for method 'mlsim', not 'rcan3d'"):
        RCAN3DMethod(weights=other_method).load()


def _raw(rng: np.random.Generator, planes: int, side: int) -> RawStack:
    optics = Optics(na=1.1, wavelength_nm=525.0, refractive_index=1.33, pixel_size_nm=108.3)
    pattern = HexPattern(frequency_per_um=3.4, angle_rad=0.0, phase_offsets_rad=(0.0, 0.0), sheet_fwhm_nm=3000.0)
    return RawStack(frames=rng.random((STEPS * planes, side, side), dtype=np.float32), optics=optics,
                    pattern=pattern, frame_patterns=tuple(range(STEPS)) * planes, modality=MODALITY_LSSIM3D,
                    z_step_nm=350.0)


class _TinyStacks(Suite):
    """5 planes of 16²; the target is the per-plane mean on the 2× / 3× grid, with the planes of the last
    3 input planes empty: with chunks of 2 (starts 0, 2 and the trailing 3) only the first has signal."""

    name = "tiny-stacks"
    version = "1"
    modality = MODALITY_LSSIM3D
    sizes: ClassVar[dict[str, int]] = {"quick": 1}
    planes = 5

    def make_sample(self, index: int, size: str, seed: int) -> Sample:
        raise NotImplementedError

    def make_train_sample(self, index: int, seed: int) -> Sample:
        raw = _raw(np.random.default_rng([seed, index]), self.planes, 16)
        means = raw.frames.reshape(self.planes, STEPS, 16, 16).mean(axis=1)
        target = np.repeat(np.repeat(np.repeat(means, Z_UPSAMPLE, axis=0), 2, axis=1), 2, axis=2)
        target[-3 * Z_UPSAMPLE:] = 0.0
        return Sample(id=f"tiny-stacks-train-{index}", raw=raw, target=target, target_pixel_size_nm=54.15,
                      meta={"pool": "train"}, target_z_step_nm=350.0 / Z_UPSAMPLE)


def test_training_pool_cuts_chunks_and_drops_those_without_signal():
    pool = TrainPool(_TinyStacks(), lambda f: f, any_order=False, size=2, validation=0, seed=0,
                     examples=lambda x, y: _Tiny.training_examples(TINY, x, y),
                     min_mean=RCAN3DMethod.recipe.min_example_mean)
    assert len(pool.examples) == 2 and pool.discarded == 4
    x, y = pool.batch(0, 3, 8)
    assert x.shape == (3, STEPS * TINY["chunk"], 8, 8) and y.shape == (3, Z_UPSAMPLE * TINY["chunk"], 16, 16)


def test_train_resume_and_reconstruct_through_the_shared_loop(tmp_path, monkeypatch):
    """The plateau schedule and clipping of the recipe run in the shared loop; an interrupted and resumed
    run equals an uninterrupted one bit for bit; the weights reconstruct a stack onto the 3× / 2× grid."""
    suite = _TinyStacks()
    settings = TrainSettings(config="tiny", steps=3, batch=2, crop=8, pool=1, validation=1, validate_every=1,
                             checkpoint_every=1, device="cpu", command="test")
    straight = train_straight_and_resumed(_Tiny, suite, settings, tmp_path, monkeypatch)
    card = json.loads(checkpoint.card_path(straight).read_text())
    training = card["training"]
    assert (training["loss"], training["schedule"], training["clip_value"]) == ("mse", "plateau", 0.1)
    assert training["train_examples"] == 1 and training["discarded_low_signal"] == 2
    assert [v["step"] for v in card["validation"]] == [1, 2, 3] and card["validation"][-1]["loss"] > 0
    monkeypatch.setenv("SIMBENCH_WEIGHTS_RCAN3D", str(straight))
    raw = _raw(np.random.default_rng(9), 5, 24)
    first, second = _Tiny().reconstruct(raw), _Tiny().reconstruct(raw)
    assert first.image.shape == (Z_UPSAMPLE * 5, 48, 48) and first.image.min() >= 0
    np.testing.assert_array_equal(first.image, second.image)
