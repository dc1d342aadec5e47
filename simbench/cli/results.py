"""``simbench results``: list, prune and migrate the records of a results folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simbench.harness.results import Scan

HELP = """\
Manage a results folder. Each (method, suite, configuration) has its own record,
RESULTS/<suite>/<method>/<label>-<identity>/, with one file per finished sample;
a run with other settings (method version or weights, suite version or content,
seed, options, metric configuration) adds a new record and never replaces one.
Tables show the newest record per (suite, method, label); the older ones are
kept until you prune them.

  list      every record: label, samples scored, created, shown or older; and the
            files that cannot be read
  prune     delete the older records (those a newer one with the same suite,
            method and label hides); --dry-run shows what would go
  migrate   move results files of earlier simbench versions (RESULTS/<suite>/<method>.json)
            into records, checking every value, and rename each file to *.json.migrated

examples:
  simbench results list --suite static
  simbench results prune --dry-run
  simbench results migrate --results leaderboards/results
"""


def register(sub: argparse._SubParsersAction) -> None:
    from simbench.harness.results import DEFAULT_RESULTS_DIR, ENV_RESULTS

    p = sub.add_parser("results", help="list, prune or migrate stored results", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("list", "prune", "migrate"), help="what to do")
    p.add_argument("--results", type=Path, default=None,
                   help=f"results directory (default: ${ENV_RESULTS} or ./{DEFAULT_RESULTS_DIR})")
    p.add_argument("--suite", "-s", default=None, help="only this suite or suite group (list, prune)")
    p.add_argument("--dry-run", action="store_true", help="prune, migrate: say what would be done, do nothing")
    p.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    from simbench.errors import SimbenchError
    from simbench.harness.results import default_results_dir

    results = args.results or default_results_dir()
    if not results.is_dir():
        raise SimbenchError(f"results directory {results} does not exist")
    if args.action == "migrate":
        from simbench.harness.migrate import migrate

        lines = migrate(results, dry_run=args.dry_run)
        print("\n".join(lines) if lines else f"nothing to migrate under {results}")
        return 0
    from simbench.harness.results import scan

    found = scan(results, args.suite)
    for problem in found.problems:
        print(f"unreadable: {problem}", file=sys.stderr)
    return _list(found) if args.action == "list" else _prune(found, args.dry_run)


def _list(found: Scan) -> int:
    from tabulate import tabulate

    shown = {id(r) for r in found.current()}
    rows = [[r.data["suite"], r.data["method"], r.key, r.data.get("method_version"),
             f"{sum(row['status'] == 'ok' for row in r.samples.values())}/{r.data['n_samples']}",
             str(r.data.get("created", "")), "shown" if id(r) in shown else "older", str(r.path)]
            for r in found.records]
    print(tabulate(rows, headers=["suite", "method", "label", "version", "ok", "created", "table", "path"],
                   disable_numparse=True) if rows else "no records")
    return 0


def _prune(found: Scan, dry_run: bool) -> int:
    import shutil

    older = found.older()
    shown_files = {r.path for r in found.current() if r.legacy}
    for record in older:
        if record.path in shown_files:
            print(f"kept {record.path} [{record.key}]: its file also holds shown records (run `simbench results "
                  "migrate` first to prune it alone)")
            continue
        print(f"{'would delete' if dry_run else 'deleted'} {record.path} [{record.key}], created "
              f"{record.data.get('created')}, {len(record.samples)} sample(s)")
        if not dry_run:
            if record.legacy:
                record.path.unlink(missing_ok=True)
            else:
                shutil.rmtree(record.path)
    if not older:
        print("nothing to prune: no record is hidden by a newer one")
    return 0
