"""Screenshots of a new user's LoRA + embedding prompt in the whole window (gallery installed), run by hand:

    QT_QPA_PLATFORM=offscreen python tests/ui/screenshot_addons.py OUT_DIR

1-pasted: the prompt pasted (tags coloured, never chips; the embedding one chip; LoRA rows in sync);
2-rendered: rendered on the tiny model and saved to the gallery; 3-wrong-family and 4-broken: an SDXL
LoRA and a file of random bytes added, each refused in the banner before a run is sent; 5-restored:
a fresh window restores the saved PNG from the gallery ("Use all settings") after one of its LoRA
files was removed, and names it with its hash.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aae_desktop.engine.models.loading import LoadOptions  # noqa: E402
from aae_desktop.settings import SettingsStore  # noqa: E402
from aae_desktop.ui.main_window import MainWindow  # noqa: E402
from aae_desktop.ui.run.engine_port import DiffusersEngine  # noqa: E402
from aae_desktop.ui.style import apply_style  # noqa: E402
from tests.ui.screenshot_main_window import _install_panels  # noqa: E402

PROMPT = "a cat and a frog on a mossy rock, <lora:watercolor:0.8>, shinyzq, <lora:ink-lines:0.4:0.7>"


def _folders(scratch: Path) -> None:
    from aae_desktop.engine.models.tiny_model import tiny_pipeline, tiny_sdxl_pipeline
    from tests.engine.addon_fixtures import write_embedding, write_lora

    pipe = tiny_pipeline(0)
    write_lora(scratch / "loras" / "styles" / "watercolor.safetensors", pipe, "kohya", seed=1,
               metadata={"ss_base_model_version": "sd_v1"})
    write_lora(scratch / "loras" / "ink-lines.safetensors", pipe, "diffusers", seed=2)
    write_lora(scratch / "loras" / "xl-style.safetensors", tiny_sdxl_pipeline(0), "kohya", seed=3)
    (scratch / "loras" / "broken.safetensors").write_bytes(os.urandom(4000))
    write_embedding(scratch / "embeddings" / "shinyzq.pt", (32,), vectors=3)


def main(out: Path) -> int:
    from aae_desktop.engine.models.tiny_model import save_tiny_model

    app = QApplication(sys.argv)
    apply_style(app)
    scratch = Path(tempfile.mkdtemp(prefix="aae-addons-"))
    model_dir = save_tiny_model(scratch / "tiny-sd", seed=0)
    _folders(scratch)
    store = SettingsStore(scratch / "settings.json")
    settings = store.load()
    settings.gallery_dir = str(scratch / "gallery")
    settings.lora_dir, settings.embeddings_dir = str(scratch / "loras"), str(scratch / "embeddings")
    store.save(settings)
    window = MainWindow(store, engine=DiffusersEngine(), settings=settings)
    _install_panels(window)
    window.resize(1500, 1000)
    window.show()
    state: dict = {}

    def shot(target: MainWindow, name: str) -> None:
        QApplication.processEvents()
        target.grab().save(str(out / name))
        banner = "" if target.banner.isHidden() else f" | banner: {target.banner.message()}"
        print(f"{name}: LoRA rows {target.addons.row_names()}, chips "
              f"{[c.text() for c in target.prompt_editor.token_selector.chips]}{banner}", flush=True)

    def start(_payload=None) -> None:
        if not state.get("started"):
            state["started"] = True
            window.prompt_editor.set_prompt(PROMPT, "blurry, low quality")
            QTimer.singleShot(1500, pasted)  # after the folder scan gave the editor its embeddings

    def pasted() -> None:
        for chip in window.prompt_editor.token_selector.chips:
            if chip.text() in ("cat", "frog", "shinyzq"):
                chip.click()
        shot(window, "1-pasted.png")
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

    def saved(items) -> None:
        if state.get("saved"):
            return
        state["saved"] = items[0].path
        shot(window, "2-rendered.png")
        refused("xl-style", "3-wrong-family.png", lambda: refused("broken", "4-broken.png", restore))

    def refused(lora: str, name: str, then) -> None:
        for row in window.addons.row_names():
            if row in ("xl-style", "broken"):
                window.addons.remove_lora(row)
        window.addons.add_lora(lora)
        window.generate()  # refused at once, in the banner
        QTimer.singleShot(500, lambda: (shot(window, name), then()))

    def restore() -> None:
        (scratch / "loras" / "ink-lines.safetensors").unlink()  # the restoring computer lacks one file
        fresh = MainWindow(store, engine=DiffusersEngine(), settings=store.load())
        _install_panels(fresh)
        fresh.resize(1500, 1000)
        fresh.show()
        state["fresh"] = fresh

        def use_all_settings() -> None:
            if state.get("restored"):
                return  # the tokenizer can arrive twice: the window asks for it, and so does this script
            state["restored"] = True
            fresh.gallery.gallery.select_path(state["saved"])
            fresh.gallery.gallery.use_all_settings()
            QTimer.singleShot(1500, lambda: (shot(fresh, "5-restored.png"), fresh.close(), window.close(),
                                             app.quit()))

        fresh.worker.tokenizer_loaded.connect(lambda _p=None: QTimer.singleShot(2000, use_all_settings))
        fresh.worker.load_tokenizer()

    window.worker.tokenizer_loaded.connect(start)
    window.gallery.gallery.saved.connect(saved)
    window.worker.failed.connect(lambda f: print(f"failed: {f.message}"))
    QTimer.singleShot(300_000, app.quit)
    app.exec()
    return 0 if (out / "5-restored.png").exists() else 1


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    target.mkdir(parents=True, exist_ok=True)
    raise SystemExit(main(target))
