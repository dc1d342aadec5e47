"""Helpers shared by subcommands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from simbench.plugin.manager import PluginManager, Registry

if TYPE_CHECKING:
    from simbench.harness.executors import Executor


def load_registry(args: argparse.Namespace) -> Registry:
    """Load plugins honouring ``--strict-plugins`` / ``--no-plugin-autoload`` (and their env vars)."""
    autoload = False if args.no_plugin_autoload else None
    registry = PluginManager(strict=args.strict_plugins, autoload=autoload).load()
    for record in registry.failures():
        warn(f"plugin {record.name!r} ({record.distribution} {record.version}) failed to load and is skipped: "
             f"{record.error}  [see `simbench plugins`]")
    return registry


def warn(message: str) -> None:
    print(f"simbench: warning: {message}", file=sys.stderr)


def current_hashes(registry: Registry) -> dict[tuple[str, str, int], frozenset[str] | None]:
    """(suite, size, seed) → the content hashes that count as the suite's current version (one per
    CPU kernel its manifest records: :func:`simbench.harness.manifest.content_hashes`), for
    staleness flags."""
    from simbench.harness.manifest import content_hashes

    return {(suite.name, size, suite.default_seed): content_hashes(suite, size, suite.default_seed)
            for suite in registry.suites.values() for size in suite.sizes}


def add_suite_option_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite-opt", action="append", default=[], metavar="NAME=VALUE",
                        help="set a suite option (repeatable; see `simbench list --suites -v`); "
                             "non-default options change the suite's content hash")


def add_metric_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", action="append", default=[], metavar="NAME",
                        help="also score this optional metric of the suite (repeatable or comma-separated; "
                             "`simbench list --suites -v` shows each suite's optional metrics). Repeat-based "
                             "metrics (frc, oob_repeat) need a second reconstruction of an independent noise "
                             "realisation of every sample: about twice the method's time")


def parse_metric_names(texts: list[str]) -> tuple[str, ...]:
    """``["frc,consistency", "oob_repeat"]`` → ``("frc", "consistency", "oob_repeat")``."""
    return tuple(name.strip() for text in texts for name in text.split(",") if name.strip())


def parse_suite_options(texts: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``."""
    from simbench.errors import SimbenchError

    options = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise SimbenchError(f"--suite-opt expects NAME=VALUE, got {text!r}")
        options[name.strip()] = value.strip()
    return options


SCALE_OUT = """\
execution: tasks (one sample and the methods that still need it) run in this
process by default, in N local worker processes with --workers N (auto: one per
core), or on a Dask cluster with --dask (local) or --scheduler tcp://HOST:PORT
(needs `pip install 'simbench[dask]'`); the results are the same. Generated
samples are kept in a cache (--cache DIR, default $SIMBENCH_CACHE or
~/.cache/simbench), so other methods and later runs read them instead of
generating them again; `simbench cache info|clear` shows and empties it."""


def add_execution_arguments(parser: argparse.ArgumentParser, default_workers: str | None = None) -> None:
    """``--workers``, ``--dask``, ``--scheduler``, ``--cache`` and ``--no-cache``."""
    group = parser.add_argument_group("execution")
    group.add_argument("--workers", default=default_workers, metavar="N|auto",
                       help="worker processes on this machine (auto: one per core; default: "
                            f"{default_workers or 'none, everything runs in this process'}); with --dask, the "
                            "local cluster's size")
    group.add_argument("--dask", action="store_true",
                       help="compute the tasks on a local Dask cluster (worker processes over TCP)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="compute the tasks on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786 "
                            "(its workers need simbench and the methods installed, and a shared --cache to "
                            "share samples)")
    group.add_argument("--cache", type=Path, default=None, metavar="DIR",
                       help="sample cache directory (default: $SIMBENCH_CACHE or ~/.cache/simbench)")
    group.add_argument("--no-cache", action="store_true", help="neither read nor write the sample cache")


def executor_from_args(args: argparse.Namespace) -> Executor:
    """The executor that the execution arguments ask for (close it after use)."""
    from simbench.harness.executors import make_executor

    return make_executor(args.workers, args.dask, args.scheduler)


def cache_from_args(args: argparse.Namespace) -> Path | None:
    """The sample cache root the execution arguments name (None with ``--no-cache``)."""
    from simbench.harness.cache import default_root

    return None if args.no_cache else (args.cache or default_root())
