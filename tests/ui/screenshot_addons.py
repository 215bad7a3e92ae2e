"""Screenshots of a new user's LoRA + embedding prompt: rendered on the tiny model, then restored from
the saved PNG in a fresh window, with one of its files gone (run by hand):

    QT_QPA_PLATFORM=offscreen python tests/ui/screenshot_addons.py OUT_DIR
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aae_desktop.engine.models import LoadOptions  # noqa: E402
from aae_desktop.settings import SettingsStore  # noqa: E402
from aae_desktop.ui.main_window import MainWindow  # noqa: E402
from aae_desktop.ui.run.engine_port import ProcessEngine  # noqa: E402
from aae_desktop.ui.style import apply_style  # noqa: E402

PROMPT = "a cat and a frog on a mossy rock, <lora:watercolor:0.8>, shinyzq, <lora:ink-lines:0.4>"


def main(out: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from aae_desktop.engine.tiny_model import save_tiny_model, tiny_pipeline
    from tests.engine.addon_fixtures import write_embedding, write_lora

    app = QApplication(sys.argv)
    apply_style(app)
    scratch = Path(tempfile.mkdtemp(prefix="aae-addons-"))
    model_dir = save_tiny_model(scratch / "tiny-sd", seed=0)
    pipe = tiny_pipeline(0)
    write_lora(scratch / "loras" / "styles" / "watercolor.safetensors", pipe, "kohya", seed=1,
               metadata={"ss_base_model_version": "sd_v1"})
    write_lora(scratch / "loras" / "ink-lines.safetensors", pipe, "diffusers", seed=2)
    write_embedding(scratch / "embeddings" / "shinyzq.pt", (32,), vectors=3)
    store = SettingsStore(scratch / "settings.json")
    settings = store.load()
    settings.gallery_dir = str(scratch / "gallery")
    settings.lora_dir, settings.embeddings_dir = str(scratch / "loras"), str(scratch / "embeddings")
    window = MainWindow(store, engine=ProcessEngine(), settings=settings)
    window.resize(1500, 1000)
    window.show()
    saved: list = []

    def start(_payload=None) -> None:
        window.prompt_editor.set_prompt(PROMPT, "blurry, low quality")
        for chip in window.prompt_editor.token_selector.chips:
            if chip.text() in ("cat", "frog", "shinyzq"):
                chip.click()
        p = window.parameters
        p.set_seed_mode("locked")
        p.seed.setValue(7)
        p.steps.setValue(4)
        p.width.setValue(128)
        p.height.setValue(128)
        p.excite.max_iter.setValue(2)
        p.excite.thresholds.setText("0:0.05")
        window.request_model_load(str(model_dir), LoadOptions(device="cpu", precision="fp32"))
        window.generate()

    def finished(payload) -> None:
        window.grab().save(str(out / "addons-rendered.png"))
        from aae_desktop.gallery.metadata import png_info

        result = payload.result
        image = result.images[0]
        path = out / "addons-result.png"
        image.image.save(str(path), pnginfo=png_info(image.request))
        saved.append(path)
        (scratch / "loras" / "ink-lines.safetensors").unlink()  # the restoring computer lacks one file
        restore()

    def restore() -> None:
        from aae_desktop.gallery.metadata import restore_from_png

        fresh = MainWindow(store, engine=ProcessEngine(), settings=store.load())
        fresh.resize(1500, 1000)
        fresh.show()

        def apply(_payload=None) -> None:
            fresh.apply_request(restore_from_png(saved[0]).request)
            QTimer.singleShot(1500, lambda: (fresh.grab().save(str(out / "addons-restored.png")),
                                             print("saved"), fresh.close(), window.close()))

        fresh.worker.tokenizer_loaded.connect(apply)
        fresh.worker.load_tokenizer()

    window.worker.tokenizer_loaded.connect(start)
    window.worker.finished.connect(finished)
    window.worker.failed.connect(lambda f: (print(f"failed: {f.message}"), window.close()))
    QTimer.singleShot(400_000, app.quit)
    app.exec()
    return 0 if (out / "addons-restored.png").exists() else 1


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    target.mkdir(parents=True, exist_ok=True)
    raise SystemExit(main(target))
