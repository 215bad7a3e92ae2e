"""A/B "excite + bind" against "excite" at one seed (#22): the second render differs only in binding."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import isolate_dirs, sample_request

from aae_desktop.engine.objectives.bind_settings import BindSettings
from aae_desktop.ui.iterate.ab_view import ABView
from aae_desktop.ui.iterate.iteration_runs import AB_BIND, AB_EXCITE

TIMEOUT = 10_000


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


@pytest.fixture
def controller(fake_engine):
    from aae_desktop.ui.run.worker import WorkerController

    c = WorkerController(fake_engine)
    yield c
    c.shutdown()


def _bound(request, enabled: bool = True):
    # "a cat and a frog": cat (2) bound to "a" (1) only to have a group; what it means does not matter here.
    return request.replace(bind=BindSettings(enabled=enabled, groups=((((1,),), (2,)),), prompt_length=6))


def test_excite_plus_bind_against_excite_differs_only_in_binding(qtbot, controller, fake_engine):
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.ui.iterate.iteration_runs import IterationRunner

    runner = IterationRunner(controller, LoadOptions)
    request = _bound(sample_request(steps=2, num_images=3).with_excite(max_iter_to_alter=1, thresholds=()))
    with qtbot.waitSignal(runner.ab_ready, timeout=TIMEOUT) as ab:
        assert runner.start_ab(request, AB_BIND)
    pair = ab.args[0]
    first, second = fake_engine.runs
    assert first.bind.enabled and not second.bind.enabled
    assert second == first.replace(bind=dataclasses.replace(first.bind, enabled=False))
    assert first == request.replace(num_images=1)  # A is the request as the window has it
    assert pair.kind == AB_BIND and pair.seed == 6141 and not runner.busy


def test_bind_comparison_refused_without_active_binding(qtbot, controller, fake_engine):
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.ui.iterate.iteration_runs import IterationRunner

    runner = IterationRunner(controller, LoadOptions)
    for request in (sample_request(), _bound(sample_request(), enabled=False)):
        with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as refused:
            assert not runner.start_ab(request, AB_BIND)
        assert "no bound words" in refused.args[0]
    assert fake_engine.runs == []


def test_ab_view_offers_both_comparisons_and_labels_each_side(qtbot):
    view = ABView()
    qtbot.addWidget(view)
    assert [view.comparison.itemData(i) for i in range(view.comparison.count())] == [AB_EXCITE, AB_BIND]
    assert view.comparison_kind() == AB_EXCITE
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    view.set_pair(image, image, seed=3, words="cat", kind=AB_BIND)
    assert (view.left_label.text(), view.right_label.text()) == ("With binding", "Without binding")
    assert view.title.text() == "A/B at seed 3 · excite + bind vs excite — excited: cat"
    view.set_pair(image, image, seed=3, words="cat")
    assert view.left_label.text().startswith("With Attend-and-Excite")
    assert view.right_label.text().startswith("Without")


def test_window_runs_the_chosen_comparison_and_refuses_it_without_binding(qtbot, make_window, tmp_path,
                                                                           fake_engine, monkeypatch):
    from gallery_helpers import make_store

    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    window = make_window()
    integration = install_gallery(window, make_store(tmp_path))
    window.request_model_load("fake-model-folder")
    window.prompt_editor.set_prompt("a cat and a frog", token_indices=(2, 5))
    window.parameters.steps.setValue(2)
    integration.ab.comparison.setCurrentIndex(integration.ab.comparison.findData(AB_BIND))
    integration.run_ab()  # the window has no bound words
    assert "no bound words" in window.banner.message()
    assert fake_engine.runs == []

    plain = window.current_request
    monkeypatch.setattr(window, "current_request", lambda for_run=False: _bound(plain(for_run=for_run)))
    with qtbot.waitSignal(integration.runner.ab_ready, timeout=TIMEOUT):
        integration.run_ab()
    assert [r.bind.enabled for r in fake_engine.runs] == [True, False]
    assert (integration.ab.left_label.text(), integration.ab.right_label.text()) == ("With binding",
                                                                                      "Without binding")
    assert "with binding" in window.preview._caption
