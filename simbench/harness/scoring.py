"""Score reconstructions made outside simbench (fairSIM in Fiji, MATLAB, …).

The predictions are TIFFs named by the sample ids that ``simbench simulate``
writes: ``DIR/<id>.tif`` reconstructs ``raw/<id>.tif`` and, for repeat-based
metrics (FRC), ``DIR/repeat/<id>.tif`` reconstructs ``raw-repeat/<id>.tif``.
Each sample is regenerated (and checked against the manifest) and scored by the
runner's own code into a normal result record, so it enters the leaderboard.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simbench.errors import SimbenchError
from simbench.harness import evaluation, manifest, runner
from simbench.harness.digest import sample_digest
from simbench.harness.names import check_name
from simbench.harness.results import RunRecord
from simbench.plugin.manager import Registry
from simbench.types import Sample

REPEAT_DIR = "repeat"
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass
class ScoreReport:
    """The record written and what was wrong with the files, file by file."""

    record: RunRecord
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    #: file → problem (unreadable, wrong shape, non-finite values)
    problems: dict[str, str] = field(default_factory=dict)
    #: repeat-based metrics left out because DIR/repeat does not exist
    unscored: list[str] = field(default_factory=list)


def _tiffs(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in TIFF_SUFFIXES}


def _files_digest(paths: list[Path]) -> str:
    """sha256 over the files' names and contents: other predictions under the same name are another record."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _reader(sample: Sample, files: dict[str, Path], repeat_files: dict[str, Path], folder: Path,
            report: ScoreReport) -> Callable[[bool], np.ndarray]:
    """``read(repeat)``: the prediction for ``sample`` (or its repeat), checked against the target grid."""
    from simbench.io import read_image

    def read(repeat: bool) -> np.ndarray:
        where = folder / REPEAT_DIR if repeat else folder
        path = (repeat_files if repeat else files).get(sample.id)
        name = str(Path(REPEAT_DIR, f"{sample.id}.tif") if repeat else f"{sample.id}.tif")
        if path is None:
            report.missing.append(name)
            raise SimbenchError(f"missing {where / (sample.id + '.tif')}")
        try:
            image = read_image(path)[0]
        except SimbenchError as exc:
            report.problems[name] = str(exc)
            raise
        if image.shape != sample.grid_shape:
            report.problems[name] = (f"shape {image.shape}, expected {sample.grid_shape} "
                                     f"(the target grid, {sample.target_pixel_size_nm:g} nm/pixel)")
            raise SimbenchError(f"{path}: {report.problems[name]}")
        return image

    return read


def score_predictions(registry: Registry, request: runner.RunRequest, predictions: Path,
                      progress: Callable[[Any], Any] = iter, tool_version: str | None = None) -> ScoreReport:
    """Score ``predictions`` on ``request.suite`` as a record named ``request.methods[0]``;
    ``tool_version`` (what made them, e.g. ``napari-sim-processor 0.1.1``) is recorded as the
    method's version (else ``external``)."""
    (name,) = request.methods
    check_name("result", name)
    if name in registry.methods:
        raise SimbenchError(f"--name {name!r} is an installed method; choose another name for external results")
    if not predictions.is_dir():
        raise SimbenchError(f"predictions folder {predictions} does not exist")
    suite = registry.suite(request.suite).configured(request.suite_options)
    n = suite.n_samples(request.size)
    seed = suite.default_seed if request.seed is None else request.seed
    expected = manifest.expected(suite, request.size, seed)
    metrics = [registry.metric(m) for m in suite.metric_names(request.extra_metrics)]
    files, repeat_files = _tiffs(predictions), _tiffs(predictions / REPEAT_DIR)
    identity = {"method": name, "method_version": tool_version or "external", "method_distribution": None,
                "method_artifacts": {"predictions_sha256": _files_digest([*files.values(), *repeat_files.values()])}}
    report = ScoreReport(runner.new_record(identity, suite, request, seed, metrics, registry, expected))
    if not (predictions / REPEAT_DIR).is_dir():
        report.unscored = [m.name for m in metrics if m.needs_repeat]
        metrics = [m for m in metrics if not m.needs_repeat]
        report.record.data["metrics"] = {k: v for k, v in report.record.data["metrics"].items()
                                         if k not in report.unscored}
    report.record.data["predictions"] = str(predictions.resolve())
    ids = [suite.sample_id(i) for i in range(n)]
    report.extra = ([f"{files[k].name}" for k in sorted(set(files) - set(ids))]
                    + [f"{REPEAT_DIR}/{repeat_files[k].name}" for k in sorted(set(repeat_files) - set(ids))])
    for index in progress(range(n)):
        sample = suite.make_sample(index, request.size, seed)
        digest = sample_digest(sample)
        manifest.check_digest(suite, expected, sample.id, digest)
        row = evaluation.evaluate(evaluation.new_row(sample, digest), sample, metrics, request.metric_config,
                              _reader(sample, files, repeat_files, predictions, report))
        row["runtime_s"] = None  # made elsewhere: reading a file is no reconstruction time
        row.update(evaluation.reference_scores(sample, metrics, request.metric_config))
        report.record.samples[sample.id] = row
    runner.finish(report.record, suite, n, expected)
    return report
