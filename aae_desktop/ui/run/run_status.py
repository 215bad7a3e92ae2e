"""Progress bar (phase, step, ETA) and the per-word attention/loss readout under the preview."""
from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from aae_desktop.ui.run.worker_events import Progress

PHASE_LABELS = {
    "loading": "Loading model",
    "refining": "Refining",
    "exciting": "Exciting",
    "binding": "Binding",
    "boxes": "Placing words",
    "denoising": "Denoising",
    "decoding": "Decoding",
}


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d} left"


def progress_text(p: Progress) -> str:
    """'Exciting · step 3/50 · image 1/2 · 0:12 left' (refinement shows its iteration too)."""
    parts = [PHASE_LABELS.get(p.phase, p.phase.title())]
    if p.phase != "decoding":
        # Denoising events count finished steps; excite/refine events name the step being worked on.
        current = p.step if p.phase == "denoising" else p.step + 1
        step = f"step {min(max(current, 1), p.total_steps)}/{p.total_steps}"
        if p.phase == "refining" and p.refinement_iteration is not None:
            # The engine numbers a refining forward by the update it comes before: forward k measures
            # after k - 1 updates, and the last one after the cap's. So k - 1 counts the tries made,
            # 1 up to the Refinement cap (k + 1 showed "try 22" under a cap of 20).
            step += f" (try {max(p.refinement_iteration - 1, 1)})"
        parts.append(step)
    if p.num_images > 1:
        parts.append(f"image {p.image_index + 1}/{p.num_images}")
    parts.append(format_eta(p.eta))
    return " · ".join(parts)


def image_caption(item: Any) -> str:
    """What the big preview shows: the seed, and whether Attend-and-Excite drew it."""
    caption = f"seed {item.seed}"
    if not item.request.excite.enabled:
        caption += " · without Attend-and-Excite"
    return caption


def attention_text(token_attention: Mapping[int, float], words: Mapping[int, str], loss: float | None) -> str:
    """Each chosen word's strongest attention (a word with several tokens shows its weakest one,
    since that is the token the loss is pushing) plus the loss."""
    per_word: dict[str, float] = {}
    for index, value in token_attention.items():
        name = words.get(index, f"#{index}")
        per_word[name] = min(per_word.get(name, 1.0), value)
    parts = [f"{name} <b>{value:.2f}</b>" for name, value in per_word.items()]
    if loss is not None:
        parts.append(f"loss <b>{loss:.3f}</b>")
    return "   ".join(parts)


class RunStatus(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setObjectName("progressBar")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setToolTip("Phase of the run (loading, exciting, refining, denoising, decoding), step and time left.")
        self.readout = QLabel()
        self.readout.setObjectName("attentionReadout")
        self.readout.setToolTip(
            "How strongly the model attends to each chosen word right now (0-1), and the Attend-and-Excite "
            "loss (lower is better: every word is present).")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        layout.addWidget(self.readout)
        self.idle("Ready")

    def idle(self, text: str) -> None:
        self.progress.setRange(0, 1000)  # leave the indeterminate state a model load may have set
        self.progress.setValue(0)
        self.progress.setFormat(text)

    def busy(self, text: str) -> None:
        """Indeterminate bar, e.g. while a model loads and nothing can be counted."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)

    def show_progress(self, p: Progress, words: Mapping[int, str]) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(p.fraction * 1000))
        self.progress.setFormat(progress_text(p))
        if p.token_attention or p.loss is not None:
            self.readout.setText(attention_text(p.token_attention, words, p.loss))

    def show_measurement(self, token_attention: Mapping[int, float], words: Mapping[int, str],
                         loss: float | None) -> None:
        """The readout at a run's end: its last measurement (progress is throttled and may skip it)."""
        self.readout.setText(attention_text(token_attention, words, loss))

    def done(self, text: str) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        self.progress.setFormat(text)
