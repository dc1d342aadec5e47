"""Names that become file names (methods, suites, ``--name``) checked against a safe pattern,
so that nothing is ever written outside the results folder."""
from __future__ import annotations

import re

from simbench.errors import SimbenchError

#: one path component: starts with a letter or digit, then letters, digits, ``.``, ``_``, ``-``
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_NAME = re.compile(_PART)
#: suites may be grouped: ``axial/chromatin``
_SUITE = re.compile(rf"{_PART}(/{_PART})?")
RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters"


def _check(kind: str, name: object, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(name, str) or not pattern.fullmatch(name) or ".." in name:
        raise SimbenchError(f"{kind} name {name!r} is not a safe file name: use {rule}")
    return name


def check_name(kind: str, name: object) -> str:
    """``name`` if it is a safe single file name; else a one-line error saying what is allowed."""
    return _check(kind, name, _NAME, RULE)


def check_suite_name(name: object) -> str:
    """``name`` if it is a safe suite name (one or two safe parts joined by ``/``)."""
    return _check("suite", name, _SUITE, RULE + " (a group and a member joined by '/')")
