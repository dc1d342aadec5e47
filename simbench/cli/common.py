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


def current_hashes(registry: Registry) -> dict[tuple[str, str, int], str | None]:
    """(suite, size, seed) → content hash recorded in the suite's manifest, for staleness flags."""
    from simbench.harness.manifest import expected

    hashes: dict[tuple[str, str, int], str | None] = {}
    for suite in registry.suites.values():
        for size in suite.sizes:
            entry = expected(suite, size, suite.default_seed)
            hashes[(suite.name, size, suite.default_seed)] = entry.content_hash if entry else None
    return hashes
