"""The LoRA list under the prompt, kept in sync with the prompt's `<lora:NAME:WEIGHT>` tags both ways,
plus the LoRA and embeddings folders and which embeddings the prompt's words use.

The prompt text is the one truth: a row exists because its tag does, a weight typed in a row is
written into the tag, and typing or pasting a tag adds the row. Folders are scanned off the UI
thread (an embedding's vector count needs its file); the result gives the prompt editor its
embedding vocabulary, so chips count every vector exactly as the engine will.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout,
                               QWidget)

from aae_desktop.engine.addons.addon_kinds import KINDS, AddonKind
from aae_desktop.engine.addons.addon_refs import (AddonFolders, MissingAddon, check_families, localize_addons,
                                           missing_sentence, resolve_addons)
from aae_desktop.engine.addons.lora_files import family_group_label
from aae_desktop.engine.prompt_syntax import LoraTag, add_tag, find_lora_tags, format_weight, remove_tag, set_tag_weight
from aae_desktop.engine.request import MAX_LORA_WEIGHT, GenerationRequest
from aae_desktop.engine.tokens import split_embedding_words, strip_lora_tags
from aae_desktop.ui.background import Background

MISSING_COLOR = "#e0605a"


class LoraRow(NamedTuple):
    """One tag's row: its weight box (the text encoders' weight), the label of a separate UNet weight,
    its ✕, and whether the tag is in the negative prompt (the LoRA applies to the model all the same)."""

    name: str
    spin: QDoubleSpinBox
    unet_label: QLabel
    remove: QToolButton
    negative: bool


@dataclass(frozen=True)
class FolderScan:
    """What the folders held at the last scan."""

    loras: dict[str, str] = field(default_factory=dict)  # name -> family key ("" unknown, "!" unusable)
    lora_notes: dict[str, str] = field(default_factory=dict)  # name -> tooltip
    embeddings: dict[str, int] = field(default_factory=dict)  # name -> vectors


def scan_folders(folders: AddonFolders) -> FolderScan:
    """Runs on a pool thread: headers only for LoRAs, each embedding's vector count."""
    from aae_desktop.engine.addons.addon_files import find_loras
    from aae_desktop.engine.addons.addon_refs import embedding_vocabulary
    from aae_desktop.engine.errors import AddonError
    from aae_desktop.engine.addons.lora_files import inspect_lora

    loras: dict[str, str] = {}
    notes: dict[str, str] = {}
    for file in find_loras(folders.loras):
        try:
            info = inspect_lora(file.path)
            loras[file.name] = info.family or ""
            notes[file.name] = f"{file.path}\nFor {info.family_text} models."
        except AddonError as exc:
            loras[file.name] = "!"
            notes[file.name] = str(exc)
    return FolderScan(loras, notes, embedding_vocabulary(folders.embeddings))


