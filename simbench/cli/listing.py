"""``simbench list``: the methods, suites and metrics that are installed."""
from __future__ import annotations

import argparse

HELP = """\
List what the installed plugins provide. Without a filter, lists everything.
Never imports torch or a method's heavy modules: methods are listed from
their classes, without being instantiated.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list methods, suites and metrics", description=HELP)
    p.add_argument("--methods", action="store_true", help="only methods")
    p.add_argument("--suites", action="store_true", help="only suites")
    p.add_argument("--metrics", action="store_true", help="only metrics")
    p.add_argument("-v", "--verbose", action="store_true", help="descriptions and origins")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from simbench.cli.common import load_registry

    registry = load_registry(args)
    everything = not (args.methods or args.suites or args.metrics)
    sections = []
    if everything or args.methods:
        rows = []
        for name, cls in sorted(registry.methods.items()):
            origin = registry.origin[("method", name)]
            row = [name, ", ".join(cls.modalities), f"{origin.distribution} {origin.version}"]
            rows.append(row + [cls.description] if args.verbose else row)
        headers = ["method", "modalities", "from"] + (["description"] if args.verbose else [])
        sections.append(tabulate(rows, headers=headers))
    if everything or args.suites:
        rows = []
        for name, suite in sorted(registry.suites.items()):
            sizes = ", ".join(f"{k}={v}" for k, v in suite.sizes.items())
            row = [name, suite.version, sizes, suite.modality, ", ".join(suite.primary_metrics)]
            if args.verbose:
                options = "; ".join(f"{o.name} (default {o.default!r}): {o.help}" for o in suite.options)
                row += [suite.description, options or "-"]
            rows.append(row)
        headers = ["suite", "version", "sizes (samples)", "modality", "ranked by (primary metrics)"] + (
            ["description", "options (--suite-opt NAME=VALUE)"] if args.verbose else [])
        sections.append(tabulate(rows, headers=headers))
    if everything or args.metrics:
        rows = []
        for name, metric in sorted(registry.metrics.items()):
            row = [name, f"{metric.arrow} {metric.direction}", metric.unit]
            rows.append(row + [metric.description] if args.verbose else row)
        headers = ["metric", "better", "unit"] + (["description"] if args.verbose else [])
        sections.append(tabulate(rows, headers=headers))
    print("\n\n".join(sections))
    return 0
