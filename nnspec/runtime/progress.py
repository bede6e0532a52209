"""A progress bar on stderr for runs longer than about a second, when stderr is a terminal.

tqdm draws it when installed (``pip install tqdm``); otherwise a line of our
own, redrawn with a carriage return. Nothing is drawn when the stream is not a terminal
(a log file, a pipe, CI), nor for a run that ends within the delay. A run on a Dask cluster adds how
many of its workers are busy with the run (nnspec.runtime.executor.ShowsWorkers).
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from ..core.numbers import format_share

DELAY = 1.0  # seconds before a bar appears: short runs stay silent
_REDRAW = 0.1  # seconds between redraws of the plain line


class Progress:
    """Called as ``progress(done, total)`` after each batch (nnspec.run's ``progress``); ``close()`` at the end."""

    def __init__(self, stream: TextIO, delay: float = DELAY, use_tqdm: bool = True) -> None:
        self.stream, self.delay, self.use_tqdm = stream, delay, use_tqdm
        self.started = time.monotonic()
        self.enabled = _is_terminal(stream)
        self._bar: Any = None
        self._workers = ""  # "2 of 3 workers busy", in a distributed run

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = self._make(total)
        if self._workers:
            self._show(self._workers)
        self._bar.update(done - self._bar.n)
        if done >= total and hasattr(self._bar, "refresh") and time.monotonic() - self.started >= self.delay:
            self._bar.refresh()  # tqdm skips updates within its interval: show the end

    def workers(self, busy: int, total: int) -> None:
        """Of the cluster's ``total`` workers, ``busy`` have a batch of the run: shown after the rate from the next
        update on (a distributed executor says so now and then: nnspec.runtime.distributed)."""
        self._workers = f"{busy:,} of {total:,} worker{'s' * (total != 1)} busy"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _show(self, text: str) -> None:
        if isinstance(self._bar, LineBar):
            self._bar.suffix = text
        else:  # tqdm's
            self._bar.set_postfix_str(text, refresh=False)

    def _make(self, total: int) -> Any:
        delay = max(0.0, self.delay - (time.monotonic() - self.started))
        if self.use_tqdm:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                return tqdm(total=total, unit="sample", unit_scale=True, delay=delay, file=self.stream, leave=False)
        return LineBar(total, self.stream, delay)


class LineBar:
    """``  1,024/10,000 samples  10%  2,048 samples/s  4 s left``, redrawn in place, erased at the end; then
    ``suffix`` where one is set (``2 of 2 workers busy``).

    The rate is measured from the first update: the bar is made when the first batch is done, and the samples
    of that batch, made before, would make it look as if they had taken no time."""

    def __init__(self, total: int, stream: TextIO, delay: float = DELAY) -> None:
        self.total, self.stream, self.delay = total, stream, delay
        self.n = 0
        self.started = time.monotonic()
        self.suffix = ""
        self._first: tuple[int, float] | None = None  # the samples at the first update, and when
        self._drawn_at: float | None = None
        self._width = 0

    def update(self, count: int) -> None:
        self.n += count
        now = time.monotonic()
        if self._first is None:
            self._first = (self.n, now)
        elapsed = now - self.started
        recent = self._drawn_at is not None and now - self._drawn_at < _REDRAW
        if elapsed < self.delay or (recent and self.n < self.total):  # the last update is always drawn
            return
        since, then = self._first
        rate = (self.n - since) / (now - then) if now > then else 0.0
        speed = f"  {rate:,.0f} samples/s  {(self.total - self.n) / rate:.0f} s left" if rate > 0 else ""
        line = f"{self.n:,}/{self.total:,} samples  {format_share(self.n, self.total):>4}{speed}"
        line += f"  {self.suffix}" if self.suffix else ""
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width, self._drawn_at = len(line), now

    def close(self) -> None:
        if self._drawn_at is not None:  # erase the line: the report follows on a clean terminal
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
