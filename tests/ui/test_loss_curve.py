"""The loss curve's legend never covers the curves (it used to sit inside the plot, where losses start)."""
import pytest

from aae_desktop.gallery.heatmaps import LossCurve
from aae_desktop.ui.iterate.loss_curve import LossCurveWidget


def _curves(labels):
    return [LossCurve(label=label, steps=[0, 5, 10], values=[0.9, 0.5, 0.1]) for label in labels]


@pytest.mark.parametrize("labels", [["loss", "cat", "frog"],
                                    ["loss", "cat", "frog", "watercolour", "lighthouse", "umbrella", "dog"]])
def test_legend_entries_sit_above_the_plot_and_apart(qtbot, labels):
    widget = LossCurveWidget()
    qtbot.addWidget(widget)
    widget.resize(260, 220)
    widget.set_curves(_curves(labels))
    plot, entries = widget.plot_rect(), widget.legend_layout()
    assert len(entries) == len(labels)
    for i, entry in enumerate(entries):
        assert entry.bottom() <= plot.top() and entry.right() <= widget.width()
        assert not any(entry.intersects(other) for other in entries[i + 1:])
    assert plot.height() > 100  # wrapping rows still leaves the curves most of the widget
    widget.grab()  # paints without error
