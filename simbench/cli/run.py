"""``simbench run``: benchmark methods on a suite and print the leaderboard."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """\
Run one or more methods on a suite. Each (method, sample) result is saved as
soon as it is computed in RESULTS/<suite>/<method>.json, so an interrupted run
(Ctrl-C, kill) resumes where it stopped when you rerun the same command.
A sample whose method raises or returns a wrong shape or NaN is recorded as
failed with its error; the run goes on and exits with status 1 at the end.

examples:
  simbench run --method widefield --suite static
  simbench run --method widefield,mymethod --suite static --size quick
  simbench run --method widefield --suite static --metric-convention paper
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_suite_option_argument
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS

    p = sub.add_parser("run", help="benchmark methods on a suite", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", "-m", required=True,
                   help="method name, or several separated by commas (see `simbench list --methods`)")
    p.add_argument("--suite", "-s", required=True, help="suite name (see `simbench list --suites`)")
    p.add_argument("--size", default="full", help="suite size, e.g. quick (a few samples) or full (default)")
    p.add_argument("--seed", type=int, default=None, help="suite seed (default: the suite's own, which "
                   "matches its committed manifest and leaderboards)")
    p.add_argument("--results", type=Path, default=None,
                   help=f"results directory (default: ${ENV_RESULTS} or ./{DEFAULT_RESULTS_DIR})")
    p.add_argument("--metric-convention", choices=("normalised", "paper"), default="normalised",
                   help="normalised (default): percentile-normalised target, prediction fitted by least "
                        "squares; paper: VSR-SIM's 8-bit, 4-px-crop evaluation")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="also score this optional metric of the suite (repeatable or comma-separated; "
                        "`simbench list -v` shows each suite's optional metrics). Repeat-based metrics (frc, "
                        "consistency) reconstruct a second noise realisation of every sample: about twice "
                        "the method's time")
    p.add_argument("--retry-failed", action="store_true", help="recompute samples that failed before")
    p.add_argument("--oracle-params", action="store_true",
                   help="give methods the true (simulated) pattern parameters instead of the nominal ones, "
                        "so estimating methods skip estimation; recorded in the results")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_suite_option_argument(p)
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.cli.common import current_hashes, load_registry, parse_suite_options, warn
    from simbench.harness import runner
    from simbench.harness.leaderboard import render
    from simbench.harness.results import default_results_dir
    from simbench.metrics.base import MetricConfig

    registry = load_registry(args)
    suites = registry.suite_group(args.suite)
    results_dir = args.results or default_results_dir()
    records = []
    for suite in suites:  # a group (e.g. motion) runs each member suite in turn
        request = runner.RunRequest(
            methods=[m.strip() for m in args.method.split(",") if m.strip()],
            suite=suite.name, size=args.size, seed=args.seed, results_dir=results_dir,
            metric_config=MetricConfig(convention=args.metric_convention),
            retry_failed=args.retry_failed, progress=not args.no_progress, oracle_params=args.oracle_params,
            suite_options=parse_suite_options(args.suite_opt),
            extra_metrics=tuple(m.strip() for text in args.metric for m in text.split(",") if m.strip()))
        outcome = runner.run(registry, request, warn=warn)
        records += outcome.records
        for name, count in outcome.computed.items():
            print(f"{name} on {suite.name}: {count} new sample(s) computed, results in "
                  f"{results_dir / suite.name / (name + '.json')}", file=sys.stderr)
    print(render(results_dir, args.suite, "plain", current_hashes(registry), order=list(registry.suites),
                 registry=registry, key=records[0].key), end="")
    status = 0
    for record in records:
        errors = sorted({r["error"] for r in record.samples.values() if r["status"] == "failed"})
        if errors:
            n_failed = sum(r["status"] == "failed" for r in record.samples.values())
            warn(f"{record.data['method']} on {record.data['suite']}: {n_failed} sample(s) failed, e.g. {errors[0]}")
            status = 1
    return status

