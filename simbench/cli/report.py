"""``simbench report``: figures and a Markdown report of a suite's results."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = """\
Write PNG figures and a Markdown report for a suite from its result files:
report.md (the leaderboard and the figures), metrics.png (every metric's mean
and 95 % bootstrap interval per method; one bar group per regime for a suite
group such as motion), crops.png (ground truth and each method on the same crop
of one sample, with error maps; of a volume, its brightest plane: the methods are
rerun on that sample; for a group, crops-MEMBER.png per member).  The sample is the
one whose ground truth has the most sparse fine structure in the band SIM transmits
(half the widefield cut-off to the SIM cut-off), the crop its window with the most
energy in that band; report.md says which, and --sample N shows sample N instead.
For swept suites (frame-delay, axial/noise, …) sweeps.png
(every metric vs the sweep variable, a row per swept suite; a gap where no sample
was scored; photons per emitter on a log2 axis) and, where FWHM is scored (axial),
fwhm.png (per-sample lateral and axial ACF-FWHM box plots per method and suite,
the confocal target as the reference).  All but crops.png come from the result
files alone. On the real-data track (--suite real --suite-opt data_dir=DIR)
montage.png replaces crops.png: the widefield image, each method's
reconstruction and its SQUIRREL error map with scale bars in µm.

examples:
  simbench report --suite static --size quick --results leaderboards/results -o reports/static
  simbench report --suite frame-delay --size quick --results leaderboards/results -o reports/frame-delay
  simbench report --suite axial --size quick --results leaderboards/results -o leaderboards/reports/axial
  simbench report --suite real --suite-opt data_dir=datasets/real --results leaderboards/results \
      -o leaderboards/reports/real
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_suite_option_argument
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS
    from simbench.harness.views import CANDIDATES

    p = sub.add_parser("report", help="figures and a Markdown report of a suite", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", "-s", required=True, help="suite or suite group")
    p.add_argument("--size", default="full", help="suite size of the results to report (default full)")
    p.add_argument("--results", type=Path, default=None,
                   help=f"results directory (default: ${ENV_RESULTS} or ./{DEFAULT_RESULTS_DIR})")
    p.add_argument("-o", "--output", type=Path, default=Path("report"), help="output folder (default ./report)")
    p.add_argument("--sample", type=int, default=None,
                   help="index of the sample shown in the crops (default: of the first "
                        f"{CANDIDATES}, the one with the most fine structure)")
    add_suite_option_argument(p)
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.cli.common import current_hashes, load_registry, parse_suite_options
    from simbench.errors import SimbenchError
    from simbench.harness.report import ReportRequest, write_report
    from simbench.harness.results import default_results_dir

    registry = load_registry(args)
    options = parse_suite_options(args.suite_opt)
    for suite in (s.configured(options) for s in registry.suite_group(args.suite)):  # unknown suite or size → error
        suite.n_samples(args.size)
        if args.sample is not None and not 0 <= args.sample < suite.n_samples(args.size):
            raise SimbenchError(f"--sample {args.sample}: {suite.name} [{args.size}] has samples 0 … "
                                f"{suite.n_samples(args.size) - 1}")
    request = ReportRequest(args.suite, args.results or default_results_dir(), args.output, args.size, args.sample,
                            options)
    try:
        print(f"wrote {write_report(registry, request, current_hashes(registry))}")
    except ValueError as exc:
        raise SimbenchError(str(exc)) from None
    return 0
