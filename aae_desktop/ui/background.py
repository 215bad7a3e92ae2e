"""Run a plain function on a thread pool and get its result back on the UI thread as a signal."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Relay(QObject):
    """Lives on the UI thread, so signals emitted from the pool arrive there (queued)."""

    succeeded = Signal(object)
    errored = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay):
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            value = self._fn()
        except Exception as exc:  # reported to the UI as a message, never raised on a pool thread
            self._relay.errored.emit(exc)
            return
        self._relay.succeeded.emit(value)


class Background(QObject):
    """A small pool for file work (saving, thumbnails, resync) that must not block the UI."""

    def __init__(self, threads: int = 1, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._relays: set[_Relay] = set()

    def call(self, fn: Callable[[], Any], done: Callable[[Any], None] | None = None,
             error: Callable[[Exception], None] | None = None) -> None:
        relay = _Relay(self)
        self._relays.add(relay)

        def finish() -> None:
            self._relays.discard(relay)
            relay.deleteLater()

        if done:
            relay.succeeded.connect(done)
        if error:
            relay.errored.connect(error)
        relay.succeeded.connect(finish)
        relay.errored.connect(finish)
        self.pool.start(_Task(fn, relay))

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until queued work ends (shutdown and tests only; the UI never calls this)."""
        return self.pool.waitForDone(msecs)
