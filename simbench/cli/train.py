"""``simbench train``: train a learned method on a suite's train pool."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HELP = """\
Train a learned method (vsrsim, rbpn, mlsim, or a plugin's) on random crops of a
suite's train pool: scenes disjoint from every benchmark sample. A group of
suites (e.g. motion: its static, medium and fast regimes; name more with
commas, e.g. motion,motion/extreme) trains on its members' train pools in turn.
With --stream N the pool renews itself: every --stream-every steps its N oldest
samples make way for fresh ones, a seeded stream of new scenes instead of a
fixed set. Uses the method's paper recipe (loss, Adam, learning-rate halving),
shows progress and validation PSNR/SSIM on --validation held-out train-pool
samples (with widefield's PSNR on the same samples for reference), saves its
state every --checkpoint-every steps and on Ctrl-C, and writes into --out:

  <method>-<config>.safetensors   the weights (safetensors, no pickle)
  <method>-<config>.json          model card: config, command, suite, seeds, steps,
                                  wall time, validation scores, sha256
  train.log                       the log
  training-state.safetensors      model + optimiser state for --resume
  learning-curve.csv, .png        validation scores against steps

A learned method uses the weights its plugin ships (verified against their model
card by sha256) unless SIMBENCH_WEIGHTS_<METHOD> names others (checked against
the model card beside them when there is one):

  SIMBENCH_WEIGHTS_VSRSIM=runs/vsrsim-small/vsrsim-small.safetensors \\
      simbench run --method vsrsim --suite static --size quick

Same settings and seed give the same batches; a resumed run draws exactly what
an uninterrupted one would. Inference and training use CUDA when available
(--device auto); set SIMBENCH_DEVICE for `simbench run`.

examples:
  simbench train --method mlsim --suite static --steps 200 --batch 2
  simbench train --method vsrsim --suite static --config paper --device cuda --steps 100000 --batch 8
  simbench train --method vsrsim --suite static --steps 400 --resume     # continue a run
  simbench train --method rcan3d --suite axial --crop 32 --steps 2000     # chromatin + sphere clouds
  simbench train --method vsrsim --suite motion --crop 128 --pool 16 --stream 4 --validation 4
  simbench train --method mlsim --suite motion --suite-opt pattern_start=0 --stream 4   # fixed order
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.cli.common import add_suite_option_argument

    p = sub.add_parser("train", help="train a learned method on a suite's train pool", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", "-m", required=True, help="a learned method (see `simbench list --methods`)")
    p.add_argument("--suite", "-s", required=True, help="a suite with a train pool, e.g. static, or a group of suites "
                   "(axial: the train pools of axial/chromatin and axial/spheres in turn; motion: static, medium "
                   "and fast), or several names joined by commas (motion,motion/extreme)")
    p.add_argument("--config", default="small", help="architecture: small (trains on a CPU, default) or paper "
                   "(the published size, needs a GPU)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto (default): CUDA when available, else CPU")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps (default 1000)")
    p.add_argument("--batch", type=int, default=4, help="crops per step (default 4)")
    p.add_argument("--crop", type=int, default=128,
                   help="raw crop side in pixels; the target crop is twice it (default 128, as the paper)")
    p.add_argument("--pool", type=int, default=32, help="train-pool samples held in memory (default 32)")
    p.add_argument("--stream", type=int, default=0, help="fresh train-pool samples that replace the oldest held "
                   "ones every --stream-every steps (default 0: a fixed pool)")
    p.add_argument("--stream-every", type=int, default=100, help="steps between renewals of a streaming pool "
                   "(default 100)")
    p.add_argument("--validation", type=int, default=2, help="held-out train-pool samples (never trained on) "
                   "scored every --validate-every steps (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train pool, the crops and the initial weights")
    p.add_argument("--validate-every", type=int, default=100, help="steps between validation scores (default 100)")
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between saved states (default 50)")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="Adam's initial learning rate (default: the method's paper recipe, e.g. 1e-4); halved "
                        "at 50 %% and 75 %% of the steps all the same")
    p.add_argument("--transpose", action="store_true",
                   help="augment: swap x and y of a random half of the crops (input and target alike), so the "
                        "network learns that the optics are laterally isotropic; recorded in the model card")
    add_suite_option_argument(p)
    p.add_argument("--out", type=Path, default=None, help="output directory (default ./simbench-models/METHOD-CONFIG)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.cli.common import load_registry, parse_suite_options
    from simbench.errors import SimbenchError
    from simbench.learn import LearnedMethod
    from simbench.learn.data import training_suite
    from simbench.learn.train import TrainSettings, train

    registry = load_registry(args)
    method_cls = registry.method(args.method)
    if not issubclass(method_cls, LearnedMethod):
        raise SimbenchError(f"method {args.method!r} is not a learned method; nothing to train")
    if method_cls.trained_name() != method_cls.name:
        raise SimbenchError(f"method {args.method!r} runs the weights of {method_cls.trained_name()!r}; "
                            f"train that: simbench train --method {method_cls.trained_name()} …")
    suite = training_suite(registry, args.suite, parse_suite_options(args.suite_opt))
    settings = TrainSettings(config=args.config, steps=args.steps, batch=args.batch, crop=args.crop, seed=args.seed,
                             pool=args.pool, validation=args.validation, stream=args.stream,
                             stream_every=args.stream_every, validate_every=args.validate_every,
                             checkpoint_every=args.checkpoint_every, device=args.device,
                             learning_rate=args.learning_rate, transpose=args.transpose,
                             command=shlex.join(["simbench", *sys.argv[1:]]))
    out = args.out or Path("simbench-models") / f"{args.method}-{args.config}"
    weights = train(method_cls, suite, settings, out, resume=args.resume, progress=not args.no_progress,
                    log=lambda line: print(line, file=sys.stderr))
    print(weights)
    return 0