class AddonsPanel(QWidget):
    """LoRA rows for the prompt's tags, an Add menu, the folder choices and the embeddings in use."""

    folders_changed = Signal()  # the window saves its settings
    scanned = Signal()

    def __init__(self, settings: Any, editor: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("addonsPanel")
        self.settings = settings
        self.editor = editor
        self.scan = FolderScan()
        self.model_family = ""
        self.model_source = ""  # the loaded model the family belongs to
        self._background = Background(1, self)
        self._rows: list[LoraRow] = []  # the prompt's tags, then the negative prompt's

        self.add_button = QToolButton()
        self.add_button.setObjectName("addLoraButton")
        self.add_button.setText("Add LoRA ▾")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_button.setToolTip("Add a LoRA from the LoRA folder: it goes into the prompt as <lora:NAME:1>. "
                                   "Typing or pasting such a tag works too.")
        self.add_menu = QMenu(self)
        self.add_button.setMenu(self.add_menu)
        self.folders_button = QToolButton()
        self.folders_button.setObjectName("addonFoldersButton")
        self.folders_button.setText("Folders ▾")
        self.folders_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        folders_menu = QMenu(self)
        for kind in KINDS:
            folders_menu.addAction(f"{kind.folder_label}…", lambda _=False, k=kind: self._choose_folder(k))
        folders_menu.addAction("Look again", self.rescan)
        self.folders_button.setMenu(folders_menu)

        header = QHBoxLayout()
        caption = QLabel("LoRAs")
        caption.setObjectName("caption")
        header.addWidget(caption)
        header.addStretch(1)
        header.addWidget(self.add_button)
        header.addWidget(self.folders_button)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(2)
        self.empty_label = QLabel("None: add one, or type <lora:NAME:WEIGHT> in the prompt.")
        self.empty_label.setObjectName("loraEmpty")
        self.empty_label.setStyleSheet("color: palette(mid)")
        self.empty_label.setWordWrap(True)  # whole at any column width, and never what sets the column's width
        self.embeddings_label = QLabel()
        self.embeddings_label.setObjectName("embeddingsInUse")
        self.embeddings_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.empty_label)
        layout.addLayout(self.rows_layout)
        layout.addWidget(self.embeddings_label)
        self._update_tooltips()
        editor.prompt_changed.connect(self.sync)
        editor.negative_edit.textChanged.connect(self.sync)  # its tags get rows too; sync shows embeddings
        self.sync()
        self.rescan()

    # -- folders ------------------------------------------------------------------------------------
    def folders(self) -> AddonFolders:
        return self.settings.addon_folders()

    def rescan(self) -> None:
        folders = self.folders()
        self._background.call(lambda: scan_folders(folders), self._on_scanned)

    def wait(self, msecs: int = 10_000) -> bool:
        return self._background.wait(msecs)

    def _on_scanned(self, scan: FolderScan) -> None:
        self.scan = scan
        self.editor.set_embedding_vocabulary(scan.embeddings)
        self.add_menu.clear()
        for name, family in scan.loras.items():
            label = name if family in ("", "!") else f"{name}  ·  {family_group_label(family)}"
            action = QAction(label + ("  (unusable)" if family == "!" else ""), self.add_menu)
            action.setToolTip(scan.lora_notes.get(name, ""))
            action.setEnabled(family != "!")
            action.triggered.connect(lambda _=False, n=name: self.add_lora(n))
            self.add_menu.addAction(action)
        if not scan.loras:
            empty = self.add_menu.addAction(f"No LoRAs in {self.folders().loras}")
            empty.setEnabled(False)
        self.add_menu.setToolTipsVisible(True)
        self._rebuild_rows()
        self._show_embeddings()
        self.scanned.emit()

    def _choose_folder(self, kind: AddonKind) -> None:
        current = str(getattr(self.folders(), kind.key))
        chosen = QFileDialog.getExistingDirectory(self, kind.folder_label, current)
        if chosen:
            self.set_folder(kind.setting, chosen)

    def set_folder(self, attribute: str, folder: str) -> None:
        setattr(self.settings, attribute, folder)
        self._update_tooltips()
        self.folders_changed.emit()
        self.rescan()

    def _update_tooltips(self) -> None:
        folders = self.folders()
        self.folders_button.setToolTip(f"Where LoRAs and embeddings are found (subfolders too). An A1111 or ComfyUI "
                                       f"folder works as it is.\nLoRAs: {folders.loras}\n"
                                       f"Embeddings: {folders.embeddings}")

    # -- rows ---------------------------------------------------------------------------------------
    def _tags(self) -> list[tuple[LoraTag, bool]]:
        """(tag, in the negative prompt) for every tag: the prompt's, then the negative prompt's."""
        return ([(t, False) for t in find_lora_tags(self.editor.prompt())]
                + [(t, True) for t in find_lora_tags(self.editor.negative_prompt())])

    def sync(self) -> None:
        """A prompt changed: rows follow the tags (weights updated in place while the names stay)."""
        tags = self._tags()
        if [(t.name, negative) for t, negative in tags] != [(r.name, r.negative) for r in self._rows]:
            self._rebuild_rows()
        else:
            for (tag, _negative), (_name, spin, unet_label, _remove, _) in zip(tags, self._rows):
                if tag.weight == tag.weight and abs(spin.value() - tag.weight) > 1e-9:
                    spin.blockSignals(True)
                    spin.setValue(tag.weight)
                    spin.blockSignals(False)
                _show_unet_weight(unet_label, spin, tag)
        self._show_embeddings()

    def _rebuild_rows(self) -> None:
        while self.rows_layout.count():
            item = self.rows_layout.takeAt(0)
            if item.layout():
                while item.layout().count():
                    child = item.layout().takeAt(0).widget()
                    if child is not None:
                        # Hidden now: out of the layout it would sit at the panel's top-left, over
                        # the header, until the event loop gets round to deleting it.
                        child.hide()
                        child.deleteLater()
        tags = self._tags()
        self._rows = [self._add_row(tag, negative) for tag, negative in tags]
        self.empty_label.setVisible(not tags)

    def _add_row(self, tag: LoraTag, negative: bool = False) -> LoraRow:
        name, weight = tag.name, tag.weight
        row = QHBoxLayout()
        label = QLabel(f"{name} (negative prompt)" if negative else name)
        label.setObjectName("loraName")
        problem = self._problem(name)
        where = ("\nIts tag is in the negative prompt: the LoRA changes the model for the whole image all the "
                 "same, as in A1111." if negative else "")
        if problem:
            label.setStyleSheet(f"color: {MISSING_COLOR}")
            label.setToolTip(problem + where)
        else:
            label.setToolTip(self.scan.lora_notes.get(self._known_name(name) or "", "") + where)
        spin = QDoubleSpinBox()
        spin.setObjectName("loraWeight")
        spin.setRange(-MAX_LORA_WEIGHT, MAX_LORA_WEIGHT)
        spin.setDecimals(2)
        spin.setSingleStep(0.05)
        spin.setValue(weight if weight == weight else 1.0)
        spin.valueChanged.connect(lambda value, n=name: self.set_weight(n, value, negative))
        unet_label = QLabel()
        unet_label.setObjectName("loraUnetWeight")
        remove = QToolButton()
        remove.setText("✕")
        remove.setObjectName("removeLora")
        remove.setToolTip(f"Take {name} out of the {'negative ' if negative else ''}prompt.")
        remove.clicked.connect(lambda _=False, n=name: self.remove_lora(n, negative))
        row.addWidget(label, 1)
        row.addWidget(spin)
        row.addWidget(unet_label)  # after the box: "0.80 / UNet 0.5"
        row.addWidget(remove)
        self.rows_layout.addLayout(row)
        _show_unet_weight(unet_label, spin, tag)  # once in the row: a label shown without a parent is a window
        return LoraRow(name, spin, unet_label, remove, negative)

    def _known_name(self, name: str) -> str | None:
        return next((n for n in self.scan.loras if n.lower() == name.lower()), None)

    def _problem(self, name: str) -> str:
        known = self._known_name(name)
        if known is None:
            return f"Not in the LoRA folder ({self.folders().loras}): the run will not start until it is."
        family = self.scan.loras[known]
        if family == "!":
            return self.scan.lora_notes.get(known, "This file cannot be used.")
        if family and self.model_family and family_group_label(family) != family_group_label(self.model_family):
            return (f"For {family_group_label(family)} models; the loaded model is "
                    f"{family_group_label(self.model_family)}.")
        return ""

    def set_model_family(self, family: str, source: str = "") -> None:
        self.model_family = family
        self.model_source = source
        self._rebuild_rows()

    def set_weight(self, name: str, weight: float, negative: bool = False) -> None:
        if negative:
            self.editor.replace_negative_text(set_tag_weight(self.editor.negative_prompt(), name, weight))
        else:
            self.editor.replace_prompt_text(set_tag_weight(self.editor.prompt(), name, weight))

    def add_lora(self, name: str) -> None:
        if any(t.name.lower() == name.lower() for t in find_lora_tags(self.editor.prompt())):
            return
        self.editor.replace_prompt_text(add_tag(self.editor.prompt(), name, 1.0))

    def remove_lora(self, name: str, negative: bool = False) -> None:
        if negative:
            self.editor.replace_negative_text(remove_tag(self.editor.negative_prompt(), name))
        else:
            self.editor.replace_prompt_text(remove_tag(self.editor.prompt(), name))

    def row_names(self) -> list[str]:
        return [row.name for row in self._rows]

    def row_weight(self, name: str) -> float:
        return next(row.spin.value() for row in self._rows if row.name == name)

    def row_unet_text(self, name: str) -> str:
        """What the row says of a separate UNet weight ("" for a one-weight tag)."""
        return next(row.unet_label.text() for row in self._rows if row.name == name)

    # -- embeddings ---------------------------------------------------------------------------------
    def _show_embeddings(self) -> None:
        vocabulary = self.scan.embeddings
        used: dict[str, None] = {}
        for text in (self.editor.prompt(), self.editor.negative_prompt()):
            for _start, _end, name in split_embedding_words(strip_lora_tags(text)[0], vocabulary):
                if name is not None:
                    used[name] = None
        if used:
            text = ", ".join(f"{n} ({vocabulary[n]} vector{'s' if vocabulary[n] > 1 else ''})" for n in used)
            self.embeddings_label.setText(f"Embeddings in use: {text}")
        elif vocabulary:
            self.embeddings_label.setText(f"Embeddings: {len(vocabulary)} in the folder; a prompt word equal to a "
                                          "file's name uses it.")
        else:
            self.embeddings_label.setText("Embeddings: none in the embeddings folder.")
        self.embeddings_label.setToolTip(f"{self.folders().embeddings}\n" + ", ".join(vocabulary))

    # -- requests -----------------------------------------------------------------------------------
    def resolve(self, request: GenerationRequest) -> GenerationRequest:
        """The request with its LoRAs and embeddings resolved to files (AddonError names a missing one,
        a damaged one, or one made for another family than the loaded model, which the request runs on)."""
        resolved = resolve_addons(request, self.folders())
        if self.model_family and request.model == self.model_source:
            # Refused here, with the run not sent; a model not loaded yet is checked by the engine.
            check_families(resolved, self.model_family)
        return resolved

    def prepare_restore(self, request: GenerationRequest) -> None:
        """Before a saved prompt is shown: its embeddings count as words even before a rescan."""
        vocabulary = dict(self.scan.embeddings)
        for emb in request.embeddings:
            vocabulary.setdefault(emb.name, emb.vectors)
        self.editor.set_embedding_vocabulary(vocabulary)

    def missing(self, request: GenerationRequest) -> list[MissingAddon]:
        return localize_addons(request, self.folders())[1]

    def report_missing(self, request: GenerationRequest, banner: Any, also: list[str] | None = None) -> bool:
        """Name the restored request's files that are not on this computer (by name and hash), followed by
        `also` (the restore's other notes, which the error would otherwise hide); False if none is missing."""
        missing = self.missing(request)
        if missing:
            banner.show_error("Files missing for this image", " ".join([missing_sentence(missing), *(also or [])]))
        return bool(missing)



def _show_unet_weight(label: QLabel, spin: QDoubleSpinBox, tag: LoraTag) -> None:
    """A two-weight tag (`<lora:NAME:TE:UNET>`): the box edits the text encoders' weight, the label next
    to it shows the UNet's, which stays in the tag as typed (edit it there)."""
    two = bool(tag.unet_weight_text)
    unet = format_weight(tag.unet) if tag.unet == tag.unet else tag.unet_weight_text
    label.setText(f"/ UNet {unet}" if two else "")
    label.setVisible(two)
    label.setToolTip(f"This tag gives the UNet its own weight ({unet}); the box sets the text encoder's. "
                     "Change the UNet weight in the prompt's tag." if two else "")
    if two:
        spin.setToolTip(f"Text-encoder weight of this LoRA ({format_weight(spin.value())} / UNet {unet}): how "
                        "strongly it changes how the prompt is read. Written into the prompt's <lora:…> tag; the "
                        "UNet weight stays as it is there.")
    else:
        spin.setToolTip("How strongly this LoRA changes the model (1 = as trained, 0 = not at all). "
                        "Written into the prompt's <lora:…> tag.")
