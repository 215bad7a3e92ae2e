"""A LoRA tag with a typo names the file it probably meant, as the README promises (issue 20 §6)."""
from __future__ import annotations

import pytest

from aae_desktop.engine.addons.addon_refs import AddonFolders, resolve_addons
from aae_desktop.engine.errors import AddonError
from aae_desktop.engine.request import ExciteSettings, GenerationRequest


@pytest.fixture
def folders(tmp_path):
    loras = tmp_path / "loras"
    loras.mkdir()
    for name in ("watercolor", "ink", "pixel-art"):
        (loras / f"{name}.safetensors").write_bytes(b"")  # never opened: the tag's name is wrong first
    return AddonFolders(loras, tmp_path / "embeddings")


def _refusal(folders, prompt: str) -> str:
    request = GenerationRequest(model="m", prompt=prompt, excite=ExciteSettings(enabled=False))
    with pytest.raises(AddonError) as caught:
        resolve_addons(request, folders)
    return str(caught.value)


@pytest.mark.parametrize("typed, meant", [("watercolour", "watercolor"), ("watercolr", "watercolor"),
                                          ("pixelart", "pixel-art"), ("Inks", "ink")])
def test_a_misspelt_lora_names_the_file_it_probably_meant(folders, typed, meant):
    message = _refusal(folders, f"a cat and a frog, <lora:{typed}:0.8>")
    assert message.startswith(f"The LoRA '{typed}' is not in the LoRA folder")
    assert message.endswith(f"Did you mean {meant}?")


def test_a_name_like_none_of_the_files_gets_no_guess(folders):
    message = _refusal(folders, "a cat, <lora:lighthouse:0.8>")
    assert "is not in the LoRA folder" in message and "Did you mean" not in message
