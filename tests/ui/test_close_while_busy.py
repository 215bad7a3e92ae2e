"""Close each dialog and panel while its background work is still running: it closes at once, and the
work's late result, arriving after the widget is gone, neither crashes the process nor raises (issue 19 §1).

Each test holds the work on a gate, closes and deletes the widget, then opens the gate and waits until
every late result has been handed over on the UI thread. pytest-qt fails a test on an exception in a
slot; a crash (emitting on a deleted object) ends the run with faulthandler naming the test.
"""
from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import fake_result, isolate_dirs, make_store, sample_request  # noqa: E402

from aae_desktop.ui import background  # noqa: E402

# The dialogs used to wait 5 s (cache scans) or 30 s (downloads) for their thread when closed;
# "at once" is milliseconds. The margin either way leaves no room for timing luck.
AT_ONCE_S = 2.5
TIMEOUT = 15_000


class Gate:
    """Replaces a background function: it blocks until opened, then does the real work."""

    def __init__(self, real):
        self.real, self.entered, self.opened = real, threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        self.entered.set()
        self.opened.wait(60)
        return self.real(*args, **kwargs)


def _close_delete_then_release(qtbot, widget, gate, *backgrounds):
    qtbot.waitUntil(gate.entered.is_set, timeout=TIMEOUT)  # the work is running now
    started = time.perf_counter()
    widget.close()
    closed_in = time.perf_counter() - started
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the widget (and its children) are gone
    gate.opened.set()
    for work in backgrounds:
        assert work.wait(TIMEOUT), "the background work never ended"
    # Every late result has reached the UI thread and been dropped there.
    qtbot.waitUntil(lambda: not getattr(background, "_PENDING", ()), timeout=TIMEOUT)
    assert closed_in < AT_ONCE_S, f"closing waited {closed_in:.1f} s for the background work"


def test_cache_picker_closed_during_its_scan(qtbot, tmp_path, monkeypatch):
    from aae_desktop.ui.models import model_cache_dialog

    gate = Gate(model_cache_dialog.list_cached_models)
    monkeypatch.setattr(model_cache_dialog, "list_cached_models", gate)
    dialog = model_cache_dialog.CachePickerDialog(cache_dir=str(tmp_path / "hub"))
    dialog.show()
    _close_delete_then_release(qtbot, dialog, gate, dialog._background)


def test_first_run_dialog_closed_during_its_cache_scan(qtbot, tmp_path, monkeypatch):
    from aae_desktop.ui.models import model_dialog

    gate = Gate(model_dialog.list_cached_models)
    monkeypatch.setattr(model_dialog, "list_cached_models", gate)
    dialog = model_dialog.FirstRunDialog(None, str(tmp_path / "hub"))
    dialog.show()
    _close_delete_then_release(qtbot, dialog, gate, dialog._background)


def test_download_dialog_closed_during_its_size_check(qtbot, tmp_path, monkeypatch):
    from aae_desktop.ui.models import model_download_dialog

    gate = Gate(lambda *args: (_ for _ in ()).throw(RuntimeError("late failure")))  # the late result is an error
    monkeypatch.setattr(model_download_dialog, "plan_download", gate)
    dialog = model_download_dialog.DownloadDialog(cache_dir=str(tmp_path / "hub"))
    dialog.show()
    dialog.check_button.click()
    _close_delete_then_release(qtbot, dialog, gate, dialog._background)


def test_download_dialog_closed_during_a_download(qtbot, tmp_path):
    """A real download from the local fake Hub, its big file held back: progress and the end come late."""
    from tests.engine.test_models_download import REPO, FakeHub, repo_files

    from aae_desktop.ui.models.model_download_dialog import DownloadDialog

    hub = FakeHub(repo_files())
    served = threading.Thread(target=hub.serve_forever, daemon=True)
    served.start()
    try:
        dialog = DownloadDialog(cache_dir=str(tmp_path / "hub"), endpoint=hub.endpoint)
        dialog.show()
        dialog.repo_combo.setEditText(REPO)
        with qtbot.waitSignal(dialog.planned, timeout=TIMEOUT):
            dialog.check_button.click()
        held = hub.gates["unet/diffusion_pytorch_model.safetensors"] = threading.Event()
        gate = Gate(lambda: None)
        gate.opened = held
        dialog.download_button.click()
        qtbot.waitUntil(lambda: any(name.startswith("unet/diffusion") for _, name, _ in hub.log), timeout=TIMEOUT)
        gate.entered.set()
        _close_delete_then_release(qtbot, dialog, gate, dialog._background)
    finally:
        for held in hub.gates.values():
            held.set()
        hub.shutdown()
        hub.server_close()


@pytest.fixture
def gallery(qtbot, tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)
    store = make_store(tmp_path)
    store.save_result(fake_result(sample_request(), n=2), when=datetime(2026, 5, 1, 9, 0, 0))
    return store


def test_gallery_closed_during_its_resync(qtbot, gallery, tmp_path, monkeypatch):
    from aae_desktop.ui.gallery.gallery_view import GalleryView

    gate = Gate(gallery.resync)
    monkeypatch.setattr(gallery, "resync", gate)
    view = GalleryView(gallery, thumbnail_cache=tmp_path / "thumbs")
    view.show()
    view.start()
    _close_delete_then_release(qtbot, view, gate, view.background, view.thumbnails.background)


def test_gallery_closed_while_saving(qtbot, gallery, tmp_path, monkeypatch):
    from aae_desktop.ui.gallery.gallery_view import GalleryView

    view = GalleryView(gallery, thumbnail_cache=tmp_path / "thumbs")
    view.show()
    gate = Gate(gallery.save_result)
    monkeypatch.setattr(gallery, "save_result", gate)
    view.save_result(fake_result(sample_request(prompt="a late fox", seed=9)))
    _close_delete_then_release(qtbot, view, gate, view.background, view.thumbnails.background)
    assert len(list(gallery.root.rglob("*.png"))) == 3, "the image being saved was lost"


def test_thumbnails_closed_while_being_made(qtbot, gallery, tmp_path, monkeypatch):
    from aae_desktop.ui.gallery import thumbnails
    from aae_desktop.ui.gallery.gallery_view import GalleryView

    gate = Gate(thumbnails.make_thumbnail)
    monkeypatch.setattr(thumbnails, "make_thumbnail", gate)
    view = GalleryView(gallery, thumbnail_cache=tmp_path / "thumbs")
    view.show()
    view.start()
    _close_delete_then_release(qtbot, view, gate, view.background, view.thumbnails.background)


def test_lora_panel_closed_during_its_folder_scan(qtbot, make_window, monkeypatch):
    from aae_desktop.ui.prompt import addons_panel

    window = make_window()
    gate = Gate(addons_panel.scan_folders)
    monkeypatch.setattr(addons_panel, "scan_folders", gate)
    panel = window.addons
    panel.rescan()
    work = panel._background
    panel.setParent(None)  # the panel alone goes, the window stays
    _close_delete_then_release(qtbot, panel, gate, work)
