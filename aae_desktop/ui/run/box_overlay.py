"""Boxes drawn over the preview: where each placed word should go (BoxDiff), drawn, moved and resized
with the mouse, nudged with the arrow keys and deleted with Delete.

The overlay knows only the image's rectangle on screen (the preview tells it on each paint); boxes
are kept in 0-1 of the image, so they stay in place when the preview is resized or the image's
aspect changes. It does not snap: the artist's box is the box.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QPainter, QPen

from aae_desktop.engine.objectives.box_settings import Box
from aae_desktop.ui.prompt.word_boxes import clamp_box, moved_box

GRIP = 7  # pixels from an edge that grab the edge instead of the box
NUDGE, BIG_NUDGE = 0.01, 0.05  # arrow keys move by 1% of the image, 5% with Shift


@dataclass(frozen=True)
class BoxItem:
    word_index: int
    label: str
    colour: str
    box: Box


class BoxOverlay(QObject):
    """Paints the boxes and edits them; installed on the preview widget as an event filter."""

    box_changed = Signal(int, object)  # word index, new box (0-1 of the image)
    box_deleted = Signal(int)  # word index
    placing_changed = Signal(str)  # the word being placed, "" when none

    def __init__(self, widget, image_rect):
        """`image_rect()` is where the image is drawn in `widget` now (it moves with resizes and sizes)."""
        super().__init__(widget)
        self._widget = widget
        self._image_rect = image_rect
        self.items: list[BoxItem] = []
        self.selected: int | None = None  # word index
        self._placing: BoxItem | None = None  # the word whose box the next drag draws
        self._drag: tuple[str, int, QPointF, Box] | None = None  # (what, word index, start, box at start)
        widget.installEventFilter(self)
        widget.setMouseTracking(True)
        widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    # -- state ----------------------------------------------------------------------------------------
    def set_items(self, items: list[BoxItem]) -> None:
        self.items = list(items)
        if self.selected is not None and all(i.word_index != self.selected for i in self.items):
            self.selected = None
        self._widget.update()

    @property
    def placing(self) -> str:
        return self._placing.label if self._placing else ""

    def start_placing(self, word_index: int, label: str, colour: str) -> None:
        """The next drag on the image draws this word's box."""
        self._placing = BoxItem(word_index, label, colour, (0.0, 0.0, 0.0, 0.0))
        self._widget.setCursor(Qt.CursorShape.CrossCursor)
        self._widget.setFocus()
        self.placing_changed.emit(label)
        self._widget.update()

    def stop_placing(self) -> None:
        self._placing = None
        self._widget.unsetCursor()
        self.placing_changed.emit("")
        self._widget.update()

    @property
    def _image(self) -> QRectF:
        return QRectF(self._image_rect())

    # -- geometry -------------------------------------------------------------------------------------
    def to_screen(self, box: Box) -> QRectF:
        x0, y0, x1, y1 = box
        r = self._image
        return QRectF(r.left() + x0 * r.width(), r.top() + y0 * r.height(), (x1 - x0) * r.width(),
                      (y1 - y0) * r.height())

    def to_image(self, point: QPointF) -> tuple[float, float]:
        r = self._image
        if r.width() <= 0 or r.height() <= 0:
            return 0.0, 0.0
        return (point.x() - r.left()) / r.width(), (point.y() - r.top()) / r.height()

    def _hit(self, point: QPointF) -> tuple[str, int] | None:
        """("move" | edges like "left top", word index) of the topmost box under the point."""
        for item in reversed(self.items):
            rect = self.to_screen(item.box)
            if not rect.adjusted(-GRIP, -GRIP, GRIP, GRIP).contains(point):
                continue
            edges = []
            if abs(point.x() - rect.left()) <= GRIP:
                edges.append("left")
            elif abs(point.x() - rect.right()) <= GRIP:
                edges.append("right")
            if abs(point.y() - rect.top()) <= GRIP:
                edges.append("top")
            elif abs(point.y() - rect.bottom()) <= GRIP:
                edges.append("bottom")
            if edges:
                return " ".join(edges), item.word_index
            if rect.contains(point):
                return "move", item.word_index
        return None

    def _item(self, word_index: int) -> BoxItem | None:
        return next((i for i in self.items if i.word_index == word_index), None)

    # -- painting -------------------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        for item in self.items:
            self._paint_box(painter, item, item.word_index == self.selected)
        if self._placing is not None and self._drag is None:
            painter.setPen(QColor("#e6e8ee"))
            painter.drawText(self._image.adjusted(8, 8, -8, -8).toRect(),
                             Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter,
                             f"Drag a box for “{self._placing.label}” (Esc: stop)")
        painter.restore()

    def _paint_box(self, painter: QPainter, item: BoxItem, selected: bool) -> None:
        rect = self.to_screen(item.box)
        colour = QColor(item.colour)
        fill = QColor(colour)
        fill.setAlpha(40)
        painter.fillRect(rect, fill)
        painter.setPen(QPen(colour, 3 if selected else 2, Qt.PenStyle.DashLine if selected else Qt.PenStyle.SolidLine))
        painter.drawRect(rect)
        metrics = painter.fontMetrics()
        tag = QRect(0, 0, metrics.horizontalAdvance(item.label) + 10, metrics.height() + 4)
        tag.moveBottomLeft(rect.topLeft().toPoint())
        if tag.top() < self._image.top():  # a box at the top edge carries its label inside
            tag.moveTopLeft(rect.topLeft().toPoint())
        painter.fillRect(tag, colour)
        painter.setPen(QColor("#15171b"))
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, item.label)

    # -- events ---------------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt naming)
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            return self._press(event.position())
        if kind == QEvent.Type.MouseMove:
            return self._move(event.position())
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            return self._release()
        if kind == QEvent.Type.ShortcutOverride and self._wants_key(event.key()):
            event.accept()  # Esc and Delete belong to the box while one is being placed or is selected
            return True
        if kind == QEvent.Type.KeyPress and self._wants_key(event.key()):
            return self._key(event.key(), event.modifiers())
        return False

    def _wants_key(self, key) -> bool:
        if key == Qt.Key.Key_Escape:
            return self._placing is not None or self.selected is not None
        return self.selected is not None and key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up,
                                                     Qt.Key.Key_Down, Qt.Key.Key_Delete, Qt.Key.Key_Backspace)

    def _press(self, point: QPointF) -> bool:
        if self._image.width() <= 0:
            return False
        if self._placing is not None:
            if not self._image.contains(point):
                return True
            x, y = self.to_image(point)
            self._drag = ("draw", self._placing.word_index, point, (x, y, x, y))
            return True
        hit = self._hit(point)
        self.selected = hit[1] if hit else None
        if hit:
            item = self._item(hit[1])
            self._drag = (hit[0], hit[1], point, item.box)
        self._widget.update()
        return hit is not None

    def _move(self, point: QPointF) -> bool:
        if self._drag is None:
            hit = None if self._placing else self._hit(point)
            self._widget.setCursor(self._cursor(hit[0]) if hit else QCursor(
                Qt.CursorShape.CrossCursor if self._placing else Qt.CursorShape.ArrowCursor))
            return False
        what, index, start, box = self._drag
        x, y = self.to_image(point)
        sx, sy = self.to_image(start)
        x0, y0, x1, y1 = box
        if what == "draw":
            new = (min(sx, x), min(sy, y), max(sx, x), max(sy, y))
        elif what == "move":
            new = moved_box(box, x - sx, y - sy)
        else:
            new = (x if "left" in what else x0, y if "top" in what else y0,
                   x if "right" in what else x1, y if "bottom" in what else y1)
        self._show_live(index, clamp_box(new))
        return True

    def _show_live(self, index: int, box: Box) -> None:
        """The box follows the mouse; the word's box changes for good when the button is released."""
        source = self._placing if self._placing and self._placing.word_index == index else self._item(index)
        live = BoxItem(index, source.label, source.colour, box)
        self.items = [i for i in self.items if i.word_index != index] + [live]
        self._widget.update()

    def _release(self) -> bool:
        if self._drag is None:
            return False
        index = self._drag[1]
        self._drag = None
        item = self._item(index)
        if self._placing is not None:
            self._placing = None
            self._widget.unsetCursor()
            self.placing_changed.emit("")
        if item is not None:
            self.selected = index
            self.box_changed.emit(index, item.box)
        return True

    def _key(self, key, modifiers) -> bool:
        if key == Qt.Key.Key_Escape:
            if self._placing is not None:
                self.stop_placing()
            else:
                self.selected = None
                self._widget.update()
            return True
        item = self._item(self.selected)
        if item is None:
            return False
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.selected = None
            self.box_deleted.emit(item.word_index)
            return True
        step = BIG_NUDGE if modifiers & Qt.KeyboardModifier.ShiftModifier else NUDGE
        dx = {Qt.Key.Key_Left: -step, Qt.Key.Key_Right: step}.get(key, 0.0)
        dy = {Qt.Key.Key_Up: -step, Qt.Key.Key_Down: step}.get(key, 0.0)
        self.box_changed.emit(item.word_index, moved_box(item.box, dx, dy))
        return True

    @staticmethod
    def _cursor(what: str) -> QCursor:
        shapes = {"move": Qt.CursorShape.SizeAllCursor, "left": Qt.CursorShape.SizeHorCursor,
                  "right": Qt.CursorShape.SizeHorCursor, "top": Qt.CursorShape.SizeVerCursor,
                  "bottom": Qt.CursorShape.SizeVerCursor, "left top": Qt.CursorShape.SizeFDiagCursor,
                  "right bottom": Qt.CursorShape.SizeFDiagCursor, "right top": Qt.CursorShape.SizeBDiagCursor,
                  "left bottom": Qt.CursorShape.SizeBDiagCursor}
        return QCursor(shapes.get(what, Qt.CursorShape.ArrowCursor))
