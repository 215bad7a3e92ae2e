"""The gallery in the main window: autosave, restore-all, reuse seed, PNG drop, and A/B + seed sweep
end to end on the tiny random model."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtWidgets import QPushButton, QWidget

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import fake_result, isolate_dirs, make_store, sample_request  # noqa: E402

from aae_desktop.ui.gallery.gallery_integration import install_gallery  # noqa: E402

TIMEOUT = 15_000
SLOW = 300_000  # real generations on a shared 2-core machine


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


@pytest.fixture
def window_with_gallery(make_window, tmp_path, qtbot):
    def build(engine=None):
        window = make_window(engine=engine)
        integration = install_gallery(window, make_store(tmp_path))
        qtbot.waitUntil(lambda: integration.gallery.status.text() != "", timeout=TIMEOUT)
        return window, integration

    yield build


def _select(gallery, predicate):
    for row in range(gallery.model.rowCount()):
        if predicate(gallery.model.entry(row)):
            gallery.list.setCurrentIndex(gallery.model.index(row))
            return gallery.model.entry(row)
    raise AssertionError("no matching gallery entry")


def test_gallery_replaces_the_strip_and_restores_all_settings(qtbot, window_with_gallery):
    window, integration = window_with_gallery()
    assert window.findChild(QWidget, "galleryView") is integration.gallery
    saved_request = sample_request(prompt="a cat and a frog on a log", seed=4242, steps=17, width=192, height=128,
                                   negative_prompt="ugly").with_excite(max_iter_to_alter=9, scale_factor=12.5,
                                                                     thresholds=((0, 0.1), (8, 0.6)))
    saved_request = saved_request.replace(model="/models/tiny-random", guidance_scale=5.5, scheduler="euler_a")
    integration.store.save_result(fake_result(saved_request), when=datetime(2026, 2, 2, 2, 2, 2))
    integration.gallery.refresh()
    _select(integration.gallery, lambda e: e.seed == 4242)
    shown = window.preview.image()  # the selection shows large in the preview
    assert shown is not None and (shown.width(), shown.height()) == (192, 128)
    integration.gallery.use_all.click()
    now = window.current_request()
    assert now == saved_request.for_image(0)
    assert window.prompt_editor.token_indices() == [2, 5] or tuple(window.prompt_editor.token_indices()) == (2, 5)

    window.apply_seed(1)
    integration.gallery.reuse_seed.click()
    assert window.current_request().seed == 4242


def test_finished_run_is_autosaved_with_heatmaps(qtbot, window_with_gallery):
    window, integration = window_with_gallery()
    window.apply_request(sample_request(model="fake-model", steps=2, width=64, height=64).with_excite(
        max_iter_to_alter=1, thresholds=()))
    with qtbot.waitSignal(integration.gallery.saved, timeout=TIMEOUT) as saved:
        window.generate_button.click()
    paths = [s.path for s in saved.args[0]]
    assert len(paths) == 1 and paths[0].is_file()
    assert integration.gallery.model.rowCount() == 1
    assert integration.gallery.model.entry(0).seed == 6141
    from aae_desktop.gallery.metadata import read_text_chunks

    assert 'AAE tokens: "cat,frog"' in read_text_chunks(paths[0])["parameters"]
    integration.gallery.autosave_box.setChecked(False)  # the artist switches autosave off
    assert window.settings.autosave is False
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT):
        window.generate_button.click()
    integration.gallery.background.wait()
    assert integration.gallery.model.rowCount() == 1 and len(integration.store.entries()) == 1


def test_drop_png_on_window(qtbot, window_with_gallery, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    window, integration = window_with_gallery()
    ours = integration.store.save_result(fake_result(sample_request(seed=31337, prompt="a frog and a cat")))[0].path
    for path in (ours,):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(window, enter)
        assert enter.isAccepted()
        integration.drop.eventFilter(window, QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                                                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    assert window.current_request().seed == 31337
    assert window.prompt_editor.prompt() == "a frog and a cat"

    # Dropped on the prompt editor (a text widget that takes drops itself), the image still restores.
    other = integration.store.save_result(fake_result(sample_request(seed=999, prompt="a lone owl")))[0].path
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    editor = window.prompt_editor.findChildren(QWidget)[0] if window.prompt_editor.findChildren(QWidget) else window.prompt_editor
    assert integration.drop.eventFilter(editor, QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                                                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    assert window.prompt_editor.prompt() == "a lone owl"

    bare = tmp_path / "holiday.png"
    Image.new("RGB", (8, 8)).save(bare)
    assert not integration.drop.restore(bare)
    assert window.banner.isVisibleTo(window)
    assert "holiday.png carries no generation settings" in " ".join(
        label.text() for label in window.banner.findChildren(type(window.model_status)))


def TinyEngine(model):  # noqa: N802 (it was a class)
    """The real engine on the session's tiny random model (no weights on disk needed)."""
    from aae_desktop.ui.run.engine_port import DiffusersEngine

    return DiffusersEngine(loader=lambda source, options: model)


