"""The line protocol between the engine and the plugin.

Every protocol line goes to stdout as ``@soilp `` followed by one JSON object (see
docs/ARCHITECTURE.md). Anything else printed by libraries is passed to the Processing log as is.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

PREFIX = "@soilp "


class Reporter:
    """Writes progress, messages, layers to load and results for the plugin.

    ``progress`` takes a fraction 0–1 of the reporter's own range; ``sub(start, stop)`` gives a
    reporter whose 0–1 maps onto ``start``–``stop`` of this one, so nested work reports on one
    scale. Progress lines are rate-limited (and never go backwards) to keep the pipe quiet.
    """

    def __init__(self, stream: TextIO | None = None, start: float = 0.0, stop: float = 1.0,
                 _root: Reporter | None = None, min_interval: float = 0.2):
        self._stream = stream
        self._start = start
        self._stop = stop
        self._root = _root or self
        if _root is None:
            self._last_percent = -1.0
            self._last_time = 0.0
            self._min_interval = min_interval

    @property
    def stream(self) -> TextIO:
        return self._root._stream or sys.stdout

    def _emit(self, message: dict[str, Any]) -> None:
        stream = self.stream
        stream.write(PREFIX + json.dumps(message, default=str) + "\n")
        stream.flush()

    def progress(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        percent = 100.0 * (self._start + fraction * (self._stop - self._start))
        root = self._root
        now = time.monotonic()
        if percent <= root._last_percent:
            return
        if percent < 100.0 and now - root._last_time < root._min_interval:
            return
        root._last_percent = percent
        root._last_time = now
        self._emit({"progress": round(percent, 2)})

    def sub(self, start: float, stop: float) -> Reporter:
        span = self._stop - self._start
        return Reporter(start=self._start + start * span, stop=self._start + stop * span,
                        _root=self._root)

    def info(self, text: str) -> None:
        self._emit({"info": str(text)})

    def warning(self, text: str) -> None:
        self._emit({"warning": str(text)})

    def debug(self, text: str) -> None:
        """A detail for the debug log (GDAL's own messages); not shown as a warning."""
        self._emit({"debug": " ".join(str(text).split())})

    def load(self, path: str, name: str) -> None:
        """Ask the plugin to load ``path`` (with its sidecar style) as ``name`` at the end."""
        self._emit({"load": {"path": str(path), "name": str(name)}})

    def result(self, results: dict[str, Any]) -> None:
        self._emit({"result": results})

    def error(self, reason: str) -> None:
        self._emit({"error": " ".join(str(reason).split())})


class SilentReporter(Reporter):
    """A reporter that drops everything: for library use and tests."""

    def _emit(self, message: dict[str, Any]) -> None:  # noqa: D401 - nothing to write
        return None

    def sub(self, start: float, stop: float) -> Reporter:
        return self
