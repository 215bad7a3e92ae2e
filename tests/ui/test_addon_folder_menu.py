"""The add-ons panel's folder menu: one action per add-on kind, each choosing that kind's folder."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from aae_desktop.settings import Settings
from aae_desktop.ui.prompt.addons_panel import AddonsPanel
from aae_desktop.ui.prompt.prompt_editor import PromptEditor


def test_each_folder_action_asks_for_and_sets_its_own_folder(qtbot, tmp_path, monkeypatch):
    settings = Settings(lora_dir=str(tmp_path / "l"), embeddings_dir=str(tmp_path / "e"))
    editor = PromptEditor()
    panel = AddonsPanel(settings, editor)
    qtbot.addWidget(editor)
    qtbot.addWidget(panel)
    asked = []

    def choose(_parent, title, current):
        asked.append((title, current))
        return str(tmp_path / title.split()[0])

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    actions = {a.text(): a for a in panel.folders_button.menu().actions()}
    actions["LoRA folder…"].trigger()
    actions["Embeddings folder…"].trigger()
    assert asked == [("LoRA folder", str(tmp_path / "l")), ("Embeddings folder", str(tmp_path / "e"))]
    assert (settings.lora_dir, settings.embeddings_dir) == (str(tmp_path / "LoRA"), str(tmp_path / "Embeddings"))
    panel._background.wait()  # the rescans each choice starts finish before the folders go
