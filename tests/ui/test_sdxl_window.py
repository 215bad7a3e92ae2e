"""As a new user: the window loads an SDXL single-file checkpoint, shows its family, and renders with previews."""
from __future__ import annotations

import pytest

from aae_desktop.engine.models.loading import LoadOptions


@pytest.fixture(scope="module")
def sdxl_checkpoint(tmp_path_factory):
    """A tiny SDXL written as a model-site single file, plus the config folder its tiny shapes need."""
    from aae_desktop.engine.models.tiny_model import tiny_sdxl_pipeline
    from tests.engine.ldm_layout import save_config_folder
    from tests.engine.sgm_layout import TINY_SDXL_WIDTHS, save_sdxl_single_file

    pipe = tiny_sdxl_pipeline(seed=0, **TINY_SDXL_WIDTHS)
    folder = tmp_path_factory.mktemp("sdxl-window")
    return save_sdxl_single_file(pipe, folder / "tinyXL_v1.safetensors"), save_config_folder(pipe, folder / "config")


def test_window_loads_an_sdxl_checkpoint_and_renders_with_previews(make_window, qtbot, tmp_path, monkeypatch,
                                                                    sdxl_checkpoint):
    from aae_desktop.engine.models.model_library import ModelLibrary
    from aae_desktop.ui.models.model_controls import ModelControls
    from aae_desktop.ui.run.engine_port import DiffusersEngine

    path, config = sdxl_checkpoint
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "config" / "settings.json"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    window = make_window(engine=DiffusersEngine())
    controls = ModelControls(window, ModelLibrary(), cache_dir=str(tmp_path / "empty-cache"))
    window.prompt_editor.set_prompt("a red cat and a blue frog", "", (3, 7))

    options = LoadOptions(device="cpu", precision="fp32", config_dir=str(config))
    with qtbot.waitSignal(controls.described, timeout=120000):
        window.request_model_load(str(path), options)
    assert window.model_status.text().startswith("tinyXL_v1 · SDXL · cpu")
    assert controls.loaded_facts["Family"] == "SDXL" and controls.loaded_facts["Kind"] == "single file (safetensors)"
    assert "OpenCLIP ViT-bigG" in controls.loaded_facts["Family from"]
    assert window.model_combo.currentText() == "tinyXL_v1  ·  SDXL"
    panel = window.parameters
    assert (panel.width.value(), panel.height.value(), panel.guidance.value()) == (1024, 1024, 5.0)
    # The model's own tokenizer replaced the bundled one; the chosen words are the same words.
    assert [w.text for w in window.prompt_editor.selected_words()] == ["cat", "frog"]

    panel.width.setValue(64)  # a tiny model: keep the run short
    panel.height.setValue(64)
    panel.steps.setValue(4)
    panel.excite.max_iter.setValue(2)
    panel.excite.thresholds.setText("0:0.05")
    previews = []
    window.worker.preview_ready.connect(previews.append)
    ended = []
    window.worker.finished.connect(ended.append)
    window.worker.failed.connect(ended.append)
    window.generate()
    qtbot.waitUntil(lambda: bool(ended), timeout=120000)
    assert not hasattr(ended[0], "kind"), ended[0].message
    result = ended[0].result
    assert result.request.excite.token_indices == (3, 7) and result.request.guidance_scale == 5.0
    assert ended[0].images[0].width() == 64
    assert previews, "no preview reached the window"
