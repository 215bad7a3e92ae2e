"""The box (BoxDiff) terms on hand-made maps equal values worked out by hand (5 x 5 grids, P 0.2, L 1)."""
from __future__ import annotations

import pytest
import torch

from aae_desktop.engine.objectives.box_settings import grid_cells
from aae_desktop.engine.objectives.registry import AttentionMaps
from aae_desktop.engine.objectives.boxes import BoxObjective, box_terms


def _terms(image, cells):
    t = box_terms(image, cells, 0.2, 1)
    return [round(float(v), 6) for v in (t.inner, t.outer, t.corner_x, t.corner_y, t.loss())]


def test_a_box_inside_the_map():
    image = torch.arange(25, dtype=torch.float32).reshape(5, 5) / 25
    # Columns 1-2, rows 1-3: 6 cells, top 1 (floor 1.2) is 17/25; outside 19 cells, top 3 are 22-24/25.
    # Column maxima (row 4) 0.80 .. 0.96 against [0 1 1 0 0], all 5 columns within 1 of x0 = 1 or x1 = 3:
    # (0.80 + 0.16 + 0.12 + 0.92 + 0.96) / 5 = 0.592. Row maxima (column 4) 0.16 .. 0.96 against
    # [0 1 1 1 0]: (0.16 + 0.64 + 0.44 + 0.24 + 0.96) / 5 = 0.488.
    assert _terms(image, (1, 1, 3, 4)) == [0.68, 0.92, 0.592, 0.488, round(0.32 + 0.92 + 0.592 + 0.488, 6)]


def test_a_box_touching_the_image_edges():
    image = torch.zeros(5, 5)
    image[2, 1] = 1.0
    # Columns 0-1, every row: 10 cells, top 2 are 1 and 0; nothing outside. The x band is columns
    # 0-1 (x0 = 0, cut at the edge) and 1-3 (x1 = 2): column 0 is 1 off, column 4 not counted.
    # The y band is rows 0-1 (y0 = 0) and row 4 (y1 = 5, cut at the edge): rows 0, 1 and 4, each 1 off.
    assert _terms(image, (0, 0, 2, 5)) == [0.5, 0.0, 0.2, 0.6, 1.3]


def test_a_box_one_cell_wide():
    image = torch.zeros(5, 5)
    image[:, 2] = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5])
    # Column 2: 5 cells, top 1 (floor 5 x 0.2 in fp32 = 1) is 0.5. Columns 1-4 in the band, only
    # column 2 off (0.5): 0.1. Rows 0, 1 and 4 in the band: (0.9 + 0.8 + 0.5) / 5 = 0.44.
    assert _terms(image, (2, 0, 3, 5)) == [0.5, 0.0, 0.1, 0.44, 1.04]


def test_boxes_round_to_cells_as_the_pipeline_does():
    # Python's round: halves go to the even cell (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 4.5 -> 4); clamped to the grid.
    assert grid_cells((0.1, 0.3, 0.5, 0.9), (5, 5)) == (0, 2, 2, 4)
    assert grid_cells((0.0, 0.0, 1.0, 1.0), (4, 8)) == (0, 0, 8, 4)


def _two_token_maps():
    """Aggregated maps whose text softmax (stop 3: tokens 1 and 2) gives token 1 `a` and token 2 1 - a."""
    a = torch.rand(5, 5, generator=torch.Generator().manual_seed(3)) * 0.8 + 0.1
    aggregated = torch.zeros(5, 5, 77)
    aggregated[:, :, 1] = torch.log(a / (1 - a)) / 100  # softmax(100 x [l, 0]) = [a, 1 - a]
    return AttentionMaps(aggregated, None), a


def test_a_word_of_two_tokens_adds_both_tokens_terms_and_words_add():
    maps, a = _two_token_maps()
    cells, box = (0, 0, 3, 5), (0.0, 0.0, 0.6, 1.0)
    expected_word = box_terms(a, cells, 0.2, 1).loss() + box_terms(1 - a, cells, 0.2, 1).loss()
    one_word = BoxObjective((((1, 2), box),), text_stop=3, smoothed=False).loss(maps)
    assert float(one_word.loss) == pytest.approx(float(expected_word), abs=1e-5)
    other_box = (0.6, 0.0, 1.0, 1.0)
    expected_two = expected_word + box_terms(1 - a, grid_cells(other_box, (5, 5)), 0.2, 1).loss()
    two_words = BoxObjective((((1, 2), box), ((2,), other_box)), text_stop=3, smoothed=False).loss(maps)
    assert float(two_words.loss) == pytest.approx(float(expected_two), abs=1e-5)
    assert two_words.readout.shape == (2,)


def test_the_box_loss_stops_its_softmax_where_it_is_told_not_where_the_run_does():
    maps, a = _two_token_maps()  # the run's own stop: None (SD 1.x), every column but the last
    ours = maps.token_maps_until((1,), 3)[0]
    assert torch.allclose(ours, a, atol=1e-5)
    assert not torch.allclose(maps.token_maps((1,))[0], a, atol=1e-3)  # 74 more columns share it there