def test_ab_and_seed_sweep_end_to_end_on_tiny_model(qtbot, window_with_gallery, tiny_model):
    window, integration = window_with_gallery(TinyEngine(tiny_model))
    request = sample_request(model="tiny-random", seed=5, steps=2, width=64, height=64).with_excite(
        max_iter_to_alter=1, thresholds=(), scale_factor=200.0)
    window.apply_request(request)

    with qtbot.waitSignal(integration.runner.ab_ready, timeout=SLOW) as ab:
        window.findChild(QPushButton, "abRunButton").click()
    pair = ab.args[0]
    assert pair.with_excite.request.excite.enabled and not pair.without.request.excite.enabled
    assert pair.with_excite.images[0].seed == pair.without.images[0].seed == 5
    assert pair.with_excite.images[0].image.tobytes() != pair.without.images[0].image.tobytes()
    assert integration.tabs.currentWidget().findChild(QWidget, "abView") is integration.ab
    assert integration.ab.left_image.pixmap() is not None and not integration.ab.left_image.pixmap().isNull()
    qtbot.waitUntil(lambda: integration.gallery.model.rowCount() == 2, timeout=SLOW)
    assert [w.label for w in integration.heatmaps.words] == ["cat", "frog"]  # the A&E half's maps stay up
    kinds = sorted(integration.gallery.model.entry(r).excite for r in range(2))
    assert kinds == [False, True]  # both halves are in the gallery, A&E on and off

    integration.sweep_count.setValue(2)
    with qtbot.waitSignal(integration.runner.sweep_ready, timeout=SLOW) as sweep:
        window.findChild(QPushButton, "sweepRunButton").click()
    # Each image is saved as soon as it is finished; the grid learns where each one went.
    qtbot.waitUntil(lambda: sorted(integration.grid.paths) == [5, 6], timeout=SLOW)
    assert sweep.args[0].seeds == [5, 6]
    assert sorted(integration.grid.cells) == [5, 6]
    integration.grid.cells[6].click()
    assert integration.tabs.currentWidget() is integration.gallery
    assert integration.gallery.selected_entry().seed == 6
    assert integration.heatmaps.words  # the newest result's maps are shown


def test_the_status_after_a_seed_sweep_counts_all_its_images(qtbot, window_with_gallery):
    """Images are saved one by one as they finish; the status used to say "Saved 1 image" after a
    4-seed sweep (each save reported alone). Each run counts from zero again."""
    window, integration = window_with_gallery()
    window.request_model_load("fake-model-folder")
    window.prompt_editor.set_prompt("a cat and a frog", token_indices=(2, 5))
    window.parameters.steps.setValue(2)
    messages: list[str] = []
    integration.gallery.message.connect(messages.append)
    integration.sweep_count.setValue(4)
    with qtbot.waitSignal(integration.runner.sweep_ready, timeout=TIMEOUT):
        integration.run_sweep()
    qtbot.waitUntil(lambda: any(m.startswith("Saved 4 images") for m in messages), timeout=TIMEOUT)
    messages.clear()
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT):
        window.generate()
    qtbot.waitUntil(lambda: any(m.startswith("Saved") for m in messages), timeout=TIMEOUT)
    assert messages[-1].startswith("Saved 1 image to")
