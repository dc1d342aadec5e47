"""``simbench check``: the regression gate against committed baselines."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HELP = """\
Rerun committed baseline runs and fail (exit status 1) when a method got worse.

For every (suite, method) with a baseline record of the given size under
BASELINE/<suite>/<method>/ (or an earlier BASELINE/<suite>/<method>.json; the
newest record of that size), the method is rerun on the suite (into a
temporary results directory, or --results DIR) and the mean of every metric
over the samples scored in both runs is compared with the baseline's,
direction-aware (↑ higher is better, ↓ lower is better, ◎ closer to the
target's own value is better: compared by the mean absolute relative error to
it). Means are over the samples whose values are valid in both runs. A metric
is a regression when it is worse by more than max(floor, relative·|baseline|),
from the tolerance file (default: tolerances.toml beside BASELINE, e.g.
leaderboards/tolerances.toml), or when a value that was valid in the baseline
is now NaN or carries an invalidating flag (no crossing, unreliable). Samples
that were scored in the baseline and now fail count as a failure too.

Never a failure: no baseline (a warning), a stale baseline (scored on another
suite version or content hash, or made by another method version: reported,
not compared, with the command that refreshes it), and runtime (reported).

examples:
  simbench check                                    every quick baseline in leaderboards/results
  simbench check --suite static --method wiener     one run
  simbench check --suite static,frame-delay --method widefield,wiener,rl-deconv --size quick
  simbench check --size full --results /tmp/rerun    the full suites; keep the rerun's result files
  simbench check --workers 1                        everything in this process (default: one worker per core)
"""


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import SCALE_OUT, add_execution_arguments

    p = sub.add_parser("check", help="regression gate: rerun baselines, fail on worse scores", description=HELP,
                       epilog=SCALE_OUT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", type=Path, default=Path("leaderboards/results"),
                   help="directory of committed baseline results (default leaderboards/results)")
    p.add_argument("--suite", "-s", default=None,
                   help="suite(s), comma-separated (default: every suite with a baseline directory)")
    p.add_argument("--method", "-m", default=None,
                   help="method(s), comma-separated (default: every method with a baseline file)")
    p.add_argument("--size", default="quick", help="suite size to check (default quick)")
    p.add_argument("--tolerances", type=Path, default=None,
                   help="tolerance file (default: BASELINE/../tolerances.toml)")
    p.add_argument("--results", type=Path, default=None,
                   help="keep the rerun's result files here (default: a temporary directory)")
    p.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    add_execution_arguments(p, default_workers="auto")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    import tempfile

    from simbench.cli.common import cache_from_args, executor_from_args, load_registry, warn
    from simbench.errors import SimbenchError
    from simbench.harness import gate

    if not args.baseline.is_dir():
        raise SimbenchError(f"baseline directory {args.baseline} does not exist")
    tolerances = gate.load_tolerances(args.tolerances or args.baseline.parent / "tolerances.toml")
    registry = load_registry(args)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="simbench-check-") as scratch:
        request = gate.CheckRequest(
            baseline_dir=args.baseline, results_dir=args.results or Path(scratch), tolerances=tolerances,
            suites=_names(args.suite), methods=_names(args.method), size=args.size, progress=args.progress,
            cache_dir=cache_from_args(args))
        with executor_from_args(args) as executor:
            verdicts = gate.check(registry, request, warn=warn, executor=executor)
    for verdict in verdicts:
        if verdict.status in ("no baseline", "stale"):
            warn(f"{verdict.status}: {verdict.method} on {verdict.suite} [{verdict.size}]: {verdict.notes[0]}")
    sys.stdout.write(gate.report(verdicts, request))
    print(f"gate took {time.perf_counter() - start:.0f} s")
    return 0 if gate.passed(verdicts) else 1
