"""The adversarial suite: degenerate methods (tests/adversarial, installed as a third-party plugin)
never outrank the honest method they were derived from on any primary metric.

Each suite is run once per session for every method (samples generated once, shared by all;
a degenerate method reuses its parent's output of the same sample): static and motion/medium at
their quick size, and one sample each of axial/twopoint (900 nm) and axial/chromatin scored by
their primary metrics only (a 3D sample takes ≈ 10 s to generate and up to a minute per method
to score with every metric).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simbench.harness import runner
from simbench.harness.ranking import effective_directions, rank
from simbench.plugin.manager import PluginManager
from simbench.suites.axial import AxialChromatin, AxialTwoPoint

from conftest import make_distribution

PLUGIN = Path(__file__).parent / "adversarial" / "simbench_adversarial.py"
class _OneTwoPoint(AxialTwoPoint):
    name = "adversarial/twopoint"
    sizes = {"quick": 1}
    metrics = AxialTwoPoint.primary_metrics


class _OneChromatin(AxialChromatin):
    name = "adversarial/chromatin"
    sizes = {"quick": 1}
    metrics = AxialChromatin.primary_metrics


#: suite → the honest methods run beside the degenerate ones
SUITES = {"static": ("widefield", "wiener"), "motion/medium": ("widefield", "wiener"),
          _OneTwoPoint.name: ("widefield",), _OneChromatin.name: ("widefield",)}


@pytest.fixture(scope="session")
def adversarial(tmp_path_factory):
    """(registry with the plugin installed, the plugin module, suite → its run's records)."""
    root = tmp_path_factory.mktemp("adversarial")
    site = make_distribution(root / "site", "simbench-adversarial", {"simbench_adversarial": PLUGIN.read_text()},
                             {"adversarial": "simbench_adversarial"})
    sys.path.insert(0, str(site))
    try:
        registry = PluginManager(strict=True).load()
        plugin = sys.modules["simbench_adversarial"]
        registry.suites.update({s.name: s for s in (_OneTwoPoint(), _OneChromatin())})
        records = {}
        for suite, honest in SUITES.items():
            modality = registry.suite(suite).modality
            degenerate = [name for name, parents in plugin.PARENTS.items() if modality in parents]
            outcome = runner.run(registry, runner.RunRequest(methods=[*honest, *degenerate], suite=suite, size="quick",
                                                             results_dir=root / "results", progress=False))
            records[suite] = outcome.records
        yield registry, plugin, records
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("simbench_adversarial", None)


@pytest.mark.parametrize("suite", list(SUITES))
def test_no_degenerate_method_outranks_its_parent_on_a_primary_metric(adversarial, suite):
    registry, plugin, all_records = adversarial
    records = all_records[suite]
    modality = registry.suite(suite).modality
    directions = effective_directions(records, {n: m.direction for n, m in registry.metrics.items()})
    ranking = rank(records, registry.suite(suite).primary_metrics, directions)
    assert set(ranking.metrics) == set(registry.suite(suite).primary_metrics)
    wins = []
    for method, parents in plugin.PARENTS.items():
        if modality not in parents:
            continue
        parent = parents[modality]
        for metric in ranking.metrics:  # ties (ranking.TIE) are no win
            if ranking.metric_rank[metric][method] < ranking.metric_rank[metric][parent]:
                wins.append(f"{method} beats {parent} on {metric} ({directions[metric]}): mean loss "
                            f"{ranking.mean_loss[metric][method]:.6g} < {ranking.mean_loss[metric][parent]:.6g}")
        if ranking.rank[method] < ranking.rank[parent]:
            wins.append(f"{method} ranks {ranking.rank[method]}, above {parent} ({ranking.rank[parent]})")
    assert not wins, f"{suite}:\n" + "\n".join(wins)


def test_the_refuser_refused_and_the_degenerate_methods_ran(adversarial):
    _, plugin, all_records = adversarial
    static = {rec.data["method"]: rec for rec in all_records["static"]}
    statuses = [row["status"] for row in static["adv-refuser"].samples.values()]
    assert 0 < statuses.count("failed") < len(statuses)  # it refused some, not all
    for name in plugin.PARENTS:
        if name != "adv-refuser":
            assert all(row["status"] == "ok" for row in static[name].samples.values()), name
