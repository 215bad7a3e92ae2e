"""Download a model into the Hugging Face cache, only when the user clicks: size first, then progress and cancel.

Close, Esc and Cancel return at once: the network call is abandoned (it ends or times out on its own
thread, reporting to nobody), so a stalled network never freezes the window.
"""
from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aae_desktop.engine.models.download import (
    SUGGESTED_DOWNLOADS,
    DownloadCancelled,
    DownloadPlan,
    download,
    plan_download,
    recommended_variant,
)
from aae_desktop.engine.models.model_info import format_size
from aae_desktop.ui.background import Background


_SIZE_PROMPT = "Press “Check size” to see how much will be downloaded."
_VARIANTS = (("Full precision (fp32)", None), ("Half precision (fp16, half the download)", "fp16"))
_RECOMMENDED_FOR = {"cuda": " · recommended for your NVIDIA GPU", "cpu": " · recommended for the CPU",
                    "mps": " · recommended for the Apple GPU"}


class DownloadDialog(QDialog):
    """`downloaded` emits the repo id once every file is in the cache; `finished_state` says how it ended."""

    downloaded = Signal(str)
    planned = Signal(object)  # DownloadPlan or an Exception (tests wait on it)
    finished_state = Signal(str)  # "done", "cancelled" or the error message

    def __init__(self, parent: QWidget | None = None, cache_dir: str | None = None, endpoint: str | None = None,
                 device: str = "cpu", find_device: Callable[[], str] | None = None):
        """`device` is where models will run ("cuda", "mps" or "cpu"): it picks the recommended weights.

        `find_device`, when given, works that out on a thread instead (it imports torch: 1-2 s that
        would otherwise freeze the window before the dialog appears); `device` shows until it answers.
        """
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle("Download a model")
        self.resize(640, 260)
        self._cache_dir, self._endpoint = cache_dir, endpoint
        self._plan: DownloadPlan | None = None
        self._cancel = threading.Event()
        self._busy = False
        self._recommended: str | None = None
        self._background = Background(threads=1, parent=self)

        intro = QLabel("The app never goes online by itself. This downloads a model from huggingface.co into "
                       "the standard Hugging Face cache, where other tools can use it too.")
        intro.setWordWrap(True)
        self.repo_combo = QComboBox()
        self.repo_combo.setObjectName("downloadRepo")
        self.repo_combo.setEditable(True)
        self.repo_combo.setToolTip("A Hugging Face model id (owner/name) in diffusers format.")
        for repo_id, label in SUGGESTED_DOWNLOADS:
            self.repo_combo.addItem(repo_id, label)
            self.repo_combo.setItemData(self.repo_combo.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        self.variant_combo = QComboBox()
        self.variant_combo.setObjectName("downloadVariant")
        self.variant_combo.setToolTip("fp16 files are half the download; either kind runs in any precision "
                                      "(converted when the model loads).")
        for label, variant in _VARIANTS:
            self.variant_combo.addItem(label, variant)
        self.set_device(device)
        self.size_label = QLabel(_SIZE_PROMPT)
        self.size_label.setObjectName("downloadSize")
        self.size_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.check_button = QPushButton("Check size")
        self.check_button.setToolTip("Ask huggingface.co which files are needed and how big they are.")
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadButton")
        self.download_button.setToolTip("Fetch the files shown above. Files already here are skipped.")
        self.download_button.setEnabled(False)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.setObjectName("downloadCancel")
        self.cancel_button.setToolTip("Stop the download (finished files are kept) or close this window.")

        form = QFormLayout()
        form.addRow("Model", self.repo_combo)
        form.addRow("Weights", self.variant_combo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.size_label)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

        self.check_button.clicked.connect(self.check_size)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.repo_combo.currentTextChanged.connect(self._forget_plan)
        self.variant_combo.currentIndexChanged.connect(self._forget_plan)
        if find_device is not None:
            self._background.call(find_device, self.set_device)

    def set_device(self, device: str) -> None:
        """Mark (and pick) the weights recommended for `device`."""
        recommended = recommended_variant(device)
        for index, (label, variant) in enumerate(_VARIANTS):
            mark = _RECOMMENDED_FOR.get(device, "") if variant == recommended else ""
            self.variant_combo.setItemText(index, label + mark)
        # Switch only what nobody chose: not the user's own pick, not under a running check or download.
        untouched = self.variant_combo.currentIndex() < 0 or self.variant_combo.currentData() == self._recommended
        self._recommended = recommended
        if untouched and not self._busy:
            self.variant_combo.setCurrentIndex(self.variant_combo.findData(recommended))

    # -- steps -----------------------------------------------------------------------------------
    def check_size(self) -> None:
        repo_id = self.repo_combo.currentText().strip()
        if not repo_id:
            self.size_label.setText("Type a model id such as CompVis/stable-diffusion-v1-4.")
            return
        self._set_busy(True, "Asking huggingface.co…")
        variant = self.variant_combo.currentData()
        self._background.call(lambda: plan_download(repo_id, variant, self._cache_dir, self._endpoint),
                              self._on_planned, self._on_plan_failed)

    def start_download(self) -> None:
        if self._plan is None:
            return
        plan = self._plan
        self._cancel = cancel = threading.Event()  # this download's own: an abandoned one keeps its set event
        self._set_busy(True, f"Downloading {format_size(plan.remaining_bytes)}…")
        self.cancel_button.setText("Cancel")
        cache_dir, endpoint = self._cache_dir, self._endpoint

        def fetch(report) -> str:
            download(plan, lambda done, total, name: report((done, total, name)), cancel, cache_dir, endpoint)
            return plan.repo_id

        self._background.call_with_progress(fetch, lambda args: self._on_progress(*args), self._on_downloaded,
                                            self._on_download_failed)

    # -- results (UI thread) ------------------------------------------------------------------------
    def _on_planned(self, plan: DownloadPlan) -> None:
        self._plan = plan
        self._set_busy(False)
        here = plan.total_bytes - plan.remaining_bytes
        if plan.remaining_bytes == 0:
            text = f"{plan.repo_id} is already complete in the cache ({format_size(plan.total_bytes)})."
        else:
            text = f"{format_size(plan.remaining_bytes)} to download ({len(plan.files)} files, " \
                   f"{format_size(plan.total_bytes)} in all" + (f", {format_size(here)} already here)." if here else ").")
        self.size_label.setText(text)
        self.download_button.setEnabled(True)
        self.download_button.setText("Use it" if plan.remaining_bytes == 0 else "Download")
        self.planned.emit(plan)

    def _on_plan_failed(self, exc: Exception) -> None:
        self._plan = None
        self._set_busy(False)
        self.size_label.setText(str(exc))
        self.planned.emit(exc)

    def _on_progress(self, done: int, total: int, name: str) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 1000)
        self.size_label.setText(f"{format_size(done)} of {format_size(total)} · {name}")

    def _on_downloaded(self, repo_id: str) -> None:
        self._set_busy(False)
        self.progress.setValue(1000)
        self.size_label.setText(f"{repo_id} is ready.")
        self.cancel_button.setText("Close")
        self.finished_state.emit("done")
        self.downloaded.emit(repo_id)
        self.accept()

    def _on_download_failed(self, exc: Exception) -> None:
        self._plan = None  # sizes changed: check again before continuing
        self._set_busy(False)
        self.cancel_button.setText("Close")
        cancelled = isinstance(exc, DownloadCancelled)
        self.size_label.setText("Cancelled. Files already fetched are kept; Download continues from there."
                                if cancelled else str(exc))
        self.finished_state.emit("cancelled" if cancelled else str(exc))

    # -- helpers ---------------------------------------------------------------------------------
    def _set_busy(self, busy: bool, text: str | None = None) -> None:
        self._busy = busy
        for widget in (self.check_button, self.repo_combo, self.variant_combo):
            widget.setEnabled(not busy)
        self.download_button.setEnabled(not busy and self._plan is not None)
        if text:
            self.size_label.setText(text)

    def _forget_plan(self) -> None:
        self._plan = None
        self.download_button.setEnabled(False)

    def _abandon_network_call(self) -> None:
        """Stop listening at once; the call ends on its own thread (cancel at its next chunk, or a timeout)."""
        self._cancel.set()
        self._background.abandon()
        self._set_busy(False)

    def _cancel_or_close(self) -> None:
        if self._busy and self.cancel_button.text() == "Cancel":  # a download: stop it, keep the dialog
            self._abandon_network_call()
            self._on_download_failed(DownloadCancelled("Download cancelled."))
        else:  # idle, or a size check: Close means close
            self.reject()

    def done(self, result: int) -> None:
        if self._busy:  # reopened later, the dialog must not still say "Asking…" or "Downloading…"
            self._plan = None
            self.size_label.setText(_SIZE_PROMPT)
        self._abandon_network_call()  # never waits: a stalled request must not freeze the window
        super().done(result)
