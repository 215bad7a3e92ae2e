"""Run a plain function on a background thread and get its result back on the UI thread as a signal.

The threads are Python daemon threads that no widget owns, so:
- closing a dialog or panel never waits for its work (a call stuck on a stalled network included);
- such a call cannot keep the process alive once the window has closed;
- a thread never emits on an object its owner deleted: each call's relay is kept alive here until its
  result has reached the UI thread, and the result is dropped there if the owner was closed meanwhile.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

# Relays whose result has not reached the UI thread yet. Held here, not by their owner, so that a
# closing dialog cannot delete one while a thread is still emitting on it.
_PENDING: set["_Relay"] = set()


class _Owner:
    """What a relay needs to know about its Background, in plain Python (readable after the Qt object is gone)."""

    def __init__(self) -> None:
        self.alive = True
        self.generation = 0

    def destroyed(self, *_: object) -> None:
        self.alive = False


class _Relay(QObject):
    """One call's messenger. Parentless and created on the UI thread, so emits from the thread queue over."""

    progressed = Signal(object)
    succeeded = Signal(object)
    errored = Signal(object)

    def __init__(self, owner: _Owner, generation: int, done, error, progress):
        super().__init__()
        self._owner, self._generation = owner, generation
        self._done, self._error, self._progress = done, error, progress
        self.progressed.connect(self._deliver_progress)
        self.succeeded.connect(self._deliver_success)
        self.errored.connect(self._deliver_error)

    def _owner_listening(self) -> bool:
        return self._owner.alive and self._owner.generation == self._generation

    @Slot(object)
    def _deliver_progress(self, value: Any) -> None:
        if self._progress and self._owner_listening():
            self._progress(value)

    @Slot(object)
    def _deliver_success(self, value: Any) -> None:
        self._end(self._done, value)

    @Slot(object)
    def _deliver_error(self, exc: Any) -> None:
        self._end(self._error, exc)

    def _end(self, callback, value: Any) -> None:
        listening = self._owner_listening()
        self.dispose()
        if callback and listening:
            callback(value)

    def dispose(self) -> None:
        _PENDING.discard(self)
        self._done = self._error = self._progress = None
        self.deleteLater()


class Background(QObject):
    """A few threads for file and network work (saving, thumbnails, scans, downloads) that must not block the UI.

    Calls run in order, at most `threads` at a time. `abandon()` (a closing dialog) drops what has not
    started and every result still to come; what is running finishes or fails on its own, unattended.
    """

    def __init__(self, threads: int = 1, parent: QObject | None = None):
        super().__init__(parent)
        self._threads = max(1, threads)
        self._owner = _Owner()
        self.destroyed.connect(self._owner.destroyed)  # a plain object's method: safe to call while we die
        self._lock = threading.Condition()
        self._queue: deque[tuple[Callable[[_Relay], None], _Relay]] = deque()
        self._running = 0  # threads draining the queue
        self._unfinished = 0  # calls queued or running

    def call(self, fn: Callable[[], Any], done: Callable[[Any], None] | None = None,
             error: Callable[[Exception], None] | None = None) -> None:
        """Run fn() on a thread; done(value) or error(exception) is then called on the UI thread."""
        self._start(lambda relay: fn(), done, error, None)

    def call_with_progress(self, fn: Callable[[Callable[[Any], None]], Any], progress: Callable[[Any], None],
                           done: Callable[[Any], None] | None = None,
                           error: Callable[[Exception], None] | None = None) -> None:
        """Like call(), but fn(report) may call report(value) from its thread; progress(value) runs on the UI thread."""
        self._start(lambda relay: fn(relay.progressed.emit), done, error, progress)

    def abandon(self) -> None:
        """Forget everything: queued calls never start, running ones report to nobody. Never waits."""
        self._owner.generation += 1
        with self._lock:
            dropped = list(self._queue)
            self._queue.clear()
            self._unfinished -= len(dropped)
            self._lock.notify_all()
        for _, relay in dropped:
            relay.dispose()

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the calls end (shutdown flushes and tests only; a closing dialog abandons instead)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._unfinished == 0, msecs / 1000)

    # -- threads ---------------------------------------------------------------------------------
    def _start(self, body: Callable[[_Relay], Any], done, error, progress) -> None:
        relay = _Relay(self._owner, self._owner.generation, done, error, progress)
        _PENDING.add(relay)
        with self._lock:
            self._queue.append((body, relay))
            self._unfinished += 1
            if self._running >= self._threads:
                return
            self._running += 1
        threading.Thread(target=self._drain, name="aae-background", daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._running -= 1
                    return
                body, relay = self._queue.popleft()
            try:
                value = body(relay)
            except Exception as exc:  # reported to the UI as a message, never raised on a thread
                relay.errored.emit(exc)
            else:
                relay.succeeded.emit(value)
            with self._lock:
                self._unfinished -= 1
                self._lock.notify_all()
