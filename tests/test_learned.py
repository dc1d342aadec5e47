"""Learned methods (vsrsim, rbpn, mlsim) and their shared machinery (simbench.learn), on tiny
configurations and a few steps: training itself never runs here."""
from __future__ import annotations

import dataclasses
import json
from typing import ClassVar

import numpy as np
import pytest
import torch
from simbench_plugins.mlsim import MLSIM
from simbench_plugins.nets.blocks import count_parameters
from simbench_plugins.rbpn import RBPN
from simbench_plugins.rcan3d import RCAN3DMethod
from simbench_plugins.vsrsim import VSRSIM

from simbench.errors import SimbenchError
from simbench.learn import checkpoint
from simbench.learn.data import VALIDATION_OFFSET, SuiteMix, TrainPool, make_item, network_frames
from simbench.learn.tiling import tiled_inference
from simbench.learn.train import TrainSettings, train

from conftest import fit_fixed_batch, run_cli, train_straight_and_resumed

#: parameter counts of the published networks (SCIENCE.md §3)
PAPER_PARAMETERS = {VSRSIM: 13.9e6, RBPN: 2.36e6, MLSIM: 4.84e6}
TINY = {
    VSRSIM: {"frames": 9, "dim": 8, "groups": 1, "depth": 2, "heads": 2, "window": [2, 4, 4], "mlp_ratio": 2.0,
             "patch": [3, 4, 4], "features": 4, "ca_blocks": 1, "reduction": 2},
    RBPN: {"base": 4, "features": 4, "stages": 2, "resblocks": 1},
    MLSIM: {"frames": 9, "features": 8, "groups": 1, "blocks": 1, "reduction": 2},
}
CHANNELS = {VSRSIM: 9, RBPN: 25, MLSIM: 9}
METHODS = list(TINY)


def _tiny(cls, seed=0):
    torch.manual_seed(seed)
    return cls.build(TINY[cls])


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.name)
def test_paper_configuration_matches_the_published_parameter_count(cls):
    count = count_parameters(cls.build(cls.configs["paper"]))
    assert abs(count / PAPER_PARAMETERS[cls] - 1) <= 0.02, count


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.name)
def test_shape_contract(cls):
    x = torch.rand(2, CHANNELS[cls], 32, 24)
    assert _tiny(cls)(x).shape == (2, 1, 64, 48)


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.name)
def test_loss_decreases_on_a_fixed_batch(cls):
    model = _tiny(cls)
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(2, CHANNELS[cls], 16, 16, generator=generator)
    y = torch.nn.functional.interpolate(x[:, :1], scale_factor=2.0, mode="bilinear")
    losses = fit_fixed_batch(model, x, y, torch.nn.functional.l1_loss)
    assert losses[-1] < 0.7 * losses[0], losses


def test_vsrsim_shifted_windows_keep_wrapped_tokens_apart():
    from simbench_plugins.nets.vsrsim import _shift_mask

    mask = _shift_mask((4, 8, 8), (2, 4, 4), (1, 2, 2))
    assert mask.shape == (2 * 2 * 2, 32, 32)
    assert (mask[0] == 0).all()            # the first window holds one region only
    assert (mask[-1] < 0).any()            # the last one mixes wrapped regions


def test_vsrsim_configs_without_the_newer_fields_build_the_earlier_network():
    """Weights stored before ``activation`` and ``unembed`` existed (the shipped small checkpoint) build a
    network without LeakyReLUs whose tokens paint their own patch; the fields add LeakyReLUs (two in the
    head, two per group) and a lateral kernel twice the patch, with the same output shape."""
    def leaky(model: torch.nn.Module) -> int:
        return sum(isinstance(m, torch.nn.LeakyReLU) for m in model.modules())

    earlier = _tiny(VSRSIM)
    assert leaky(earlier) == 0 and earlier.to_frames.unembed.kernel_size == (3, 4, 4)
    newer = VSRSIM.build({**TINY[VSRSIM], "activation": True, "unembed": "overlapping"})
    assert leaky(newer) == 2 + 2 * TINY[VSRSIM]["groups"] and newer.to_frames.unembed.kernel_size == (3, 8, 8)
    assert newer(torch.rand(1, 9, 32, 24)).shape == (1, 1, 64, 48)
    assert VSRSIM.configs["small"]["unembed"] == "overlapping" and VSRSIM.configs["paper"]["activation"]
    with pytest.raises(ValueError, match="unknown unembedding"):
        VSRSIM.build({**TINY[VSRSIM], "unembed": "pixelshuffle"})
    with pytest.raises(ValueError, match="even lateral patch size"):
        VSRSIM.build({**TINY[VSRSIM], "unembed": "overlapping", "patch": [3, 3, 3]})


