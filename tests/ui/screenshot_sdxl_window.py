"""Screenshot of the window rendering a tiny SDXL single-file checkpoint, as a new user would (run by hand).

    QT_QPA_PLATFORM=offscreen python tests/ui/screenshot_sdxl_window.py [OUTPUT.png]

The checkpoint is a tiny random SDXL written in the layout of SDXL files on model sites (so the
preview is noise); it needs its own config folder because its shapes are tiny. The picture is
taken mid-run, once a few previews have arrived: family in the status bar and the model box,
SDXL size presets, the note saying what followed the family, the chosen words, the progress.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.engine helpers

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aae_desktop.engine.models.loading import LoadOptions  # noqa: E402
from aae_desktop.settings import SettingsStore  # noqa: E402
from aae_desktop.ui.launch import app_icon  # noqa: E402
from aae_desktop.ui.main_window import MainWindow  # noqa: E402
from aae_desktop.ui.models.model_controls import install_model_controls  # noqa: E402
from aae_desktop.ui.run.engine_port import DiffusersEngine  # noqa: E402
from aae_desktop.ui.style import apply_style  # noqa: E402

PROMPT = "a red cat and a blue frog on a mossy rock, golden hour"


def main(output: Path) -> int:
    from aae_desktop.engine.models.tiny_model import tiny_sdxl_pipeline
    from tests.engine.ldm_layout import save_config_folder
    from tests.engine.sgm_layout import TINY_SDXL_WIDTHS, save_sdxl_single_file

    app = QApplication(sys.argv)
    app.setWindowIcon(app_icon())
    apply_style(app)
    scratch = Path(tempfile.mkdtemp(prefix="aae-sdxl-shot-"))
    os.environ["AAE_DESKTOP_CONFIG"] = str(scratch / "settings.json")
    pipe = tiny_sdxl_pipeline(seed=0, **TINY_SDXL_WIDTHS)
    checkpoint = save_sdxl_single_file(pipe, scratch / "tinyXL_v1.safetensors")
    config = save_config_folder(pipe, scratch / "tinyXL-config")
    store = SettingsStore(scratch / "settings.json")
    window = MainWindow(store, engine=DiffusersEngine(), settings=store.load())
    controls = install_model_controls(window)
    window.resize(1500, 980)
    window.show()
    previews = []

    def when_tokenizer_ready(_payload=None) -> None:
        window.prompt_editor.set_prompt(PROMPT, "blurry, low quality")
        for chip in window.prompt_editor.token_selector.chips:
            if chip.text() in ("cat", "frog"):
                chip.click()
        window.request_model_load(str(checkpoint), LoadOptions(device="cpu", precision="fp32", config_dir=str(config)))

    def when_described(_facts) -> None:
        p = window.parameters
        p.set_seed_mode("locked")
        p.seed.setValue(1234)
        p.steps.setValue(30)
        p.excite.max_iter.setValue(15)
        # 1024 x 1024 is what SDXL asks for and what the panel now shows; the tiny model renders it as noise.
        QTimer.singleShot(200, window.generate)

    def on_preview(payload) -> None:
        previews.append(payload.step)
        if len(previews) == 3 and not output.exists():
            QApplication.processEvents()
            window.grab().save(str(output))
            print(f"saved {output} at step {payload.step}; status: {window.model_status.text()}")
            window.cancel()
            QTimer.singleShot(500, window.close)

    window.worker.tokenizer_loaded.connect(when_tokenizer_ready)
    controls.described.connect(when_described)
    window.worker.preview_ready.connect(on_preview)
    window.worker.failed.connect(lambda f: (print(f"failed: {f.message}"), window.close()))
    QTimer.singleShot(900_000, window.close)
    app.exec()
    return 0 if output.exists() else 1


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "aae-sdxl-window.png"
    target.unlink(missing_ok=True)
    raise SystemExit(main(target))
