"""A stalled network (a server that accepts and never answers) ends the size check with a clear error, not never.

(File downloads go through hf_hub_download, which already times out each attempt and retries a few times.)"""
from __future__ import annotations

import threading

from aae_desktop.engine.models import download as download_module
from aae_desktop.engine.models.download import DownloadError, DownloadPlan, plan_download


def _outcome_within(seconds: float, fn) -> list:
    """Run fn on a daemon thread; return [exception or value] if it ended in time, [] if it is still stuck."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:  # noqa: BLE001 - the test inspects what it was
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome


def test_size_check_on_a_stalled_network_times_out(stalled_endpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "NETWORK_TIMEOUT_S", 0.5, raising=False)
    outcome = _outcome_within(30, lambda: plan_download("tester/tiny-sd", None, tmp_path, stalled_endpoint.endpoint))
    assert stalled_endpoint.accepted, "the request never reached the stalled server"
    assert outcome, "plan_download still waits on a server that never answers"
    assert isinstance(outcome[0], DownloadError)
    assert "did not answer" in str(outcome[0])


def test_control_an_answering_hub_is_not_cut_short(tmp_path, monkeypatch):
    """Control: the same timeout lets a server that answers at once through (see test_models_download's hub)."""
    from tests.engine.test_models_download import FakeHub, repo_files

    server = FakeHub(repo_files())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(download_module, "NETWORK_TIMEOUT_S", 0.5, raising=False)
        outcome = _outcome_within(30, lambda: plan_download("tester/tiny-sd", None, tmp_path, server.endpoint))
        assert outcome and isinstance(outcome[0], DownloadPlan)
    finally:
        server.shutdown()
        server.server_close()
