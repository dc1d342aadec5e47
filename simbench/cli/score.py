"""``simbench score``: score reconstructions made by tools outside Python."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """\
Score reconstructions made elsewhere (fairSIM in Fiji, a MATLAB pipeline) on a
suite, into a normal result record under RESULTS/<suite>/NAME/ that enters the
leaderboard next to the methods run by simbench (other predictions under the
same name make another record; the newest is shown). NAME must be letters,
digits, '.', '_' or '-'.

  1. simbench simulate --suite static --size quick -o data/     the benchmark's raw frames
  2. reconstruct data/raw/<id>.tif        → DIR/<id>.tif          (on the target grid: 2× the
     reconstruct data/raw-repeat/<id>.tif → DIR/repeat/<id>.tif    raw frames, float or integer TIFF)
  3. simbench score --suite static --size quick --predictions DIR --name fairsim

Repeat-based metrics asked for with --metric (FRC between two noise
realisations) need DIR/repeat/; without it they are left out. Every sample is regenerated and scored exactly as
`simbench run` scores it. Missing, unreadable or mis-shaped files are reported
one by one (those samples are recorded as failed: exit status 1); files that
match no sample id are listed and ignored.

examples:
  simbench score --suite static --size quick --predictions fairsim-out/ --name fairsim
  simbench score --suite static --predictions matlab/ --name my-matlab --results leaderboards/results
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_metric_argument, add_suite_option_argument
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS

    p = sub.add_parser("score", help="score TIFF reconstructions made by other tools", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", "-s", required=True, help="suite the predictions were made on")
    p.add_argument("--predictions", "-p", type=Path, required=True, help="folder of <sample id>.tif files")
    p.add_argument("--name", "-n", required=True, help="name of the results in the leaderboard (not an "
                   "installed method's name)")
    p.add_argument("--size", default="quick", help="suite size that was exported (default quick)")
    p.add_argument("--seed", type=int, default=None, help="suite seed that was exported (default: the suite's own)")
    p.add_argument("--results", type=Path, default=None,
                   help=f"results directory (default: ${ENV_RESULTS} or ./{DEFAULT_RESULTS_DIR})")
    p.add_argument("--tool-version", default=None, metavar="TEXT",
                   help="what made the predictions, recorded as the method's version (e.g. 'napari-sim-processor "
                        "0.1.1'; default: external)")
    add_suite_option_argument(p)
    add_metric_argument(p)
    p.set_defaults(func=execute)


def _listing(kind: str, names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"{kind} ({len(names)}): {shown}"


def execute(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from simbench.cli.common import load_registry, parse_metric_names, parse_suite_options, warn
    from simbench.harness.results import default_results_dir
    from simbench.harness.runner import RunRequest
    from simbench.harness.scoring import score_predictions

    registry = load_registry(args)
    request = RunRequest(methods=[args.name], suite=args.suite, size=args.size, seed=args.seed,
                         results_dir=args.results or default_results_dir(),
                         suite_options=parse_suite_options(args.suite_opt),
                         extra_metrics=parse_metric_names(args.metric))
    report = score_predictions(registry, request, args.predictions,
                               progress=lambda it: tqdm(it, desc=f"{args.suite}/{args.size}", disable=None),
                               tool_version=args.tool_version)
    rows = report.record.samples.values()
    ok = sum(row["status"] == "ok" for row in rows)
    print(f"scored {ok} of {len(rows)} samples of {args.suite} [{report.record.key}] from {args.predictions} as "
          f"{args.name!r}: {report.record.path}")
    if report.unscored:
        warn(f"no {args.predictions / 'repeat'} folder: {', '.join(report.unscored)} not scored")
    if report.extra:
        warn(_listing("files matching no sample id, ignored", report.extra))
    if report.missing:
        print(_listing("missing", report.missing), file=sys.stderr)
    for name, problem in report.problems.items():
        print(f"{name}: {problem}", file=sys.stderr)
    other = sorted({row["error"] for row in rows if row["status"] == "failed"} - {None})
    if other and not (report.missing or report.problems):
        print(f"failed: {other[0]}", file=sys.stderr)
    return 0 if ok == len(rows) else 1
