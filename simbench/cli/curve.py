"""``simbench curve``: extrapolate learning curves to the compute a validation PSNR would take."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

HELP = """\
Fit each learning curve that `simbench train` wrote (learning-curve.csv:
validation PSNR against steps) with PSNR = a + b*log2(steps), least squares, so
b is the gain per doubling of the training budget, with 95 % intervals from a
bootstrap over the validation points; with --target or --gain, print the steps
at which the trend reaches that PSNR and that many times the curve's budget.
A measured trend, not a law: curves bend down eventually, so a long
extrapolation is a lower bound on the compute. The validation samples are
held-out train-pool scenes, so a gain there is an estimate of the gain on the
benchmark's test samples, not a measurement of it.

examples:
  simbench curve plugins/simbench_plugins/weights/vsrsim-small-learning-curve.csv --gain 0.2
  simbench curve runs/a/learning-curve.csv runs/b/learning-curve.csv --target 26.5 --from-step 1000
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curve", help="extrapolate learning curves (steps to a validation PSNR)", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("curves", nargs="+", type=Path, metavar="CSV", help="learning-curve.csv files")
    goal = p.add_mutually_exclusive_group()
    goal.add_argument("--target", type=float, default=None, metavar="DB", help="validation PSNR to reach, dB")
    goal.add_argument("--gain", type=float, default=None, metavar="DB",
                      help="dB above each curve's last validation PSNR")
    p.add_argument("--from-step", type=float, default=0.0, metavar="N",
                   help="fit only the validations at or after step N (default: all)")
    p.set_defaults(func=execute)


def _steps(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:,.0f}"


def execute(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from simbench.errors import SimbenchError
    from simbench.learn.curves import fit_curve, read_curve

    rows = []
    for path in args.curves:
        try:
            fit = fit_curve(*read_curve(path), from_step=args.from_step)
        except (OSError, ValueError) as exc:
            raise SimbenchError(str(exc)) from exc
        low, high = fit.slope_interval()
        row = [str(path), fit.points, fit.last_step, f"{fit.last_psnr_db:.2f}",
               f"{fit.db_per_doubling:.3f} [{low:.3f}, {high:.3f}]", f"{fit.rms_db:.3f}"]
        if args.target is not None or args.gain is not None:
            target = args.target if args.target is not None else fit.last_psnr_db + args.gain
            at, lo, hi = fit.steps_to_reach(target)
            row += [f"{target:.2f}", f"{_steps(at)} [{_steps(lo)}, {_steps(hi)}]",
                    f"{at / fit.last_step:.2f}" if math.isfinite(at) else "—"]
        rows.append(row)
    headers = ["curve", "points", "last step", "last dB", "dB per doubling [95 %]", "rms dB"]
    if len(rows[0]) > len(headers):
        headers += ["target dB", "steps to target [95 %]", "× budget"]
    sys.stdout.write(tabulate(rows, headers=headers) + "\n")
    return 0
