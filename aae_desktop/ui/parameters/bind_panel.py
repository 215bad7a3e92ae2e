"""The "Bind attributes" parameter group (SynGen): which words bind is chosen in the word list
(links between chips); this group says how hard and how long binding pulls."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from aae_desktop.engine.objectives.bind_settings import DEFAULT_BIND_SCALE, BindSettings
from aae_desktop.ui.parameters.objective_panel import ObjectivePanel, ObjectiveTexts

TEXTS = ObjectiveTexts(
    title="Bind attributes",
    name="bind",
    tooltip=("Keeps each attribute on its own word: in “a red cat and a blue frog” the cat stays red and the "
             "frog blue (SynGen, Rassin et al. 2023). Which word describes which is shown by the coloured "
             "underlines in the word list; right-click a word to change it."),
    steps_tooltip=("How many of the first denoising steps binding runs when no word is excited. Auto: the first "
                   "half of the steps, as the SynGen implementation (25 of 50). With words excited, binding "
                   "follows the Attend-and-Excite schedule."),
    scale_tooltip=("Step size of each binding update when binding runs alone (the implementation's 20). Larger "
                   "values pull attributes onto their nouns harder, and move the image more."),
    defaults_tooltip="Binding's steps and step size as in the SynGen implementation.",
    nothing_note="No pairs: write “a red cat”, or right-click a word to say which noun it describes.",
    doing_note="Binding {}.",
)


class BindPanel(ObjectivePanel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(TEXTS, DEFAULT_BIND_SCALE, parent)
        self.set_step_count(50)

    def set_step_count(self, steps: int) -> None:
        self.set_automatic_steps(BindSettings().steps_for(steps))

    def show_pairs(self, names: list[str]) -> None:
        self.show_targets(names)

    def set_settings(self, settings: BindSettings) -> None:
        self.set_values(settings.enabled, settings.scale, settings.steps)

    @staticmethod
    def field_labels() -> dict[str, str]:
        return {"bind": "Bind attributes"}
