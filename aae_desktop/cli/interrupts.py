"""Ctrl-C and SIGTERM during a CLI render: stop making images, keep the finished ones.

Python's default turns Ctrl-C into KeyboardInterrupt wherever the interpreter happens to be, which
could be halfway through saving an image. Here the first Ctrl-C (or a SIGTERM from a service
manager or `kill`) only sets the engine's cancel event: the run stops before its next UNet call,
and images already handed to the saver are on disk. A second Ctrl-C (or SIGTERM) stops at once, even
in the middle of a long C++ call.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class StopRequest:
    event: threading.Event = field(default_factory=threading.Event)
    signum: int | None = None  # what asked for the stop

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    stop = StopRequest()
    wanted = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])

    def handler(signum: int, _frame: object) -> None:
        stop.signum = signum
        stop.event.set()
        # The second signal ends the process at once, by the system's default action: a Python handler
        # runs only when the interpreter next runs Python, and one UNet call on a huge latent stays in
        # torch's C++ for minutes. Finished images are already on disk (written atomically).
        for number in wanted:
            signal.signal(number, signal.SIG_DFL)
        # Ctrl-C is a person at the terminal, who may press it again; SIGTERM is a program asking.
        again = b" (Ctrl-C again stops at once)" if signum == signal.SIGINT else b""
        try:  # a raw write: a signal handler must not wait on the locks of the progress bar or sys.stderr
            os.write(2, b"\naae-desktop: stopping after the current step; finished images are kept" + again + b".\n")
        except OSError:
            pass

    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live on the main thread
        for signum in wanted:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
