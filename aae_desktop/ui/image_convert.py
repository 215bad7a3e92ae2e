"""PIL <-> QImage conversion; safe on any thread because QImage (unlike QPixmap) is not tied to the GUI."""
from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage


def pil_to_qimage(image: Image.Image) -> QImage:
    rgba = image.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    qimage = QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888)
    # copy() detaches from the Python buffer, which is freed when `data` goes out of scope.
    return qimage.copy()
