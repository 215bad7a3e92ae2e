"""Drop a PNG on the window to restore its settings (ours in full, or what A1111 `parameters` carry)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget

from aae_desktop.gallery.metadata import restore_from_png


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def dropped_file(event: Any) -> Path | None:
    """The first local image file being dragged; other drops (text, folders) are left to the widgets."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
            return Path(url.toLocalFile())
    return None


class PngDropHandler(QObject):
    """Event filter for the main window: accepts dragged image files and restores what they carry."""

    restored = Signal(object, str, bool)  # GenerationRequest, "aae" | "a1111", whether it had a usable seed
    failed = Signal(str)  # a message for the artist

    def __init__(self, target: QWidget, current_model: Callable[[], str] = lambda: "",
                 tokenizer: Callable[[], Any] = lambda: None):
        super().__init__(target)
        self._target = target
        self._current_model = current_model
        self._tokenizer = tokenizer
        target.setAcceptDrops(True)
        # Qt hands a drop to the deepest widget that accepts drops (the prompt editor would paste
        # the file's path as text), so image drops are caught for the whole window at app level.
        app = QApplication.instance()
        (app or target).installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        kind = event.type()
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        if not isinstance(watched, QWidget) or not (watched is self._target or self._target.isAncestorOf(watched)):
            return False
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_file(event) is not None:
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            path = dropped_file(event)
            if path is not None:
                event.acceptProposedAction()
                self.restore(path)
                return True
        return False

    def restore(self, path: Path) -> bool:
        try:
            restored = restore_from_png(path, model=self._current_model(), tokenizer=self._tokenizer())
        except ValueError as exc:
            self.failed.emit(str(exc))
            return False
        except Exception as exc:  # anything else about a foreign file is still only a message
            self.failed.emit(f"{path.name} could not be read: {exc}")
            return False
        self.restored.emit(restored.request, restored.source, restored.seed_known)
        return True
