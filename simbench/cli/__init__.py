"""The ``simbench`` command line: one module per subcommand.

Each subcommand module exposes ``register(subparsers)``; heavy imports happen
inside the command's function so ``simbench --help`` and ``simbench list``
stay fast and never import torch.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from simbench.cli import (
    cache,
    card,
    check,
    compare,
    curve,
    leaderboard,
    listing,
    manifest,
    measure,
    mock_run,
    plugins,
    reconstruct,
    report,
    results,
    run,
    score,
    simulate,
    train,
)
from simbench.errors import SimbenchError
from simbench.harness.allocator import keep_large_blocks

SUBCOMMANDS = (run, listing, leaderboard, compare, check, report, reconstruct, simulate, score, measure, mock_run,
               plugins, manifest, train, card, curve, results, cache)

DESCRIPTION = """\
Benchmark structured illumination microscopy (SIM) reconstruction methods.

Suites make samples (raw SIM frames + ground truth), methods (plugins)
reconstruct them, metrics score them, and results are ranked in leaderboards.

examples:
  simbench list                                   what methods, suites and metrics exist
  simbench run --method widefield --suite static  run a benchmark, print its leaderboard
  simbench run --method widefield,mymethod --suite static --size quick
  simbench leaderboard --suite static --format md
  simbench compare widefield wiener --suite static  paired significance tests
  simbench check --suite static --size quick      regression gate against leaderboards/results
  simbench results list                           stored records (older settings are kept)
  simbench cache info                             the cache of generated samples
  simbench plugins                                installed plugins and any that failed to load
  simbench train --method mlsim --suite static    train a learned method on the train pool
  simbench mock-run --method mymethod             check a method's contract in seconds
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line that names the problem (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("simbench")
    except PackageNotFoundError:
        ver = "unknown"
    parser = _Parser(prog="simbench", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"simbench {ver}")
    parser.add_argument("--strict-plugins", action="store_true", default=None,
                        help="fail when any plugin fails to load (also: SIMBENCH_STRICT_PLUGINS=1)")
    parser.add_argument("--no-plugin-autoload", action="store_true",
                        help="load only built-in plugins (also: SIMBENCH_DISABLE_PLUGIN_AUTOLOAD=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _report_warnings() -> None:
    """Warnings of the ``simbench`` logger (e.g. unreadable result files) as one stderr line each."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("simbench: warning: %(message)s"))
    logger = logging.getLogger("simbench")
    logger.handlers = [handler]
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    keep_large_blocks()
    _report_warnings()
    try:
        return int(args.func(args) or 0)
    except SimbenchError as exc:
        print(f"simbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (e.g. `| head`) has gone: nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so that the exit flush does not fail again
        return 0
    except KeyboardInterrupt:
        print("simbench: interrupted; finished work is saved — rerun the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
