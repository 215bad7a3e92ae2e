"""The loss curve's legend never covers the curves (it used to sit inside the plot, where losses start)."""
import pytest

from aae_desktop.gallery.heatmaps import LossCurve
from aae_desktop.ui.iterate.loss_curve import LossCurveWidget


def _curves(labels):
    return [LossCurve(label=label, steps=[0, 5, 10], values=[0.9, 0.5, 0.1]) for label in labels]


@pytest.mark.parametrize("labels", [["loss", "cat", "frog"],
                                    ["loss", "cat", "frog", "watercolour", "lighthouse", "umbrella", "dog"]])
def test_legend_entries_sit_above_the_plot_and_apart(qtbot, labels):
    from PySide6.QtGui import QFont

    widget = LossCurveWidget()
    qtbot.addWidget(widget)
    # The legend's rows are as tall as the text: the size in pixels below holds for a 9 pt font, so pin
    # it rather than take this machine's default (at 22 pt the plot keeps 92 px, not "most").
    font = QFont(widget.font())
    font.setPointSize(9)
    widget.setFont(font)
    widget.resize(260, 220)
    widget.set_curves(_curves(labels))
    plot, entries = widget.plot_rect(), widget.legend_layout()
    assert len(entries) == len(labels)
    for i, entry in enumerate(entries):
        assert entry.bottom() <= plot.top() and entry.right() <= widget.width()
        assert not any(entry.intersects(other) for other in entries[i + 1:])
    assert plot.height() > 100  # wrapping rows still leaves the curves most of the widget
    widget.grab()  # paints without error


def test_the_axis_zooms_to_curves_that_barely_move(qtbot):
    """Issue 20 §6: on a fixed 0-1 axis, curves 0.001 apart sat on top of each other."""
    widget = LossCurveWidget()
    qtbot.addWidget(widget)
    widget.resize(300, 220)
    widget.set_curves([LossCurve("cat", [0, 5, 10], [0.5000, 0.5004, 0.5010]),
                       LossCurve("frog", [0, 5, 10], [0.5010, 0.5006, 0.5000])])
    plot = widget.plot_rect()
    apart = abs(widget.point(0, 0.5000, 10).y() - widget.point(0, 0.5010, 10).y())
    assert apart > plot.height() / 2  # 0.001 takes most of the plot's height
    low, high = widget.value_range()
    assert low < 0.5000 and high > 0.5010  # padding: no curve runs along the frame
    for value in (0.5000, 0.5010):
        assert plot.top() < widget.point(0, value, 10).y() < plot.bottom()
    widget.grab()


def test_curves_that_move_a_lot_keep_the_whole_range_within_0_and_1(qtbot):
    widget = LossCurveWidget()
    qtbot.addWidget(widget)
    widget.resize(300, 220)
    widget.set_curves(_curves(["loss", "cat"]))  # 0.9 -> 0.1
    low, high = widget.value_range()
    assert 0.0 <= low < 0.1 and 0.9 < high <= 1.0
    plot = widget.plot_rect()
    assert abs(widget.point(0, 0.9, 10).y() - widget.point(10, 0.1, 10).y()) > 0.75 * plot.height()
    widget.set_curves([LossCurve("flat", [0, 1], [0.3, 0.3])])  # a flat line still gets an axis around it
    low, high = widget.value_range()
    assert low < 0.3 < high