def test_the_bilinear_head_paints_no_checkerboard():
    """A ×2 head fed a constant: the pixel shuffle's four sub-pixel kernels paint a 2×2 pattern (unless
    training makes them agree); the bilinear resize-convolution gives every output pixel the same
    kernels, so the output is constant away from the zero-padded borders."""
    from simbench_plugins.nets.blocks import Upsampler2x

    torch.manual_seed(0)
    flat = torch.ones(1, 8, 16, 16)
    for mode, checkerboard in (("pixel-shuffle", True), ("bilinear", False)):
        with torch.no_grad():
            out = Upsampler2x(8, 1, torch.nn.LeakyReLU(0.2), mode=mode)(flat)[0, 0, 4:-4, 4:-4]
        assert (float(out.max() - out.min()) > 1e-3) == checkerboard, (mode, out.max(), out.min())
    with pytest.raises(ValueError, match="unknown upsampling"):
        Upsampler2x(8, 1, mode="nearest")
    assert VSRSIM.configs["small"]["upsampling"] == "bilinear" and "upsampling" not in VSRSIM.configs["paper"]


def test_rbpn_input_is_frames_then_eight_flows():
    frames = np.random.default_rng(0).random((9, 24, 24), dtype=np.float32)
    inputs = RBPN().prepare(frames)
    assert inputs.shape == (25, 24, 24) and inputs.dtype == np.float32
    np.testing.assert_array_equal(inputs[:9], frames)


