"""check_source: what a load would refuse, found without reading any weights (the worker runs it before
freeing the current model)."""
from __future__ import annotations

import pytest

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.loading import LoadOptions, check_source
from tests.engine.test_models_unsupported_folders import pipeline_files, write_folder


@pytest.mark.parametrize("make, says", [
    (lambda tmp: tmp / "nowhere", "not found"),
    (lambda tmp: (tmp / "notes.txt").write_text("hi") and tmp / "notes.txt", "is not a model"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "model_index.json is missing"),
    (lambda tmp: write_folder(tmp / "refiner", pipeline_files("StableDiffusionXLImg2ImgPipeline",
                                                              requires_aesthetics_score=True)), "refiner"),
    (lambda tmp: (tmp / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
     and tmp / "broken.safetensors", "safetensors"),
])
def test_refusals_a_load_would_give_are_found_up_front(tmp_path, make, says):
    with pytest.raises(ModelLoadError, match=says):
        check_source(str(make(tmp_path)), LoadOptions(device="cpu"))


def test_a_loadable_folder_and_an_unavailable_device(tiny_model_dir):
    check_source(str(tiny_model_dir), LoadOptions(device="cpu"))  # passes: nothing read but configs
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="CUDA"):
            check_source(str(tiny_model_dir), LoadOptions(device="cuda"))
