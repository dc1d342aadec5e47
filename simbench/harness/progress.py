"""Progress of long work on stderr: a live bar on a terminal, a plain line every few seconds otherwise
(piped output, CI logs, batch jobs), so that progress is visible wherever stderr goes."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

#: seconds between progress lines when stderr is not a terminal
LINE_EVERY_S = 5.0


class LineProgress:
    """The part of tqdm's interface the harness uses, writing ``DESC: done/total (pct) elapsed, eta``
    lines at most every ``every_s`` seconds, and a last one when closed."""

    def __init__(self, total: int, desc: str, stream: TextIO, every_s: float = LINE_EVERY_S) -> None:
        self.total, self.desc, self.stream, self.every_s = total, desc, stream, every_s
        self.n = 0
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.every_s:
            self._line()

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        """(no-op: a line log shows counts only)"""

    def _line(self) -> None:
        self.last = time.monotonic()
        elapsed = self.last - self.start
        pct = 100.0 * self.n / self.total if self.total else 100.0
        eta = f", eta {elapsed / self.n * (self.total - self.n):.0f} s" if 0 < self.n < self.total else ""
        print(f"{self.desc}: {self.n}/{self.total} tasks ({pct:.0f} %), {elapsed:.0f} s{eta}", file=self.stream,
              flush=True)

    def close(self) -> None:
        if self.total:
            self._line()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(total: int, desc: str, enabled: bool, stream: TextIO | None = None) -> Any:
    """A tqdm bar when ``stream`` (default stderr) is a terminal, else a :class:`LineProgress`;
    a disabled tqdm bar when not ``enabled``."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    if enabled and not stream.isatty():
        return LineProgress(total, desc, stream)
    return tqdm(total=total, desc=desc, unit="task", disable=not enabled, dynamic_ncols=True, file=stream)
