"""The training loop shared by every learned method.

One run trains ``method`` (a :class:`~simbench.learn.method.LearnedMethod`) in
one configuration on random crops of a suite's train pool (see
:mod:`simbench.learn.data`), with the method's recipe (loss, Adam, multistep
learning-rate decay or ReduceLROnPlateau on the validation loss, optional
gradient clipping), seeded so that the same settings give the same weights
on the same machine.  It scores a few held-out train-pool samples every
``validate_every`` steps (the recipe's loss, and PSNR/SSIM in the normalised
convention, through the method's own inference as at run time), saves its
state (scheduler included) every ``checkpoint_every`` steps and on Ctrl-C
(``--resume`` continues from it; batches depend only on (seed, step), so a
resumed run draws what an uninterrupted one would, also from a streaming pool),
keeps the validation scores against steps as ``learning-curve.csv`` and
``learning-curve.png`` beside its state, and finally writes
``<method>-<config>.safetensors``, its model card (``.json``) and ``train.log``
in ``out``.
"""
from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simbench.errors import SimbenchError
from simbench.learn import checkpoint
from simbench.learn.data import SCALE, TrainPool
from simbench.learn.method import LearnedMethod, TrainingRecipe
from simbench.learn.tiling import resolve_device
from simbench.suites.base import Suite

STATE_FILE = "training-state.safetensors"
LOG_FILE = "train.log"
#: settings a resumed run must share with the saved state
RESUME_KEYS = ("config", "batch", "crop", "seed", "pool", "validation", "learning_rate", "transpose", "stream",
               "stream_every")
#: validation scores against steps (CSV) and their plot, beside the training state
CURVE_CSV = "learning-curve.csv"
CURVE_PNG = "learning-curve.png"
#: the curve's first columns, in this order (a resumed run's history comes back with sorted keys)
CURVE_COLUMNS = ("step", "loss", "psnr", "ssim", "widefield_psnr", "elapsed_s")


@dataclass(frozen=True)
class TrainSettings:
    """What a training run does; all of it is recorded in the model card."""

    config: str = "small"
    steps: int = 1000
    batch: int = 4
    #: raw crop side in pixels; the target crop is 2× (SCIENCE.md §3: 128² → 256²)
    crop: int = 128
    seed: int = 0
    #: train-pool samples held in memory (crops are drawn from them)
    pool: int = 32
    #: held-out train-pool samples scored every ``validate_every`` steps
    validation: int = 2
    #: fresh train-pool samples that replace the oldest held ones every ``stream_every`` steps; 0: a fixed pool
    stream: int = 0
    stream_every: int = 100
    validate_every: int = 100
    checkpoint_every: int = 50
    device: str = "auto"
    #: Adam's initial learning rate; None: the recipe's (the paper's).  Short CPU runs of the
    #: small configurations may want a larger one than a paper's 100 000-step schedule.
    learning_rate: float | None = None
    #: swap x and y of half the crop pairs (:meth:`TrainPool.batch`); off: the batches of earlier runs
    transpose: bool = False
    #: the exact command line, for the model card
    command: str = ""


def _loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    losses = {"l1": torch.nn.functional.l1_loss, "mse": torch.nn.functional.mse_loss}
    if name not in losses:
        raise SimbenchError(f"unknown loss {name!r}; known: {', '.join(losses)}")
    return losses[name]


def _recipe(method_cls: type[LearnedMethod], settings: TrainSettings) -> TrainingRecipe:
    """The method's recipe with the run's learning-rate override, if any."""
    if settings.learning_rate is None:
        return method_cls.recipe
    if not settings.learning_rate > 0:
        raise SimbenchError(f"--learning-rate must be positive; got {settings.learning_rate}")
    return replace(method_cls.recipe, learning_rate=settings.learning_rate)


def validate(model: torch.nn.Module, method: LearnedMethod, pool: TrainPool, device: torch.device) -> dict[str, float]:
    """Mean recipe loss (normalised units), PSNR/SSIM (normalised convention) of the model, and widefield
    PSNR, on the validation samples."""
    from simbench.metrics.base import MetricConfig
    from simbench.metrics.fidelity import psnr, ssim
    from simbench.resample import upsample_bicubic

    config = MetricConfig()
    loss_fn = _loss(method.recipe.loss)
    scores: dict[str, list[float]] = {"loss": [], "psnr": [], "ssim": [], "widefield_psnr": []}
    for item in pool.validation:
        pred = method.infer(model, item.inputs, device)
        scores["loss"].append(loss_fn(torch.from_numpy(pred), torch.from_numpy(item.target)).item())
        scores["psnr"].append(psnr(pred, item.target, config))
        scores["ssim"].append(ssim(pred, item.target, config))
        z_factor = item.target.shape[0] // item.widefield.shape[0] if item.target.ndim == 3 else 1
        widefield = upsample_bicubic(item.widefield, SCALE, z_factor=z_factor)
        scores["widefield_psnr"].append(psnr(widefield, item.target, config))
    model.train()
    return {key: float(f"{np.mean(values):.6g}") if key == "loss" else round(float(np.mean(values)), 4)
            for key, values in scores.items()}


