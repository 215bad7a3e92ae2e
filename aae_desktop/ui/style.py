"""The app's look: Fusion with a dark, low-glare palette so images, not chrome, carry the colour."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#5b8def"

STYLESHEET = f"""
QToolButton#wordChip {{
    border: 1px solid #4a4f5c; border-radius: 11px; padding: 3px 10px;
    background: #2b2e36; color: #d7dae0;
}}
QToolButton#wordChip:hover {{ border-color: {ACCENT}; }}
QToolButton#wordChip:checked {{ background: {ACCENT}; border-color: {ACCENT}; color: white; font-weight: bold; }}
QToolButton#wordChip:disabled {{ color: #6b6f7a; border-style: dashed; }}
QLabel#caption {{ color: #9aa0ad; font-weight: bold; }}
QLabel[role="problem"] {{ color: #ff8a80; }}
QLabel[role="note"] {{ color: #9ec1ff; }}
QFrame#messageBanner[kind="error"] {{ background: #5a2a2a; border: 1px solid #a84a4a; border-radius: 6px; }}
QFrame#messageBanner[kind="info"] {{ background: #2a3a5a; border: 1px solid #4a6aa8; border-radius: 6px; }}
QPushButton#generateButton {{
    background: {ACCENT}; color: white; font-weight: bold; padding: 8px 18px; border-radius: 6px; border: none;
}}
QPushButton#generateButton:disabled {{ background: #3a4560; color: #9aa3b8; }}
QPushButton#cancelButton {{ padding: 8px 14px; border-radius: 6px; border: 1px solid #4a4f5c; }}
QPushButton#cancelButton:enabled {{ border-color: #a84a4a; color: #ffb4ab; }}
QProgressBar#progressBar {{ border: 1px solid #3a3e48; border-radius: 5px; text-align: center; min-height: 20px; }}
QProgressBar#progressBar::chunk {{ background: #3d5a99; border-radius: 4px; }}
QGroupBox {{ font-weight: bold; border: 1px solid #3a3e48; border-radius: 6px; margin-top: 12px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; }}
QListView#galleryView {{ background: #1b1d22; border: none; }}
/* Qt draws its menu arrow over the last letter of a short button's text: these buttons say ▾ instead. */
QToolButton#addLoraButton::menu-indicator, QToolButton#addonFoldersButton::menu-indicator,
QToolButton#galleryMoreButton::menu-indicator {{ image: none; width: 0px; }}
"""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#23252b",
        QPalette.ColorRole.WindowText: "#d7dae0",
        QPalette.ColorRole.Base: "#1b1d22",
        QPalette.ColorRole.AlternateBase: "#2b2e36",
        QPalette.ColorRole.Text: "#e4e6eb",
        QPalette.ColorRole.Button: "#2f323b",
        QPalette.ColorRole.ButtonText: "#d7dae0",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2f323b",
        QPalette.ColorRole.ToolTipText: "#e4e6eb",
        QPalette.ColorRole.PlaceholderText: "#6f7482",
        QPalette.ColorRole.Mid: "#6f7482",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6f7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b6f7a"))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
