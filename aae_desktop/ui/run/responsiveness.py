"""Measures how smoothly the UI thread runs: a fine timer's gaps, and which events the UI thread
spent its time in. Used by benchmarks/ui_responsiveness.py and the responsiveness test."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, QTimer

UI_THREAD = threading.get_ident()  # this module is imported on the UI thread, before any worker starts


@dataclass
class GapReport:
    gaps_s: list[float]
    handlers: dict[str, tuple[int, float]] = field(default_factory=dict)  # what -> (count, seconds)
    long_gaps: list[tuple[float, list[tuple[str, float]]]] = field(default_factory=list)

    def worst_ms(self) -> float:
        return max(self.gaps_s, default=0.0) * 1000

    def percentile_ms(self, p: float) -> float:
        if not self.gaps_s:
            return 0.0
        ordered = sorted(self.gaps_s)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000

    def count_over(self, ms: float) -> int:
        return sum(g * 1000 > ms for g in self.gaps_s)


class GapMeter(QObject):
    """A precise timer on the UI thread; a gap is the time between two of its ticks (ideally the
    interval). With `events` on, every UI-thread event slower than 2 ms is timed too (through
    QApplication.notify, so install before the run)."""

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []
        self.events: list[tuple[float, float, str]] = []  # (start, seconds, what)

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> GapReport:
        self.timer.stop()
        gaps = [b - a for a, b in zip(self.ticks, self.ticks[1:])]
        totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for _start, seconds, what in self.events:
            totals[what][0] += 1
            totals[what][1] += seconds
        long_gaps = []
        for a, b in zip(self.ticks, self.ticks[1:]):
            if b - a > 0.05:
                inside = [(what, s) for start, s, what in self.events if start < b and start + s > a]
                long_gaps.append((b - a, inside))
        long_gaps.sort(key=lambda item: -item[0])
        return GapReport(gaps, {k: (int(v[0]), v[1]) for k, v in totals.items()}, long_gaps)

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def record_event(self, started: float, seconds: float, what: str) -> None:
        if seconds > 0.002 and self.timer.isActive():
            self.events.append((started, seconds, what))


def timing_application_class(base: type) -> type:
    """A QApplication subclass whose notify() reports UI-thread events to `meter` (set later)."""

    class TimingApplication(base):  # type: ignore[misc, valid-type]
        meter: GapMeter | None = None

        def notify(self, receiver, event):  # noqa: N802 (Qt naming)
            meter = self.meter
            if meter is None or threading.get_ident() != UI_THREAD:
                return super().notify(receiver, event)
            kind, receiver_class = event.type(), type(receiver).__name__  # either may be gone afterwards
            started = time.perf_counter()
            handled = super().notify(receiver, event)
            seconds = time.perf_counter() - started
            if seconds > 0.002:
                try:
                    name = receiver.objectName() if isinstance(receiver, QObject) else ""
                except RuntimeError:  # deleted while handling the event (deleteLater)
                    name = ""
                # getattr kept: `kind` is Qt's event type, not the engine. The fallback is for a PySide6
                # that gives a bare int for a type it has no name for (6.11 gives an enum member even
                # then; 6.6, the oldest allowed, was not checked).
                kind_name = getattr(kind, "name", str(kind))
                meter.record_event(started, seconds, f"{kind_name} -> {receiver_class}" + (f" '{name}'" if name else ""))
            return handled

    return TimingApplication