def write_curve(out: Path, history: list[dict[str, Any]], title: str) -> None:
    """Validation scores against steps as ``out/learning-curve.csv`` and a plot of PSNR (the model's and
    widefield's on the same samples) as ``out/learning-curve.png``."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    columns = list(dict.fromkeys([*CURVE_COLUMNS, *(key for row in history for key in row)]))
    with open(out / CURVE_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(history)
    steps = [row["step"] for row in history]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(steps, [row["psnr"] for row in history], "o-", label="model")
    axes.plot(steps, [row["widefield_psnr"] for row in history], "x--", color="grey", label="widefield")
    axes.set(xlabel="training step", ylabel="validation PSNR (dB)", title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / CURVE_PNG, dpi=100, metadata={"Software": None})
    plt.close(figure)


def train(method_cls: type[LearnedMethod], suite: Suite, settings: TrainSettings, out: Path, resume: bool = False,
          progress: bool = True, log: Callable[[str], None] = print) -> Path:
    """Train and write the weights, model card and log into ``out``; returns the weights path."""
    from tqdm import tqdm

    if settings.config not in method_cls.configs:
        raise SimbenchError(f"method {method_cls.name!r} has no config {settings.config!r}; "
                            f"configs: {', '.join(method_cls.configs)}")
    if settings.steps < 1 or settings.batch < 1:
        raise SimbenchError("--steps and --batch must be at least 1")
    wrong = {s.modality for s in getattr(suite, "suites", [suite])} - set(method_cls.modalities)
    if wrong:
        raise SimbenchError(f"method {method_cls.name!r} takes {', '.join(method_cls.modalities)} data; suite "
                            f"{suite.name!r} holds {', '.join(sorted(wrong))}")
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    if state_path.exists() and not resume:
        raise SimbenchError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")

    def append(line: str) -> None:
        with open(out / LOG_FILE, "a") as handle:
            handle.write(line + "\n")

    def note(text: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        append(line)
        log(line)

    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    method = method_cls()
    config = method_cls.configs[settings.config]
    if resume and state_path.exists():
        started = checkpoint.read_weights(state_path)[1].get("architecture")
        if started is not None and json.dumps(started, sort_keys=True) != json.dumps(config, sort_keys=True):
            note(f"configuration {settings.config!r} of {method_cls.name} has changed since this run started; "
                 "it continues with the architecture it started with")
            config = started
    model = method_cls.build(config).to(device).train()
    recipe = _recipe(method_cls, settings)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
    plateau = None if recipe.schedule != "plateau" else torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=recipe.plateau_factor, patience=recipe.plateau_patience, min_lr=recipe.min_learning_rate)
    step, elapsed, history = 0, 0.0, []
    if resume and state_path.exists():
        meta = checkpoint.load_training_state(state_path, model, optimizer)
        if plateau is not None:
            plateau.load_state_dict(meta["scheduler"])
        saved = meta["settings"]
        # a key that an older state lacks had its default then
        differ = [k for k in RESUME_KEYS if saved.get(k, getattr(TrainSettings, k)) != getattr(settings, k)]
        if meta["method"] != method_cls.name or meta["suite"] != suite.name or differ:
            raise SimbenchError(f"{state_path} was saved by another run (method {meta['method']!r}, suite "
                                f"{meta['suite']!r}, differing settings: {', '.join(differ) or 'none'})")
        step, elapsed, history = meta["step"], meta["elapsed_s"], meta["validation"]
        note(f"resuming {method_cls.name}/{settings.config} at step {step}")
    elif resume:
        note(f"--resume: no saved state in {out}; starting afresh")
    note(f"{settings.command or 'train'}: {method_cls.name}/{settings.config} on {suite.name} v{suite.version}, "
         f"device {device}, {sum(p.numel() for p in model.parameters())} parameters")
    if settings.stream_every < 1:
        raise SimbenchError(f"--stream-every must be at least 1; got {settings.stream_every}")

    def stage(at: int) -> int:
        """The pool stage of step ``at`` (always 0 for a fixed pool)."""
        return at // settings.stream_every if settings.stream else 0

    pool = TrainPool(suite, method.prepare, method_cls.accepts_any_pattern_order, settings.pool,
                     settings.validation, settings.seed,
                     examples=lambda inputs, target: method_cls.training_examples(config, inputs, target),
                     min_mean=recipe.min_example_mean, stream=settings.stream, stage=stage(step))
    note(f"train pool: {len(pool.items)} samples ({len(pool.examples)} examples, {pool.discarded} discarded "
         f"for low signal) + {len(pool.validation)} validation, sha256 {pool.sha256[:16]}…"
         + (f"; {settings.stream} fresh samples every {settings.stream_every} steps" if settings.stream else ""))
    loss_fn = _loss(recipe.loss)

    def save_state() -> None:
        checkpoint.save_training_state(state_path, model, optimizer, {
            "method": method_cls.name, "suite": suite.name, "step": step, "elapsed_s": elapsed,
            "validation": history, "settings": asdict(settings), "architecture": config,
            **({"scheduler": plateau.state_dict()} if plateau is not None else {})})

    started = time.perf_counter() - elapsed
    bar = tqdm(total=settings.steps, initial=step, disable=not progress, desc=f"train {method_cls.name}",
               unit="step", dynamic_ncols=True)
    try:
        while step < settings.steps:
            if plateau is None:
                for group in optimizer.param_groups:
                    group["lr"] = recipe.learning_rate_at(step, settings.steps)
            pool.refresh(stage(step))
            batch = pool.batch(step, settings.batch, settings.crop, settings.transpose)
            x, y = (torch.from_numpy(a).to(device) for a in batch)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.clip_value is not None:
                torch.nn.utils.clip_grad_value_(model.parameters(), recipe.clip_value)
            optimizer.step()
            step += 1
            elapsed = time.perf_counter() - started
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if step % 10 == 0:
                append(f"step {step} loss {loss.item():.6f} lr {optimizer.param_groups[0]['lr']:.2e} "
                       f"elapsed {elapsed:.1f}s")
            if step % settings.validate_every == 0 or step == settings.steps:
                scores = validate(model, method, pool, device)
                history.append({"step": step, **scores, "elapsed_s": round(elapsed, 1)})
                write_curve(out, history, f"{method_cls.name}/{settings.config} on {suite.name}")
                if plateau is not None:
                    plateau.step(scores["loss"])
                note(f"step {step}: validation loss {scores['loss']:.4g}, PSNR {scores['psnr']:.2f} dB, "
                     f"SSIM {scores['ssim']:.3f} (widefield {scores['widefield_psnr']:.2f} dB)")
            if step % settings.checkpoint_every == 0:
                save_state()
    except KeyboardInterrupt:
        save_state()
        note(f"interrupted at step {step}; state saved, rerun with --resume")
        raise
    finally:
        bar.close()
    save_state()
    weights = out / f"{method_cls.name}-{settings.config}.safetensors"
    sha256 = checkpoint.save_weights(weights, model.state_dict(), {
        "method": method_cls.name, "config_name": settings.config, "config": config})
    card = _model_card(method_cls, suite, settings, config, model, pool, history, elapsed, weights, sha256)
    checkpoint.write_card(checkpoint.card_path(weights), card)
    note(f"wrote {weights} (sha256 {sha256[:16]}…) and its model card after {step} steps, {elapsed:.0f} s")
    return weights


def _model_card(method_cls: type[LearnedMethod], suite: Suite, settings: TrainSettings, config: dict[str, Any],
                model: torch.nn.Module, pool: TrainPool, history: list[dict[str, Any]], elapsed: float, weights: Path,
                sha256: str) -> dict[str, Any]:
    """Everything needed to trust, reproduce or retrain the weights."""
    from importlib.metadata import version

    from simbench.harness.manifest import expected
    from simbench.harness.provenance import cpu_name, git_state

    # the test samples the training data must stay disjoint from: of the suite, or of each suite of a mix
    tested = [s for s in getattr(suite, "suites", [suite]) if "full" in s.sizes]
    manifests = {s.name: expected(s, "full", s.default_seed) for s in tested}
    test_hashes = {name: m.content_hash for name, m in manifests.items() if m is not None}
    return {
        "format": checkpoint.FORMAT,
        "method": method_cls.name,
        "config_name": settings.config,
        "config": config,
        "parameters": sum(p.numel() for p in model.parameters()),
        "weights_file": weights.name,
        "sha256": sha256,
        "command": settings.command,
        "suite": {"name": suite.name, "version": suite.version, "pool": "train",
                  "members": getattr(suite, "members", [f"{suite.name}@{suite.version}"]),
                  "options": {s.name: s.changed_options() for s in getattr(suite, "suites", [suite])
                              if s.changed_options()},
                  "test_content_hash": test_hashes.get(suite.name),
                  "test_content_hashes": test_hashes,
                  "train_pool_sha256": pool.sha256,
                  "train_samples": [item.sample_id for item in pool.items],
                  "train_samples_drawn": pool.indices(pool.stage)[-1] + 1,
                  "validation_samples": [item.sample_id for item in pool.validation]},
        "seeds": {"suite": settings.seed, "torch": settings.seed, "batches": settings.seed},
        "training": {**asdict(settings), "optimizer": "Adam", **asdict(_recipe(method_cls, settings)),
                     "train_examples": len(pool.examples), "discarded_low_signal": pool.discarded,
                     "examples_seen": settings.steps * settings.batch,
                     "crop_raw_px": settings.crop, "crop_target_px": SCALE * settings.crop},
        "wall_time_s": round(elapsed, 1),
        "validation": history,
        "environment": {"simbench": version("simbench"), "git": git_state(), "torch": torch.__version__,
                        "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                        "platform": platform.platform(), "cpu": cpu_name(), "device": str(resolve_device(settings.device))},
    }
