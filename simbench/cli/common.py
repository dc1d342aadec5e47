"""Helpers shared by subcommands."""
from __future__ import annotations

import argparse
import sys

from simbench.plugin.manager import PluginManager, Registry


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
