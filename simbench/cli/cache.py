"""``simbench cache``: show or empty the sample cache."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """\
Generated samples are kept in a cache directory so that every method, and every
later run, reads a suite's samples instead of generating them again. Each
sample is checked against its digest when read; a file that does not match is
generated again. The directory is --cache DIR, else $SIMBENCH_CACHE, else
$XDG_CACHE_HOME/simbench (~/.cache/simbench). Clear it after editing a suite's
code without bumping the suite's version.

examples:
  simbench cache info
  simbench cache clear --suite axial/chromatin
  simbench cache clear
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="show or empty the sample cache", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("info", "clear"), help="info: list what is cached; clear: delete it")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache directory (default: $SIMBENCH_CACHE or ~/.cache/simbench)")
    p.add_argument("--suite", "-s", default=None, help="clear only this suite's samples")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.harness import cache

    root = args.cache or cache.default_root()
    if args.action == "clear":
        freed = cache.clear(root, args.suite)
        print(f"cleared {freed / 1e6:.1f} MB from {root}" + (f" (suite {args.suite})" if args.suite else ""))
        return 0
    found = cache.entries(root)
    print(f"sample cache: {root}")
    if not found:
        print("  (empty)")
        return 0
    from tabulate import tabulate

    rows = [(e.suite, e.key, e.samples, f"{e.bytes / 1e6:.1f}") for e in found]
    rows.append(("total", "", sum(e.samples for e in found), f"{sum(e.bytes for e in found) / 1e6:.1f}"))
    sys.stdout.write(tabulate(rows, headers=("suite", "key", "samples", "MB")) + "\n")
    return 0
