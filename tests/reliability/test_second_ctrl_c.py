"""Case 7: the second Ctrl-C stops the CLI at once, even inside one long C call (a UNet call on a huge
latent runs for minutes in torch's C++ and never returns to Python, so a Python handler cannot act)."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from .conftest import ROOT

# Waits for the first Ctrl-C as a render would, then enters a C call that does not return to Python for
# minutes and never looks at signals: summing 10^12 ones in C (a stand-in for the UNet call).
_SCRIPT = textwrap.dedent("""
    import itertools, time
    from aae_desktop.cli.interrupts import stop_on_signals
    with stop_on_signals() as stop:
        print("ready", flush=True)
        while not stop.event.is_set():
            time.sleep(0.01)
        print("stopping", flush=True)
        sum(itertools.repeat(1, 10**12))
        print("the long call returned", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
def test_a_second_ctrl_c_stops_at_once_inside_a_long_call():
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "stopping"
        time.sleep(0.5)  # let it get into the long call (a real one lasts minutes)
        proc.send_signal(signal.SIGINT)  # the user does not want to wait for the step
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert proc.returncode in (-signal.SIGINT, 128 + signal.SIGINT), (proc.returncode, err)
    assert "Traceback" not in err, err
