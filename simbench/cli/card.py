"""``simbench card``: record what a learned method's checkpoint scored in its model card."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = """\
Write the `evaluations` block of a learned method's model card (the JSON beside
its weights) from result records: for every complete record of the method made
with exactly these weights (the record's weights sha256 equals the card's), the
suite, its version, size and options, the number of samples and, per metric, the
mean of the valid values (with the target's own mean for metrics that measure
the target too). Records of other weights are never quoted. Rerun it after new
runs; the tests check that the shipped cards agree with the committed records.

examples:
  simbench card --method mlsim --results leaderboards/results --suite real
  simbench card --method vsrsim --results leaderboards/results --suite real --suite static
  simbench card --method mymethod --weights runs/mymethod-small.safetensors --results simbench-results
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS

    p = sub.add_parser("card", help="record a checkpoint's benchmark scores in its model card", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", "-m", required=True, help="a learned method (see `simbench list --methods`)")
    p.add_argument("--results", type=Path, default=None,
                   help=f"results directory (default: ${ENV_RESULTS} or ./{DEFAULT_RESULTS_DIR})")
    p.add_argument("--suite", "-s", action="append", default=[],
                   help="only this suite or suite group (repeatable; default: every suite with a record)")
    p.add_argument("--weights", type=Path, default=None,
                   help="weights file whose card to write (default: the weights the method loads: "
                        "SIMBENCH_WEIGHTS_<METHOD> or the shipped file)")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.cli.common import load_registry
    from simbench.errors import SimbenchError
    from simbench.harness.results import default_results_dir
    from simbench.learn import LearnedMethod
    from simbench.learn.evaluations import write_evaluations

    cls = load_registry(args).method(args.method)
    if not issubclass(cls, LearnedMethod):
        raise SimbenchError(f"method {args.method!r} is not a learned method: it has no model card")
    if cls.trained_name() != cls.name:
        raise SimbenchError(f"method {args.method!r} runs the weights of {cls.trained_name()!r}: the model card "
                            f"is that method's (simbench card --method {cls.trained_name()})")
    method = cls()
    weights = args.weights or method.weights or method.shipped_weights()
    found = write_evaluations(weights, args.results or default_results_dir(), args.suite)
    print(f"{weights.with_suffix('.json')}: evaluations on " + ", ".join(found))
    return 0
