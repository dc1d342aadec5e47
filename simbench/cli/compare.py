"""``simbench compare``: paired significance tests between two methods' stored results."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simbench.harness.results import RunRecord

HELP = """\
Is method B really better than method A on a suite? Reads both methods' result
files (no rerun), pairs their per-sample scores (the samples both scored) and,
for every metric, reports the effect, the mean paired difference B − A with its
95 % bootstrap confidence interval and Cohen's d_z (that mean over the standard
deviation of the differences), and runs the paired t test and the Wilcoxon
signed-rank test (two-sided, scipy.stats), as the SIM papers did. A difference is
called significant when both tests give p < ALPHA; the verdict names the better
method, direction-aware (↑ higher is better, ↓ lower is better, ◎ closer to the
target's own value is better: such metrics are compared by their absolute
relative error to it). A sample where either value is NaN or carries a flag
that invalidates it (no crossing, unreliable) is left out of that metric's pairs
and counted in the n column. No correction for testing several metrics is applied.

examples:
  simbench compare widefield wiener --suite static
  simbench compare wiener rl-deconv --suite static --size full --results leaderboards/results
  simbench compare wiener rl-deconv --suite static --size quick --alpha 0.01
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_suite_option_argument
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS
    from simbench.harness.stats import ALPHA

    p = sub.add_parser("compare", help="paired tests: is method B better than method A?", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("method_a", metavar="A", help="first method")
    p.add_argument("method_b", metavar="B", help="second method")
    p.add_argument("--suite", "-s", required=True, help="suite (or suite group: each member in turn)")
    p.add_argument("--size", default="full", help="suite size (default full)")
    p.add_argument("--results", type=Path, default=None,
                   help=f"results directory (default: ${ENV_RESULTS} or ./{DEFAULT_RESULTS_DIR})")
    p.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})")
    add_suite_option_argument(p)
    p.set_defaults(func=execute)


def _record(registry: Any, results: Path, suite: Any, key: str, size: str, method: str) -> Any:
    """The newest ``key`` record of ``method`` on ``suite``; else an error with a did-you-mean and a way on."""
    from simbench.errors import SimbenchError, UnknownNameError
    from simbench.harness.results import load_record, result_path, scan

    record = load_record(result_path(results, suite.name, method), key)
    if record is not None:
        return record
    stored = sorted({r.data["method"] for r in scan(results, suite.name).records if r.key == key})
    if method not in registry.methods and method not in stored:
        raise UnknownNameError("method", method, set(registry.methods) | set(stored))
    cls = registry.methods.get(method)
    if cls is None:
        way = "score its predictions with `simbench score` first"
    elif suite.modality not in cls.modalities:
        way = f"it cannot run on it ({method} takes {', '.join(cls.modalities)}, the suite is {suite.modality})"
    else:
        way = f"run `simbench run --method {method} --suite {suite.name} --size {size}` first"
    have = f" (results there: {', '.join(stored)})" if stored else ""
    raise SimbenchError(f"no {suite.name} [{key}] results for {method!r} under {results}{have}; {way}")


def execute(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from simbench.cli.common import load_registry, parse_suite_options
    from simbench.errors import SimbenchError
    from simbench.harness.ranking import effective_directions
    from simbench.harness.results import default_results_dir, run_key

    if not 0 < args.alpha < 1:
        raise SimbenchError(f"--alpha must be between 0 and 1; got {args.alpha}")
    registry = load_registry(args)
    results = args.results or default_results_dir()
    options = parse_suite_options(args.suite_opt)
    for suite in registry.suite_group(args.suite):
        suite = suite.configured(options)
        suite.n_samples(args.size)  # unknown size → error
        key = run_key(args.size, suite.default_seed, suite.default_seed, options=suite.changed_options())
        records = [_record(registry, results, suite, key, args.size, m) for m in (args.method_a, args.method_b)]
        a, b = (r.samples for r in records)
        paired = [sid for sid in a if a[sid]["status"] == "ok" and b.get(sid, {}).get("status") == "ok"]
        if len(paired) < 2:
            raise SimbenchError(f"{suite.name} [{key}]: only {len(paired)} sample(s) scored by both methods; "
                                "paired tests need at least 2")
        directions = effective_directions(records, {n: m.direction for n, m in registry.metrics.items()})
        rows = [_row(name, directions[name], *records, args) for name in records[0].data["metrics"]
                if name in records[1].data["metrics"]]
        print(f"{suite.name} [{key}]: {args.method_a} (A) vs {args.method_b} (B), {len(paired)} paired samples, "
              f"significant when both p < {args.alpha:g}")
        print(tabulate(rows, headers=["metric", "n", "mean A", "mean B", "B − A [95 % CI]", "d_z", "p (paired t)",
                                      "p (Wilcoxon)", "verdict"], disable_numparse=True))
    return 0


def _row(name: str, direction: str, a: RunRecord, b: RunRecord, args: argparse.Namespace) -> list[str]:
    """One metric's line: pairs, means, effect with its interval, d_z, p-values and verdict."""
    from simbench.harness.leaderboard import format_number
    from simbench.harness.ranking import paired_scores
    from simbench.harness.stats import paired_test
    from simbench.metrics.base import ARROWS

    xs, ys, excluded = paired_scores(a, b, name, direction)
    label = f"{name} {ARROWS[direction]}" + (" |rel. error|" if direction == "target" else "")
    n = f"{len(xs)}" + (f" ({excluded} invalid)" if excluded else "")
    if len(xs) < 2:
        return [label, n, *["—"] * 6, "too few valid pairs"]
    test = paired_test(name, "lower" if direction == "target" else direction, xs, ys)
    low, high = test.difference_ci
    return [label, n, format_number(test.mean_a), format_number(test.mean_b),
            f"{test.difference:+.4g} [{low:+.4g}, {high:+.4g}]", f"{test.d_z:+.2f}", f"{test.p_t:.2g}",
            f"{test.p_wilcoxon:.2g}", test.verdict(args.method_a, args.method_b, args.alpha)]
