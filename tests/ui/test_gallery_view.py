"""The gallery panel: listing, thumbnails off the UI thread, search/filter, star, restore, delete, autosave."""
from __future__ import annotations

import sys

from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import fake_result, isolate_dirs, make_store, sample_request  # noqa: E402

from aae_desktop.ui.gallery.gallery_model import EntryRole  # noqa: E402
from aae_desktop.ui.gallery.gallery_view import GalleryView  # noqa: E402

TIMEOUT = 10_000


@pytest.fixture
def view(qtbot, tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)
    store = make_store(tmp_path)
    store.save_result(fake_result(sample_request(), n=2), when=datetime(2026, 5, 1, 9, 0, 0))
    store.save_result(fake_result(sample_request(prompt="a red fox in the snow", seed=7, model="fox-model")),
                      when=datetime(2026, 5, 2, 9, 0, 0))
    w = GalleryView(store, thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(w)
    w.start()
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=TIMEOUT)
    assert w.background.wait()  # the start-up resync is done before the test changes files
    yield w
    w.background.wait()
    w.thumbnails.background.wait()


def select_seed(view, seed):
    for row in range(view.model.rowCount()):
        if view.model.entry(row).seed == seed:
            view.list.setCurrentIndex(view.model.index(row))
            return view.model.entry(row)
    raise AssertionError(f"seed {seed} not listed")


def test_lists_newest_first_with_thumbnails(qtbot, view):
    assert view.objectName() == "galleryView"
    assert view.model.entry(0).seed == 7  # saved last
    entry = view.model.entry(0)
    view.model.data(view.model.index(0), 1)  # DecorationRole asks for the thumbnail
    qtbot.waitUntil(lambda: view.thumbnails.get(entry.path, entry.mtime_ns) is not None, timeout=TIMEOUT)
    pixmap = view.thumbnails.get(entry.path, entry.mtime_ns)
    assert max(pixmap.width(), pixmap.height()) <= 160 and not pixmap.isNull()
    assert any(p.suffix == ".png" for p in (view.thumbnails._cache_folder).iterdir())  # disk cache


def test_use_all_settings_and_reuse_seed(qtbot, view):
    entry = select_seed(view, 6142)
    assert "Seed: 6142" in view.details.toPlainText()
    with qtbot.waitSignal(view.restore_requested, timeout=TIMEOUT) as restored:
        view.use_all.click()
    # An image records the schedule it ran with as numbers, so the restore runs exactly that schedule.
    assert restored.args[0] == sample_request().for_image(1).resolved()
    assert restored.args[0].excite.thresholds == ((0, 0.05), (2, 0.5), (5, 0.8))
    assert restored.args[0].excite.token_indices == (2, 5)
    with qtbot.waitSignal(view.seed_requested, timeout=TIMEOUT) as seed:
        view.reuse_seed.click()
    assert seed.args == [6142]
    assert entry.path.endswith(".png")


def test_search_model_filter_and_stars(qtbot, view):
    view.search.setText("fox")
    assert [view.model.entry(r).seed for r in range(view.model.rowCount())] == [7]
    view.search.clear()
    assert view.model_combo.findText("fox-model") >= 0
    view.model_combo.setCurrentText("tiny-random")
    assert sorted(view.model.entry(r).seed for r in range(view.model.rowCount())) == [6141, 6142]
    view.model_combo.setCurrentIndex(0)
    select_seed(view, 6141)
    view.star.click()
    assert view.model.data(view.list.currentIndex(), EntryRole).favourite
    view.favourites.setChecked(True)
    assert [view.model.entry(r).seed for r in range(view.model.rowCount())] == [6141]
    assert view.store.entries(favourites_only=True)[0].seed == 6141  # kept in the index


def test_delete_moves_to_trash(qtbot, view):
    entry = select_seed(view, 7)
    view.delete.click()
    assert view.model.rowCount() == 2
    assert not Path(entry.path).exists()
    assert any(p.endswith(Path(entry.path).name) for p in view.store.trashed)


def test_autosave_in_background_then_listed(qtbot, view):
    result = fake_result(sample_request(prompt="a blue bird", seed=99))
    with qtbot.waitSignal(view.saved, timeout=TIMEOUT) as saved:
        view.save_result(result)
    paths = [s.path for s in saved.args[0]]
    assert len(paths) == 1 and paths[0].is_file()
    assert view.model.rowCount() == 4 and view.model.entry(0).seed == 99


def test_resync_at_start_sees_outside_changes(qtbot, view, tmp_path):
    gone = view.model.entry(0)
    Path(gone.path).unlink()
    fresh = GalleryView(view.store, thumbnail_cache=tmp_path / "thumbs2")
    qtbot.addWidget(fresh)
    fresh.start()
    qtbot.waitUntil(lambda: fresh.model.rowCount() == 2, timeout=TIMEOUT)
    fresh.background.wait()


def test_image_without_settings_says_so(qtbot, view):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(view.store.root / "plain.png")
    view.store.resync()
    view.refresh()
    for row in range(view.model.rowCount()):
        if view.model.entry(row).name == "plain.png":
            view.list.setCurrentIndex(view.model.index(row))
    assert "carries no generation settings" in view.details.toPlainText()
    assert not view.use_all.isEnabled() and not view.reuse_seed.isEnabled()


def test_copy_image_to_clipboard(qtbot, view):
    from PySide6.QtGui import QGuiApplication

    entry = select_seed(view, 7)
    QGuiApplication.clipboard().clear()
    view.copy_action.trigger()
    copied = QGuiApplication.clipboard().image()
    assert not copied.isNull() and (copied.width(), copied.height()) == (entry.width, entry.height)


def test_open_full_size_and_folder_go_to_the_desktop(qtbot, view, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    entry = select_seed(view, 6141)
    view.open_action.trigger()
    view.folder_action.trigger()
    assert opened == [entry.path, str(Path(entry.path).parent)]


def test_details_show_the_settings_text_the_file_carries(qtbot, tmp_path, monkeypatch):
    """'Model default' means the model's own sampler: the details say which (as the PNG does), not 'Default'."""
    isolate_dirs(tmp_path, monkeypatch)
    store = make_store(tmp_path)
    result = fake_result(sample_request(scheduler="default", seed=99))
    result.images[0].scheduler = "PNDMScheduler"
    store.save_result(result, when=datetime(2026, 5, 3, 9, 0, 0))
    w = GalleryView(store, thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(w)
    w.start()
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=TIMEOUT)
    select_seed(w, 99)
    assert "Sampler: PLMS" in w.details.toPlainText()
    w.background.wait()
    w.thumbnails.background.wait()
