"""Renders docs/screenshot-main-window.png: the window mid-generation on the tiny model (run by hand).

    QT_QPA_PLATFORM=offscreen python tests/ui/screenshot_main_window.py [OUTPUT.png]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aae_desktop.engine.models.loading import LoadOptions  # noqa: E402
from aae_desktop.settings import SettingsStore  # noqa: E402
from aae_desktop.ui.run.engine_port import DiffusersEngine  # noqa: E402
from aae_desktop.ui.launch import app_icon  # noqa: E402
from aae_desktop.ui.main_window import MainWindow  # noqa: E402
from aae_desktop.ui.style import apply_style  # noqa: E402

PROMPT = "a ginger cat and a green frog sitting on a mossy rock by a pond, golden hour, soft light"


def _install_panels(window) -> None:
    """The same gallery and model panels the real app installs, when those modules are present."""
    try:
        from aae_desktop.ui.gallery.gallery_integration import install_gallery
    except ImportError:
        pass
    else:
        install_gallery(window)
    try:
        from aae_desktop.ui.models.model_controls import install_model_controls
    except ImportError:
        pass
    else:
        install_model_controls(window)


def main(output: Path) -> int:
    from aae_desktop.engine.models.tiny_model import save_tiny_model

    app = QApplication(sys.argv)
    app.setWindowIcon(app_icon())
    apply_style(app)
    scratch = Path(tempfile.mkdtemp(prefix="aae-shot-"))
    model_dir = save_tiny_model(scratch / "tiny-sd", seed=0)
    store = SettingsStore(scratch / "settings.json")
    settings = store.load()
    if hasattr(settings, "gallery_dir"):
        settings.gallery_dir = str(scratch / "gallery")  # keep the user's real gallery out of it
    window = MainWindow(store, engine=DiffusersEngine(), settings=settings)
    _install_panels(window)
    window.resize(1600, 1120)
    window.show()
    phase = {"warmup": True}

    def when_tokenizer_ready(_payload=None) -> None:
        window.prompt_editor.set_prompt(PROMPT, "blurry, low quality, watermark")
        for chip in window.prompt_editor.token_selector.chips:
            if chip.text() in ("cat", "frog"):
                chip.click()
        p = window.parameters
        p.set_seed_mode("locked")
        # A quick small run first, so the gallery has something in it for the picture.
        p.seed.setValue(1233)
        p.steps.setValue(3)
        p.width.setValue(256)
        p.height.setValue(256)
        p.excite.max_iter.setValue(2)
        p.excite.thresholds.setText("0:0.05")
        window.request_model_load(str(model_dir), LoadOptions(device="cpu", precision="fp32"))
        window.generate()

    def main_run(_payload=None) -> None:
        if not phase.pop("warmup", False):
            return
        p = window.parameters
        p.seed.setValue(1234)
        p.steps.setValue(40)
        p.width.setValue(512)
        p.height.setValue(512)
        p.excite.reset_to_paper()
        QTimer.singleShot(500, window.generate)  # after the gallery has taken the first result

    def on_preview(payload) -> None:
        if "warmup" not in phase and payload.step >= 4 and not output.exists():
            window.main_splitter.setSizes([800, 320])  # the preview is the star; the gallery stays in view
            QApplication.processEvents()
            print("splitter", window.main_splitter.sizes())
            window.grab().save(str(output))
            print(f"saved {output}")
            window.close()

    window.worker.tokenizer_loaded.connect(when_tokenizer_ready)
    window.worker.preview_ready.connect(on_preview)
    window.worker.finished.connect(main_run)
    window.worker.failed.connect(lambda f: (print(f"failed: {f.message}"), window.close()))
    show_error = window.banner.show_error

    def stop_on_error(title: str, message: str) -> None:  # a refused Generate must not hang the script
        print(f"error: {title}: {message}")
        show_error(title, message)
        window.close()

    window.banner.show_error = stop_on_error
    QTimer.singleShot(600_000, window.close)
    app.exec()
    return 0 if output.exists() else 1


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "screenshot-main-window.png"
    target.unlink(missing_ok=True)
    raise SystemExit(main(target))