def test_save_load_round_trip_is_bit_identical(tmp_path):
    model = _tiny(MLSIM)
    path = tmp_path / "w.safetensors"
    checkpoint.save_weights(path, model.state_dict(), {"method": "mlsim", "config": TINY[MLSIM]})
    state, meta = checkpoint.read_weights(path)
    again = _tiny(MLSIM, seed=5)
    checkpoint.load_into(again, state, path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert meta["method"] == "mlsim" and meta["config"] == TINY[MLSIM]
    x = torch.rand(1, 9, 16, 16)
    assert torch.equal(model(x), again(x))


def _weights_with_card(tmp_path, cls=MLSIM):
    path = tmp_path / f"{cls.name}.safetensors"
    sha = checkpoint.save_weights(path, _tiny(cls).state_dict(), {"method": cls.name, "config_name": "tiny",
                                                                 "config": TINY[cls]})
    checkpoint.write_card(checkpoint.card_path(path), {"sha256": sha})
    return path


def test_corrupted_weights_are_refused(tmp_path):
    path = _weights_with_card(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SimbenchError, match="does not match its model card"):
        MLSIM(weights=path).load()
    checkpoint.card_path(path).unlink()
    path.write_bytes(b"not a safetensors file at all")
    with pytest.raises(SimbenchError, match="not a readable safetensors"):
        MLSIM(weights=path).load()


def test_mismatched_weights_are_refused(tmp_path):
    path = _weights_with_card(tmp_path, RBPN)
    with pytest.raises(SimbenchError, match="for method 'rbpn', not 'mlsim'"):
        MLSIM(weights=path).load()
    state = _tiny(MLSIM).state_dict()
    state["head.weight"] = torch.zeros(3, 3)
    other = tmp_path / "other.safetensors"
    checkpoint.save_weights(other, state, {"method": "mlsim", "config": TINY[MLSIM]})
    with pytest.raises(SimbenchError, match="do not fit the architecture: wrong shape head.weight"):
        MLSIM(weights=other).load()


def test_weights_come_from_the_environment(tmp_path, monkeypatch):
    path = _weights_with_card(tmp_path)
    monkeypatch.setenv("SIMBENCH_WEIGHTS_MLSIM", str(path))
    _, info = MLSIM().load()
    assert info["file"] == path.name and not info["shipped"] and info["config"] == "tiny"


class _TinyTrainable(MLSIM):
    configs: ClassVar[dict] = {"tiny": TINY[MLSIM]}
    tile, overlap = 32, 8


def test_training_pool_is_the_train_pool_and_disjoint_from_the_test_samples(registry):
    suite = registry.suite("static")
    pool = TrainPool(suite, lambda f: f, any_order=False, size=2, validation=1, seed=0)
    train_ids = {it.sample_id for it in pool.items + pool.validation}
    assert all(i.startswith("static-train-") for i in train_ids)
    train_samples = [suite.make_train_sample(i, 0) for i in range(2)]
    test_samples = [suite.make_sample(i, "quick", 0) for i in range(2)]
    assert {s.meta["pool"] for s in train_samples} == {"train"}
    image_sources = {s.meta["source"] for s in train_samples if s.meta["kind"] == "image"}
    assert image_sources.isdisjoint({s.meta["source"] for s in test_samples if s.meta["kind"] == "image"})
    for a, b in zip(train_samples, test_samples):
        assert not np.array_equal(a.target, b.target)
    with pytest.raises(SimbenchError, match="not from the train pool"):
        make_item(test_samples[0], lambda f: f, any_order=False, roll=None)


class _Pool:
    """A stand-in train-pool suite: its 'samples' name the suite and index they came from."""

    version, default_seed, requires_any_pattern_order, modality = "3", 0, False, "m"

    def __init__(self, name: str) -> None:
        self.name = name

    def make_train_sample(self, index: int, seed: int) -> tuple[str, int, int]:
        return self.name, index, seed


def test_a_suite_group_trains_on_its_members_train_pools_in_turn(registry):
    untrainable = registry.suite("axial/twopoint")  # a test-only sub-suite is left out
    mix = SuiteMix("g", [_Pool("g/a"), untrainable, _Pool("g/b")])
    assert [mix.make_train_sample(i, 5) for i in range(4)] == [("g/a", 0, 5), ("g/b", 0, 5), ("g/a", 1, 5),
                                                                 ("g/b", 1, 5)]
    # validation indices stay far above any training index, in each member
    assert mix.make_train_sample(VALIDATION_OFFSET + 1, 0) == ("g/b", VALIDATION_OFFSET // 2, 0)
    assert mix.members == ["g/a@3", "g/b@3"] and mix.version == "3+3" and not mix.sizes
    with pytest.raises(SimbenchError, match="no suite of 'axial' has a train pool"):
        SuiteMix("axial", [untrainable])
    # the real group: chromatin and sphere clouds, a modality 2D methods refuse
    assert [s.name for s in SuiteMix("axial", registry.suite_group("axial")).suites] == ["axial/chromatin",
                                                                                         "axial/spheres"]
    refused = run_cli("train", "--method", "mlsim", "--suite", "axial", "--steps", "1", "--out", "unused")
    assert refused.returncode == 2 and "suite 'axial' holds lssim3d" in refused.stderr


def test_a_streaming_pool_replaces_its_oldest_samples_and_any_stage_can_be_rebuilt(registry):
    """Stage s holds train-pool indices s·stream … s·stream + size − 1; samples shared between stages are
    kept, not regenerated; a pool built directly at a stage (a resumed run) holds the same data."""
    suite = registry.suite("static")
    pool = TrainPool(suite, lambda f: f, any_order=False, size=2, validation=1, seed=0, stream=1)
    assert [it.sample_id for it in pool.items] == ["static-train-000000", "static-train-000001"]
    kept = pool.items[1]
    pool.refresh(1)
    assert [it.sample_id for it in pool.items] == ["static-train-000001", "static-train-000002"]
    assert pool.items[0] is kept and len(pool.examples) == 2
    assert [it.sample_id for it in pool.validation] == [f"static-train-{VALIDATION_OFFSET:06d}"]
    resumed = TrainPool(suite, lambda f: f, any_order=False, size=2, validation=1, seed=0, stream=1, stage=1)
    assert resumed.sha256 == pool.sha256
    np.testing.assert_array_equal(resumed.batch(7, 2, 16)[0], pool.batch(7, 2, 16)[0])
    with pytest.raises(SimbenchError, match="validation samples begin"):
        pool.refresh(VALIDATION_OFFSET)


def test_motion_trains_on_static_medium_and_fast_whose_scenes_no_test_split_holds(registry):
    """``--suite motion`` mixes the train pools of static, medium and fast (extreme only when named);
    their training and validation scenes come from the train sources and streams, which no test split
    (motion, rolling, frame-delay: all draw natural images from the test sources) uses."""
    from simbench.learn.data import training_suite
    from simbench.phantoms.images import pool_sources

    mix = training_suite(registry, "motion")
    assert [s.name for s in mix.suites] == ["motion/static", "motion/medium", "motion/fast"]
    assert [s.name for s in training_suite(registry, "motion,motion/extreme").suites][-1] == "motion/extreme"
    assert training_suite(registry, "static") is registry.suite("static")
    train_sources = set(pool_sources("train", (1, 1)))
    assert train_sources.isdisjoint(pool_sources("test", (1, 1)))
    for index in (0, 1, 2, VALIDATION_OFFSET, VALIDATION_OFFSET + 1, VALIDATION_OFFSET + 2):
        sample = mix.make_train_sample(index, 0)
        member = mix.suites[index % 3]
        assert sample.meta["pool"] == "train" and sample.meta["source"] in train_sources | {"render_cell_scene"}
        test = member.make_sample(0, "quick", 0)
        assert test.meta["source"] not in train_sources and not np.array_equal(sample.target, test.target)


def test_fixed_order_methods_train_on_moving_scenes_with_pattern_start_0(registry):
    """``--suite motion --suite-opt pattern_start=0``: every regime with the fixed cycle, so a method
    that needs it (mlsim, rbpn) trains on motion; an option no member has is refused by name."""
    from simbench.errors import SimbenchError
    from simbench.learn.data import TrainPool, training_suite

    mix = training_suite(registry, "motion", {"pattern_start": "0"})
    assert not mix.requires_any_pattern_order
    assert [s.option_values.get("pattern_start") for s in mix.suites] == [None, 0, 0]  # static: a fixed cycle
    assert mix.make_train_sample(4, 0).raw.frame_patterns == tuple(range(9))  # a medium scene, fixed cycle
    with pytest.raises(SimbenchError, match="patterns in varying order"):
        TrainPool(training_suite(registry, "motion"), lambda f: f, False, 1, 0, 0)
    with pytest.raises(SimbenchError, match="no suite of 'motion' has the option 'bogus'"):
        training_suite(registry, "motion", {"bogus": "1"})


def test_order_agnostic_methods_see_still_scenes_with_a_cyclic_start(registry):
    sample = registry.suite("static").make_train_sample(1, 0)
    item = make_item(sample, lambda f: f, any_order=True, roll=3)
    canonical = network_frames(sample.raw.frames, sample.raw.frame_patterns, any_order=False)
    np.testing.assert_allclose(item.inputs, np.roll(canonical, 3, axis=0), atol=1e-6)


def test_train_resume_and_use_the_weights(registry, tmp_path, monkeypatch):
    """A run interrupted (Ctrl-C) after two steps and resumed equals an uninterrupted one bit for bit, also
    from a streaming pool (the resumed run starts at the pool's second stage); the learning curve lies
    beside the state; the weights reconstruct through SIMBENCH_WEIGHTS_<METHOD>, deterministically."""
    suite = registry.suite("static")
    settings = TrainSettings(config="tiny", steps=3, batch=2, crop=16, pool=1, validation=1, validate_every=1,
                             checkpoint_every=5, stream=1, stream_every=2, device="cpu", command="test")
    straight = train_straight_and_resumed(_TinyTrainable, suite, settings, tmp_path, monkeypatch)
    card = json.loads(checkpoint.card_path(straight).read_text())
    assert card["sha256"] == checkpoint.sha256_file(straight)
    assert card["training"]["steps"] == 3 and card["validation"][-1]["step"] == 3
    assert card["suite"]["name"] == "static" and card["suite"]["train_samples"] == ["static-train-000001"]
    assert card["suite"]["train_samples_drawn"] == 2
    curve = (straight.parent / "learning-curve.csv").read_text().splitlines()
    assert curve[0].startswith("step,loss,psnr,ssim,widefield_psnr") and len(curve) == 4
    assert (straight.parent / "learning-curve.png").stat().st_size > 1000
    monkeypatch.setenv("SIMBENCH_WEIGHTS_MLSIM", str(straight))
    raw = suite.make_sample(0, "quick", 0).raw
    raw = dataclasses.replace(raw, frames=raw.frames[:, :48, :40])
    first = _TinyTrainable().reconstruct(raw)
    second = _TinyTrainable().reconstruct(raw)
    assert first.image.shape == (96, 80)
    np.testing.assert_array_equal(first.image, second.image)
    assert first.info["weights"]["sha256"] == card["sha256"]


def test_a_resumed_run_keeps_the_architecture_it_started_with(registry, tmp_path, monkeypatch):
    """The training state records the architecture; a named configuration changed since (e.g. a new head)
    does not break the run: it continues with what it started with, says so, and the card records it."""
    suite = registry.suite("static")
    settings = TrainSettings(config="tiny", steps=2, batch=2, crop=16, pool=1, validation=1, validate_every=2,
                             checkpoint_every=5, device="cpu", command="test")
    train(_TinyTrainable, suite, settings, tmp_path, progress=False, log=lambda s: None)
    started = dict(_TinyTrainable.configs["tiny"])
    monkeypatch.setitem(_TinyTrainable.configs, "tiny", {**started, "features": 2 * started["features"]})
    lines: list[str] = []
    weights = train(_TinyTrainable, suite, dataclasses.replace(settings, steps=3), tmp_path, resume=True,
                    progress=False, log=lines.append)
    card = json.loads(checkpoint.card_path(weights).read_text())
    assert card["config"] == started and card["training"]["steps"] == 3
    assert any("continues with the architecture it started with" in line for line in lines)


def _coordinate_pool() -> TrainPool:
    """A pool of one example whose pixels hold their own raw coordinates: input (2, 40, 40) = 1000·i + j,
    target (3, 80, 80) at pixel (a, b) = the raw coordinates of (a/2, b/2) (grid convention 2j ↔ j)."""
    i, j = np.mgrid[0:40, 0:40].astype(np.float32)
    a, b = np.mgrid[0:80, 0:80].astype(np.float32) / 2
    pool = TrainPool.__new__(TrainPool)
    pool.seed, pool.examples = 0, [(np.stack([1000 * i + j] * 2), np.stack([1000 * a + b] * 3))]
    return pool


def test_transposed_crops_keep_the_grid_convention_and_plain_batches_are_unchanged():
    """--transpose swaps x and y of about half the crop pairs, input and target alike, so that raw pixel
    j still sits on target pixel 2j; without it no crop is transposed (earlier runs' batches)."""
    pool = _coordinate_pool()
    swapped = []
    for step in range(8):
        x, y = pool.batch(step, 4, 8, transpose=True)
        np.testing.assert_array_equal(y[:, :1, ::2, ::2], x[:, :1])  # target pixel (2i, 2j) on raw (i, j)
        swapped += [bool(crop[0, 1, 0] - crop[0, 0, 0] == 1) for crop in x]  # x runs down the rows
        plain, _ = pool.batch(step, 4, 8)
        assert all(crop[0, 0, 1] - crop[0, 0, 0] == 1 for crop in plain)
    assert 8 <= sum(swapped) <= 24  # of 32 crops


def test_learning_rate_override_is_used_recorded_and_pinned_on_resume(registry, tmp_path):
    """--learning-rate replaces the recipe's initial rate: other weights after one step, the model
    card records it, and a resumed run with another rate is refused."""
    suite = registry.suite("static")
    base = TrainSettings(config="tiny", steps=1, batch=2, crop=16, pool=1, validation=1, validate_every=1,
                         checkpoint_every=1, device="cpu", command="test")
    runs = {lr: train(_TinyTrainable, suite, dataclasses.replace(base, learning_rate=lr), tmp_path / str(lr),
                      progress=False, log=lambda line: None) for lr in (None, 1e-2)}
    cards = {lr: json.loads(checkpoint.card_path(path).read_text()) for lr, path in runs.items()}
    assert cards[None]["training"]["learning_rate"] == _TinyTrainable.recipe.learning_rate
    assert cards[1e-2]["training"]["learning_rate"] == 1e-2
    assert cards[None]["sha256"] != cards[1e-2]["sha256"]
    with pytest.raises(SimbenchError, match="differing settings: learning_rate"):
        train(_TinyTrainable, suite, dataclasses.replace(base, steps=2, learning_rate=5e-3), tmp_path / "0.01",
              resume=True, progress=False, log=lambda line: None)
    with pytest.raises(SimbenchError, match="must be positive"):
        train(_TinyTrainable, suite, dataclasses.replace(base, learning_rate=0.0), tmp_path / "zero",
              progress=False, log=lambda line: None)


def test_artifacts_name_the_weights_a_run_uses(tmp_path, monkeypatch):
    """Results record the sha256 of the weights in use: the shipped file's, or SIMBENCH_WEIGHTS_<METHOD>'s."""
    shipped = MLSIM().shipped_weights()
    assert MLSIM.artifacts() == {"weights_sha256": checkpoint.sha256_file(shipped)}
    other = tmp_path / "other.safetensors"
    other.write_bytes(b"not the shipped weights")
    monkeypatch.setenv("SIMBENCH_WEIGHTS_MLSIM", str(other))
    assert MLSIM.artifacts() == {"weights_sha256": checkpoint.sha256_file(other)}
    monkeypatch.setenv("SIMBENCH_WEIGHTS_MLSIM", str(tmp_path / "missing.safetensors"))
    assert MLSIM.artifacts() == {}


def test_tiles_blend_to_the_untiled_result_for_a_local_network():
    torch.manual_seed(0)
    local = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 3, padding=1), torch.nn.PixelShuffle(2))
    x = np.random.default_rng(0).random((3, 70, 53), dtype=np.float32)
    whole = local(torch.from_numpy(x)[None])[0, 0].detach().numpy()
    tiled = tiled_inference(local, x, 2, tile=24, overlap=12, batch=3, device=torch.device("cpu"))[0]
    assert tiled.shape == (140, 106)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tiles_approach_the_untiled_result_for_a_network_with_global_attention():
    model = _tiny(MLSIM)
    x = np.random.default_rng(1).random((9, 64, 64), dtype=np.float32)
    whole = model(torch.from_numpy(x)[None])[0, 0].detach().numpy()
    tiled = tiled_inference(model, x, 2, tile=48, overlap=16, batch=4, device=torch.device("cpu"))[0]
    interior = (slice(16, -16), slice(16, -16))
    error = np.abs(tiled - whole)[interior].max() / np.ptp(whole[interior])
    assert error < 0.05, error


def test_train_cli_teaches_and_refuses_classical_methods(tmp_path):
    helped = run_cli("train", "--help")
    assert helped.returncode == 0 and "SIMBENCH_WEIGHTS_" in helped.stdout and "--resume" in helped.stdout
    refused = run_cli("train", "--method", "wiener", "--suite", "static", "--out", str(tmp_path))
    assert refused.returncode == 2 and "not a learned method" in refused.stderr


@pytest.mark.parametrize("cls", [*METHODS, RCAN3DMethod], ids=lambda c: c.name)
def test_shipped_weights_match_their_model_card(cls):
    method = cls()
    path = method.shipped_weights()
    if not path.exists():
        pytest.skip(f"no shipped weights for {cls.name} yet")
    _, info = method.load()
    card = json.loads(checkpoint.card_path(path).read_text())
    assert info["sha256"] == card["sha256"] and info["shipped"]
