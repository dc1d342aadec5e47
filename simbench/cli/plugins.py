"""``simbench plugins``: every discovered plugin and how loading it went."""
from __future__ import annotations

import argparse

HELP = """\
Show every entry point in the `simbench` group: its distribution and version,
whether it loaded, what it provides and, for a plugin that failed, the error.
A plugin that fails never stops the others (unless --strict-plugins).
Set SIMBENCH_DISABLE_PLUGIN_AUTOLOAD=1 to load only the built-in plugins.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="show installed plugins and load errors", description=HELP)
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from simbench.plugin.manager import PluginManager

    autoload = False if args.no_plugin_autoload else None
    registry = PluginManager(strict=args.strict_plugins, autoload=autoload).load()
    rows = [[p.name, p.distribution, p.version, "built-in" if p.builtin else "third-party", p.status,
             ", ".join(p.provides), p.error] for p in registry.plugins]
    print(tabulate(rows, headers=["plugin", "distribution", "version", "kind", "status", "provides", "error"]))
    return 0
