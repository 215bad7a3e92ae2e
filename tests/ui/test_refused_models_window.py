"""In the window: a file or folder the app cannot run gets one sentence in the banner, and the loaded model stays usable."""
from __future__ import annotations

import json

import pytest
import torch

from aae_desktop.engine.models.loading import LoadOptions


@pytest.fixture
def real_window(make_window, tmp_path, monkeypatch):
    from aae_desktop.engine.models.model_library import ModelLibrary
    from aae_desktop.ui.models.model_controls import ModelControls
    from aae_desktop.ui.run.engine_port import DiffusersEngine

    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "config" / "settings.json"))
    window = make_window(engine=DiffusersEngine())
    window.session.load_options = LoadOptions(device="cpu", precision="fp32")
    controls = ModelControls(window, ModelLibrary(), cache_dir=str(tmp_path / "empty-cache"))
    return window, controls


def _lora(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "add-detail-xl.safetensors"
    save_file({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": torch.zeros(1, 640)}, str(path))
    return path


def _refiner_folder(tmp_path):
    folder = tmp_path / "stable-diffusion-xl-refiner-1.0"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLImg2ImgPipeline",
                                                         "requires_aesthetics_score": True}))
    return folder


@pytest.mark.parametrize("make, kind", [(_lora, "is a LoRA"), (_refiner_folder, "is an SDXL refiner")])
def test_refused_model_keeps_the_loaded_one_usable(real_window, qtbot, tiny_model_dir, tmp_path, make, kind):
    window, controls = real_window
    with qtbot.waitSignal(controls.described, timeout=60000):
        window.request_model_load(str(tiny_model_dir))
    refused = make(tmp_path)
    with qtbot.waitSignal(window.worker.failed, timeout=60000) as failed:
        window.request_model_load(str(refused))
    sentence = failed.args[0].message
    assert sentence.startswith(f"{refused.name} {kind}")
    assert sentence.endswith("this app runs complete Stable Diffusion 1.x, 2.x and SDXL text-to-image models.")
    assert "Traceback" not in sentence and "\n" not in sentence
    assert window.banner.isVisible() and window.banner.kind == "error"
    assert sentence.replace("&", "&amp;") in window.banner.message()
    assert "Still using tiny-sd." in window.banner.message()
    assert window.model_source == str(tiny_model_dir) and "(kept" in window.model_status.text()

    window.parameters.set_base(window.parameters.base().__class__(1, 1, 2, 7.5, 64, 64, "default"))
    window.parameters.excite.setChecked(False)  # plain SD: this is about the model, not the excite settings
    window.prompt_editor.set_prompt("a cat and a frog", "", (2, 5))
    ended = []
    window.worker.finished.connect(ended.append)
    window.worker.failed.connect(ended.append)
    window.generate()
    qtbot.waitUntil(lambda: bool(ended), timeout=120000)
    assert not hasattr(ended[0], "kind"), ended[0].message
    assert ended[0].result.request.model == str(tiny_model_dir)
    assert ended[0].images[0].width() == 64
