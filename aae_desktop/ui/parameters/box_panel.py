"""The "Place words" parameter group (BoxDiff): which word goes where is drawn on the preview
(right-click a word ▸ Place…); this group says how hard and how long the boxes pull."""
from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QWidget

from aae_desktop.engine.objectives.box_settings import DEFAULT_BOX_SCALE, BoxSettings
from aae_desktop.ui.parameters.objective_panel import ObjectivePanel, ObjectiveTexts

TEXTS = ObjectiveTexts(
    title="Place words",
    name="box",
    tooltip=("Puts each placed word where its box is: “the cat on the left, the frog on the right” (BoxDiff, "
             "Xie et al. 2023). Right-click a word in the word list ▸ Place…, then drag its box on the preview."),
    steps_tooltip=("How many of the first denoising steps the boxes steer when no word is excited. Auto: the "
                   "excite schedule's share of the steps (25 of 50), as the BoxDiff pipeline. With words excited, "
                   "the boxes follow the Attend-and-Excite schedule."),
    scale_tooltip=("Step size of each box update when boxes run alone (the pipeline's 20). Larger values push "
                   "words into their boxes harder, and move the image more."),
    defaults_tooltip="The boxes' steps and step size as in the BoxDiff pipeline.",
    nothing_note="No boxes: right-click a word ▸ Place…, then drag on the preview.",
    doing_note="Placing {}.",
)


class BoxPanel(ObjectivePanel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(TEXTS, DEFAULT_BOX_SCALE, parent)
        self.clear_button = QPushButton("Clear boxes", objectName="clearBoxesButton")
        self.clear_button.setToolTip("Remove every word's box (the words stay in the prompt).")
        self.form.addRow("", self.clear_button)
        self.set_step_count(50)

    def set_step_count(self, steps: int) -> None:
        self.set_automatic_steps(BoxSettings().steps_for(steps))

    def set_settings(self, settings: BoxSettings) -> None:
        self.set_values(settings.enabled, settings.scale, settings.steps)

    @staticmethod
    def field_labels() -> dict[str, str]:
        return {"boxes": "Place words"}
