"""A1111's two-weight LoRA tag, `<lora:NAME:TE:UNET>` or `<lora:NAME:te=TE:unet=UNET>`: parsed, carried by
the request (validated, saved, read back from untrusted files), kept by the tag editors and restored."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file

from aae_desktop.engine.addons.addon_refs import AddonFolders, localize_addons, resolve_addons
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.prompt_syntax import find_lora_tags, set_tag_weight
from aae_desktop.engine.request import ExciteSettings, GenerationRequest, LoraRef


EXCITE = ExciteSettings(token_indices=(2,))


def _weights(prompt):
    return [(t.name, t.weight, t.unet_weight) for t in find_lora_tags(prompt)]


def test_both_a1111_forms_give_a_text_encoder_and_a_unet_weight():
    assert _weights("a cat <lora:ink:0.8:0.5>") == [("ink", 0.8, 0.5)]
    assert _weights("a cat <lora:ink:te=0.8:unet=0.5>") == [("ink", 0.8, 0.5)]
    assert _weights("a cat <lora:ink: unet=0.5 : te=0.8 >") == [("ink", 0.8, 0.5)]  # named: any order
    assert _weights("a cat <lora:ink:0.8:unet=0.5>") == [("ink", 0.8, 0.5)]
    # No UNet weight: it is the text encoder's (as in A1111); None says "the same".
    assert _weights("<lora:ink:0.8> <lora:a> <lora:b:te=0.3>") == [("ink", 0.8, None), ("a", 1.0, None),
                                                                    ("b", 0.3, None)]
    tag = find_lora_tags("<lora:ink:0.8>")[0]
    assert tag.unet == 0.8
    assert find_lora_tags("<lora:ink:0.8:0.5>")[0].unet == 0.5
    bad = find_lora_tags("<lora:ink:0.8:abc> <lora:x:te=0.5:unet=inf>")
    assert bad[0].weight == 0.8 and math.isnan(bad[0].unet_weight) and bad[0].unet_weight_text == "abc"
    assert math.isnan(bad[1].unet_weight)


def test_a_unet_weight_that_is_not_a_number_is_reported_like_a_bad_weight():
    request = GenerationRequest(model="m", excite=EXCITE, prompt="a cat <lora:ink:0.8:abc>", loras=(LoraRef("ink", 0.8),))
    with pytest.raises(InvalidRequest, match=r"^The UNet weight in <lora:ink:0.8:abc> is not a number "
                                             r"\(write e.g. <lora:ink:0.8:0.5>\)"):
        request.validate()


def test_editing_the_weight_keeps_the_unet_weight_of_a_two_weight_tag():
    assert set_tag_weight("a cat, <lora:ink:0.8:0.5>", "ink", 0.6) == "a cat, <lora:ink:0.6:0.5>"
    assert set_tag_weight("a cat, <lora:ink:te=0.8:unet=0.5>", "ink", 0.6) == "a cat, <lora:ink:0.6:0.5>"
    assert set_tag_weight("a cat, <lora:ink:0.8>", "ink", 0.6) == "a cat, <lora:ink:0.6>"


def test_the_unet_weight_is_validated_saved_and_read_back():
    prompt = "a cat <lora:ink:0.8:0.5>"
    request = GenerationRequest(model="m", excite=EXCITE, prompt=prompt, loras=(LoraRef("ink", 0.8, unet_weight=0.5),))
    request.validate()
    data = request.to_dict()
    assert data["loras"][0]["unet_weight"] == 0.5
    assert GenerationRequest.from_dict(data) == request
    # Files written before the UNet weight existed still load: the same weight for both.
    del data["loras"][0]["unet_weight"]
    assert GenerationRequest.from_dict(data).loras[0].unet_weight is None
    for garbage in ("x", [1], float("nan"), True):
        data["loras"][0]["unet_weight"] = garbage
        with pytest.raises(InvalidRequest, match="unet_weight"):
            GenerationRequest.from_dict(data)

    with pytest.raises(InvalidRequest, match="UNet weight 0.5 in the prompt but 0.3 in the LoRA list"):
        request.replace(loras=(LoraRef("ink", 0.8, unet_weight=0.3),)).validate()
    with pytest.raises(InvalidRequest, match="UNet weight 0.5 in the prompt but 0.8 in the LoRA list"):
        request.replace(loras=(LoraRef("ink", 0.8),)).validate()
    too_big = request.replace(prompt="a cat <lora:ink:0.8:12>", loras=(LoraRef("ink", 0.8, unet_weight=12.0),))
    with pytest.raises(InvalidRequest, match=r"UNet weight of the LoRA 'ink' must be between -10 and 10 \(got 12\)"):
        too_big.validate()
    with pytest.raises(InvalidRequest, match="UNet weight 0.5 in the prompt but inf in the LoRA list"):
        request.replace(loras=(LoraRef("ink", 0.8, unet_weight=math.inf),)).validate()
    # Writing the same weight twice is the one-weight tag.
    GenerationRequest(model="m", excite=EXCITE, prompt="a cat <lora:ink:0.8:0.8>", loras=(LoraRef("ink", 0.8),)).validate()


def _fake_lora(path):
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    save_file({f"{key}.lora_down.weight": torch.zeros(2, 32), f"{key}.lora_up.weight": torch.zeros(32, 2)},
              str(path))
    return path


def test_tags_resolve_to_two_weight_refs_and_an_a1111_png_restores_them(tmp_path):
    from aae_desktop.gallery.a1111 import format_parameters, request_from_parameters

    loras = tmp_path / "loras"
    loras.mkdir()
    _fake_lora(loras / "ink.safetensors")
    folders = AddonFolders(loras, tmp_path / "embeddings")
    request = GenerationRequest(model="m", excite=EXCITE, prompt="a cat, <lora:ink:0.8:0.5>")
    resolved = resolve_addons(request, folders)
    assert [(r.name, r.weight, r.unet_weight) for r in resolved.loras] == [("ink", 0.8, 0.5)]
    resolved.validate()
    text = format_parameters(resolved)
    assert text.startswith("a cat, <lora:ink:0.8:0.5>\n") and "Lora hashes: \"ink: " in text
    restored = request_from_parameters(text)
    assert [(r.name, r.weight, r.unet_weight) for r in restored.loras] == [("ink", 0.8, 0.5)]
    local, missing = localize_addons(restored, folders)
    assert not missing and local.loras == resolved.loras
    local.validate()
