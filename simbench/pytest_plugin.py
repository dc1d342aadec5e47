"""pytest plugin for method authors (loaded automatically through the ``pytest11`` entry point).

Fixtures:

* ``simbench_contract``: call it with your method class; the test fails with the
  contract report of :func:`simbench.testing.check_method` (what ``simbench
  mock-run`` prints) when any check fails.
* ``simbench_mock_sample``: a small synthetic 2D SIM :class:`simbench.Sample`
  (``.raw`` for your method, ``.target`` to compare with) for your own tests.

    def test_contract(simbench_contract):
        simbench_contract(MyMethod)
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from simbench.method import Method
from simbench.types import Sample


@pytest.fixture
def simbench_contract() -> Callable[[type[Method]], None]:
    """``simbench_contract(MyMethod)``: fail the test with the report if the contract is broken."""
    from simbench.testing import check_method, failed

    def check(cls: type[Method]) -> None:
        checks = check_method(cls)
        if failed(checks):
            report = "\n".join(c.describe() for c in checks)
            pytest.fail(f"{getattr(cls, 'name', cls.__name__)} breaks the simbench method contract:\n{report}",
                        pytrace=False)

    return check


@pytest.fixture
def simbench_mock_sample() -> Sample:
    """A small synthetic 2D SIM sample (128² raw frames, 256² target)."""
    from simbench.testing import mock_sample

    return mock_sample()
