"""LoRAs and embeddings in the engine: the same image as diffusers' own loaders, nothing leaks between
runs, and a wrong-family, damaged or missing file stops the run before anything changes."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from aae_desktop.engine.addons import addon_files
from aae_desktop.engine.addons.addon_loading import loaded_adapter_count, prepare_addons
from aae_desktop.engine.errors import AddonError
from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
from aae_desktop.engine.request import EmbeddingRef, LoraRef
from aae_desktop.engine.tokens import engine_prompt, tokenize_request
from tests.engine.addon_fixtures import write_embedding, write_lora
from tests.engine.helpers import small_request


def _fresh(family: str):
    from aae_desktop.engine.models.tiny_model import tiny_pipeline, tiny_sdxl_pipeline

    pipe = tiny_sdxl_pipeline(0) if family == "sdxl" else tiny_pipeline(0)
    pipe.set_progress_bar_config(disable=True)
    pipe.tokenizer = copy.deepcopy(pipe.tokenizer)  # the bundled tokenizer is shared; embeddings add to it
    return pipe


@pytest.fixture(scope="module")
def ours():
    return {family: wrap_pipeline(_fresh(family), f"tiny-{family}", LoadOptions(device="cpu", precision="fp32"),
                                  family=family) for family in ("sd1", "sdxl")}


@pytest.fixture(scope="module")
def reference():
    return {family: _fresh(family) for family in ("sd1", "sdxl")}


def lora_ref(path, weight=1.0, unet_weight=None):
    return LoraRef(path.stem, weight, addon_files.lora_hash(path), str(path), unet_weight)


def embedding_ref(path, vectors):
    return EmbeddingRef(path.stem, vectors, addon_files.file_hash(path), str(path))


def plain(family, prompt="a cat and a frog", **changes):
    changes.setdefault("guidance_scale", 5.0 if family == "sdxl" else 7.5)
    changes.setdefault("excite", {"enabled": False})
    return small_request(prompt=prompt, width=64, height=64, steps=4, **changes)


def image(model, request):
    return np.asarray(generate(model, request, preview_every=0).images[0].image).astype(int)


def reference_image(pipe, request, prompt):
    result = pipe(prompt=prompt, height=request.height, width=request.width, num_inference_steps=request.steps,
                  guidance_scale=request.guidance_scale, generator=torch.Generator("cpu").manual_seed(request.seed))
    return np.asarray(result.images[0]).astype(int)


@pytest.mark.parametrize("family,layout,weight", [("sd1", "kohya", 0.7), ("sd1", "diffusers", 1.3),
                                                  ("sdxl", "kohya", 0.6), ("sdxl", "diffusers", 1.0)])
def test_a_lora_gives_the_image_of_diffusers_own_lora_loader(ours, reference, tmp_path, family, layout, weight):
    path = write_lora(tmp_path / f"style-{layout}.safetensors", reference[family], layout, seed=3)
    request = plain(family, f"a cat and a frog, <lora:{path.stem}:{weight}>", loras=(lora_ref(path, weight),))
    mine = image(ours[family], request)

    pipe = reference[family]
    pipe.load_lora_weights(str(path), adapter_name="style")
    pipe.set_adapters(["style"], adapter_weights=[weight])
    try:
        theirs = reference_image(pipe, request, "a cat and a frog, ")
    finally:
        pipe.unload_lora_weights()
    bare = reference_image(pipe, request, "a cat and a frog, ")
    assert np.abs(mine - theirs).max() <= 1
    assert np.abs(mine - bare).max() > 8  # the LoRA changes the image: the comparison can fail


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_separate_text_encoder_and_unet_weights_give_diffusers_per_component_adapter_weights(ours, reference,
                                                                                              tmp_path, family):
    path = write_lora(tmp_path / "style.safetensors", reference[family], "kohya", seed=6)
    te, unet = 0.9, 0.3
    encoders = ours[family].family_spec.text_encoders
    request = plain(family, f"a cat and a frog, <lora:style:{te}:{unet}>", loras=(lora_ref(path, te, unet),))
    mine = image(ours[family], request)
    same = image(ours[family], plain(family, f"a cat and a frog, <lora:style:{te}:{te}>",
                                     loras=(lora_ref(path, te, te),)))
    single = image(ours[family], plain(family, f"a cat and a frog, <lora:style:{te}>", loras=(lora_ref(path, te),)))

    pipe = reference[family]
    pipe.load_lora_weights(str(path), adapter_name="style")
    try:
        pipe.set_adapters(["style"], adapter_weights=[{"unet": unet, **{name: te for name in encoders}}])
        theirs = reference_image(pipe, request, "a cat and a frog, ")
    finally:
        pipe.unload_lora_weights()
    assert np.abs(mine - theirs).max() <= 1
    assert np.array_equal(same, single)  # the same weight twice is today's one-weight tag
    assert np.abs(mine - single).max() > 8  # the UNet weight changes the image: the comparison can fail
    assert loaded_adapter_count(ours[family].pipe) == 1


def test_weight_zero_and_switching_back_to_no_lora_give_the_bare_models_image(ours, tmp_path):
    model = ours["sd1"]
    bare = image(model, plain("sd1"))
    path = write_lora(tmp_path / "a.safetensors", model.pipe, "kohya", seed=1)
    other = write_lora(tmp_path / "b.safetensors", model.pipe, "diffusers", seed=2)
    pipe_before = model.pipe.unet

    at_zero = image(model, plain("sd1", "a cat and a frog <lora:a:0>", loras=(lora_ref(path, 0.0),)))
    with_a = image(model, plain("sd1", "a cat and a frog <lora:a:1>", loras=(lora_ref(path),)))
    both = image(model, plain("sd1", "a cat and a frog <lora:a:1> <lora:b:0.5>",
                              loras=(lora_ref(path), lora_ref(other, 0.5))))
    assert loaded_adapter_count(model.pipe) == 2
    only_b = image(model, plain("sd1", "a cat and a frog <lora:b:0.5>", loras=(lora_ref(other, 0.5),)))
    assert loaded_adapter_count(model.pipe) == 1
    after = image(model, plain("sd1"))
    assert loaded_adapter_count(model.pipe) == 0

    assert model.pipe.unet is pipe_before  # never reloaded
    assert np.array_equal(at_zero, bare)
    assert np.array_equal(after, bare)
    assert np.abs(with_a - bare).max() > 8 and np.abs(both - with_a).max() > 8 and np.abs(only_b - both).max() > 8


def test_an_embedding_word_gives_the_image_of_diffusers_textual_inversion_loader(ours, reference, tmp_path):
    path = write_embedding(tmp_path / "shiny-style.pt", (32,), vectors=3, seed=4)
    request = plain("sd1", "a shiny-style cat and a frog", negative_prompt="Shiny-Style, blurry",
                    embeddings=(embedding_ref(path, 3),))
    words = tokenize_request(ours["sd1"].pipe.tokenizer, request).words
    assert [w.token_indices for w in words if w.text == "shiny-style"] == [(2, 3, 4)]
    mine = image(ours["sd1"], request)

    pipe = reference["sd1"]
    pipe.load_textual_inversion(str(path), token="shiny-style")
    try:
        theirs = pipe(prompt="a shiny-style cat and a frog", negative_prompt="shiny-style, blurry",
                      height=64, width=64, num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                      generator=torch.Generator("cpu").manual_seed(request.seed)).images[0]
    finally:
        pipe.unload_textual_inversion()
    assert np.abs(mine - np.asarray(theirs).astype(int)).max() <= 1
    # Without the embedding the word is three other tokens, and another image.
    assert np.abs(mine - image(ours["sd1"], plain("sd1", "a shiny-style cat and a frog"))).max() > 8


def test_sdxl_embeddings_load_into_both_encoders_and_chips_match_the_engines_tokens(ours, reference, tmp_path):
    model = ours["sdxl"]
    path = write_embedding(tmp_path / "glowzq.safetensors", (32, 32), vectors=2, seed=5)
    request = plain("sdxl", "a glowzq cat and a frog",
                    embeddings=(embedding_ref(path, 2),), excite={"enabled": True, "token_indices": (2, 3)})
    tokens = prepare_addons(model, request)
    for tokenizer in (model.pipe.tokenizer, model.pipe.tokenizer_2):
        text = model.pipe.maybe_convert_prompt(engine_prompt(request.prompt, tokens), tokenizer)  # as encode_prompt
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        text = tokenizer.convert_ids_to_tokens(ids)
        assert text[1:3] == [tokens["glowzq"], tokens["glowzq"] + "_1"]  # what the chip "glowzq" says: indices 2, 3
    assert [w.token_indices for w in tokenize_request(model.pipe.tokenizer, request).words][:3] == [(1,), (2, 3), (4,)]
    generate(model, request, preview_every=0)  # the embedding word can be excited

    # Same image as diffusers' loader given each part for its encoder (diffusers' documented way).
    from safetensors.torch import load_file

    pipe, parts = reference["sdxl"], load_file(str(path))
    pipe.load_textual_inversion(parts["clip_l"], token="glowzq", text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)
    pipe.load_textual_inversion(parts["clip_g"], token="glowzq", text_encoder=pipe.text_encoder_2,
                                tokenizer=pipe.tokenizer_2)
    try:
        theirs = reference_image(pipe, request, request.prompt)
    finally:
        pipe.unload_textual_inversion(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder)
        pipe.unload_textual_inversion(tokenizer=pipe.tokenizer_2, text_encoder=pipe.text_encoder_2)
    mine = image(model, request.with_excite(enabled=False))
    assert np.abs(mine - theirs).max() <= 1


def test_a_lora_for_another_family_is_refused_naming_both_and_nothing_changes(ours, reference, tmp_path):
    sdxl_lora = write_lora(tmp_path / "xl-style.safetensors", reference["sdxl"], "kohya")
    with pytest.raises(AddonError, match=r"^The LoRA 'xl-style' is for SDXL models, but the loaded model is SD 1\.x"):
        generate(ours["sd1"], plain("sd1", "a cat <lora:xl-style:1>", loras=(lora_ref(sdxl_lora),)))
    sd1_lora = write_lora(tmp_path / "sd-style.safetensors", reference["sd1"], "diffusers",
                          metadata={"ss_base_model_version": "sd_v1"}, text_encoders=False)
    with pytest.raises(AddonError, match=r"is for SD 1\.x models, but the loaded model is SDXL"):
        generate(ours["sdxl"], plain("sdxl", "a cat <lora:sd-style:1>", loras=(lora_ref(sd1_lora),)))
    assert loaded_adapter_count(ours["sd1"].pipe) == 0 and loaded_adapter_count(ours["sdxl"].pipe) == 0


def test_a_damaged_or_missing_file_stops_the_run_with_one_sentence_and_the_model_stays_usable(ours, tmp_path):
    model = ours["sd1"]
    good = write_lora(tmp_path / "good.safetensors", model.pipe, "kohya")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(good.read_bytes()[:300])
    request = plain("sd1", "a cat <lora:good:1> <lora:broken:1>", loras=(lora_ref(good), lora_ref(broken)))
    with pytest.raises(AddonError) as caught:
        generate(model, request)
    assert str(caught.value) == "The LoRA file broken.safetensors cannot be read (damaged or incomplete download?)."
    assert loaded_adapter_count(model.pipe) == 0  # checked before anything was loaded

    gone = LoraRef("gone", 1.0, "ab" * 32, str(tmp_path / "gone.safetensors"))
    with pytest.raises(AddonError, match=r"^The LoRA 'gone' \(hash abababababab\) is not on this computer"):
        generate(model, plain("sd1", "a cat <lora:gone>", loras=(gone,)))
    changed = lora_ref(good)
    write_lora(good, model.pipe, "kohya", seed=9)  # another file under the same name
    with pytest.raises(AddonError, match="is not the one this request was made with"):
        generate(model, plain("sd1", "a cat <lora:good>", loras=(changed,)))
    assert image(model, plain("sd1")).shape == (64, 64, 3)


def test_several_loras_load_without_peft_warning_the_artist_about_their_own_choice(ours, tmp_path):
    # PEFT warns "multiple adapters ... make sure to know what you are doing" for every LoRA after the
    # first; several LoRAs at once is what the artist asked for, so the CLI's stderr must not say that.
    import warnings

    model = ours["sd1"]
    first = write_lora(tmp_path / "one.safetensors", model.pipe, "kohya", seed=11)
    second = write_lora(tmp_path / "two.safetensors", model.pipe, "diffusers", seed=12)
    request = plain("sd1", "a cat <lora:one:1> <lora:two:0.5>", loras=(lora_ref(first), lora_ref(second, 0.5)))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prepare_addons(model, request)
        assert loaded_adapter_count(model.pipe) == 2
        assert [str(w.message) for w in caught] == []
    finally:
        prepare_addons(model, plain("sd1"))
    assert loaded_adapter_count(model.pipe) == 0
