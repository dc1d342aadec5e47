"""``simbench mock-run``: check a method's contract in seconds on tiny synthetic data."""
from __future__ import annotations

import argparse

HELP = """\
Smoke-test a method before running a benchmark: on a small synthetic 2D SIM
stack (9 frames of 128², 5 % noise) check that the class declares its
modalities, can be created, returns a finite, real-valued, non-constant image on
the target grid (2× the raw frames) without modifying its input, returns the
same image twice for the same input, and, if it declares
accepts_any_pattern_order, also handles a pattern cycle that starts elsewhere.
Exit status 0 when every check passes, 1 otherwise. The same checks run in
pytest through the `simbench_contract` fixture (see README, "Add your own method").

examples:
  simbench mock-run --method wiener
  simbench mock-run --method mymethod
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mock-run", help="check a method's contract in seconds on synthetic data", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", "-m", required=True, help="method name (see `simbench list --methods`)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.cli.common import load_registry
    from simbench.testing import check_method, failed

    registry = load_registry(args)
    cls = registry.method(args.method)
    checks = check_method(cls, seed=args.seed)
    for check in checks:
        print(check.describe())
    bad = failed(checks)
    print(f"{args.method}: {'contract broken: ' + ', '.join(c.name for c in bad) if bad else 'all checks passed'}")
    return 1 if bad else 0
