"""Heat maps of bound pairs (#22): each bound modifier's map beside its noun's, with their overlap."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import isolate_dirs, make_store

from aae_desktop.engine.objectives.bind_settings import BindSettings
from aae_desktop.engine.events import GenerationResult, ImageResult, LossRecord
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.ui.iterate.heatmap_view import PAIRS, SIDE_BY_SIDE, HeatmapView

SCREENSHOT = Path("/work/notes/heatmap_pairs.png")


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


def _bound_result() -> ImageResult:
    """'a red cat and a blue frog': cat (3) and frog (7) excited, red (2) bound to cat, blue (6) to frog.
    red covers columns 0-7 and cat columns 4-15 of a 16x16 map: 64 of red's 128 pixels (1/128 each)
    lie where cat's 192 (1/192 each) are, so the overlap is 64/192 = 0.33. blue and frog are the same
    spot at different strengths: overlap 1."""
    request = GenerationRequest(model="tiny-random", prompt="a red cat and a blue frog", seed=7, steps=12,
                                width=64, height=64, scheduler="ddim").with_excite(token_indices=(3, 7))
    request = request.replace(bind=BindSettings(enabled=True, groups=((((2,),), (3,)), (((6,),), (7,))),
                                                prompt_length=8))
    red, cat, spot = (np.zeros((16, 16), np.float32) for _ in range(3))
    red[:, 0:8] = 1.0
    cat[:, 4:16] = 0.5
    spot[2:6, 10:14] = 1.0
    maps = {2: red, 3: cat, 6: spot * 0.2, 7: spot}
    history = [LossRecord(0, "exciting", 0.5, {3: 0.4, 7: 0.6})]
    image = Image.new("RGB", (64, 64), (40, 90, 160))
    return ImageResult(image, request.seed, request, maps, history)


def _items(view: HeatmapView) -> list[str]:
    return [view.word_combo.itemText(i) for i in range(view.word_combo.count())]


def test_bound_pairs_show_modifier_beside_noun_with_overlap(qtbot, tmp_path, tokenizer):
    result = _bound_result()
    view = HeatmapView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    view.show_result(result, tokenizer)
    assert _items(view)[:3] == [PAIRS, "red → cat", "blue → frog"]
    assert _items(view)[3] == SIDE_BY_SIDE and "cat" in _items(view)  # the excited words as before
    assert view.canvas.words() == ["red → cat · overlap 0.33", "blue → frog · overlap 1.00"]
    assert [c.tags for c in view.canvas._cells] == [("red", "cat"), ("blue", "frog")]
    qtbot.waitExposed(view)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    view.grab().save(str(SCREENSHOT))
    view.word_combo.setCurrentText("blue → frog")
    assert view.canvas.words() == ["blue → frog · overlap 1.00"]
    view.word_combo.setCurrentText("cat")
    assert view.canvas.words() == ["cat"]  # excited words keep working

    # The same from the gallery: the request from the PNG, the maps from the sidecar.
    store = make_store(tmp_path)
    saved = store.save_result(GenerationResult(result.request, [result], 1.0, "cpu"), when=datetime(2026, 1, 1))[0]
    restarted = HeatmapView()
    qtbot.addWidget(restarted)
    restarted.show_file(saved.path, tokenizer)
    assert restarted.canvas.words() == ["red → cat · overlap 0.33", "blue → frog · overlap 1.00"]


def test_no_pairs_without_active_binding(qtbot, tokenizer):
    result = _bound_result()
    off = result.request.replace(bind=BindSettings(enabled=False, groups=result.request.bind.groups,
                                                   prompt_length=8))
    view = HeatmapView()
    qtbot.addWidget(view)
    view.show_result(ImageResult(result.image, result.seed, off, result.attention_maps, result.loss_history),
                     tokenizer)
    assert PAIRS not in _items(view) and not any("→" in item for item in _items(view))
    assert _items(view)[0] == SIDE_BY_SIDE
