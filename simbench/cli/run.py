"""``simbench run``: benchmark methods on a suite and print the leaderboard."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

HELP = """\
Run one or more methods on a suite. Each (method, sample) result is saved as
soon as it is computed, in the record of this configuration under
RESULTS/<suite>/<method>/, so an interrupted run (Ctrl-C, kill) resumes where it
stopped when you rerun the same command. A run with other settings (method
version or weights, suite version, seed, options, metric convention) writes a
new record beside the old ones: nothing finished is replaced (see
`simbench results`). A sample whose method raises, returns a wrong shape or NaN,
or runs past --timeout is recorded as failed with its error; the run goes on and
exits with status 1 at the end. Failed samples are kept on a rerun unless
--retry-failed is given.

examples:
  simbench run --method widefield --suite static
  simbench run --method widefield,mymethod --suite static --size quick
  simbench run --method widefield --suite static --metric-convention paper
  simbench run --method mymethod --suite static --size quick --timeout 60
  simbench run --method widefield,wiener,rl-deconv --suite static --workers auto
  simbench run --method wiener --suite motion --dask --workers 4
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import SCALE_OUT, add_execution_arguments, add_metric_argument, add_suite_option_argument
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS

    p = sub.add_parser("run", help="benchmark methods on a suite", description=HELP, epilog=SCALE_OUT,
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
    add_metric_argument(p)
    p.add_argument("--retry-failed", action="store_true", help="recompute samples that failed before")
    p.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                   help="stop a sample's method after this many seconds (it then runs in a child process that "
                        "is killed) and record the sample as failed with a timeout; default: no limit")
    p.add_argument("--oracle-params", action="store_true",
                   help="give methods the true (simulated) pattern parameters instead of the nominal ones, "
                        "so estimating methods skip estimation; recorded in the results")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_suite_option_argument(p)
    add_execution_arguments(p)
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.harness.provenance import start_git_state

    start_git_state()  # the records' provenance, read while plugins load and the first sample is made
    from simbench.cli.common import (
        cache_from_args,
        current_hashes,
        executor_from_args,
        load_registry,
        parse_metric_names,
        parse_suite_options,
        warn,
    )
    from simbench.cli.leaderboard import note_older
    from simbench.harness import runner
    from simbench.harness.leaderboard import render
    from simbench.harness.results import default_results_dir
    from simbench.metrics.base import MetricConfig

    registry = load_registry(args)
    suites = registry.suite_group(args.suite)
    results_dir = args.results or default_results_dir()
    records = []
    with executor_from_args(args) as executor:
        for suite in suites:  # a group (e.g. motion) runs each member suite in turn
            request = runner.RunRequest(
                methods=[m.strip() for m in args.method.split(",") if m.strip()],
                suite=suite.name, size=args.size, seed=args.seed, results_dir=results_dir,
                metric_config=MetricConfig(convention=args.metric_convention),
                retry_failed=args.retry_failed, progress=not args.no_progress, oracle_params=args.oracle_params,
                suite_options=parse_suite_options(args.suite_opt), timeout_s=args.timeout,
                extra_metrics=parse_metric_names(args.metric), cache_dir=cache_from_args(args))
            outcome = runner.run(registry, request, warn=warn, executor=executor)
            records += outcome.records
            for record in outcome.records:
                name = record.data["method"]
                print(f"{name} on {suite.name}: {outcome.counts[name].describe()}; results in {record.path}",
                      file=sys.stderr)
                if outcome.counts[name].kept_failed:
                    warn(f"{name} on {suite.name}: {outcome.counts[name].kept_failed} sample(s) that failed in "
                         "an earlier run were not computed again (add --retry-failed to retry them)")
            print(f"{suite.name}: {outcome.generated} sample(s) generated, {outcome.from_cache} read from the "
                  f"sample cache; computed {executor.description}", file=sys.stderr)
    print(render(results_dir, args.suite, "plain", current_hashes(registry), order=list(registry.suites),
                 registry=registry, key=records[0].key), end="")
    note_older(results_dir, args.suite)
    status = 0
    for record in records:
        errors = sorted({r["error"] for r in record.samples.values() if r["status"] == "failed"})
        if errors:
            n_failed = sum(r["status"] == "failed" for r in record.samples.values())
            warn(f"{record.data['method']} on {record.data['suite']}: {n_failed} sample(s) failed, e.g. {errors[0]}")
            status = 1
    return status


def seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type; its name is in argparse's message)."""
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value
