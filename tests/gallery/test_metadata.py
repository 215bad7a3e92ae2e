"""PNG metadata: A1111 `parameters` (tEXt/iTXt), the `aae` request chunk, and parsing both back."""
from __future__ import annotations

import zlib

import pytest
from PIL import Image

from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.a1111 import format_parameters, parse_parameters, quote, request_from_parameters
from aae_desktop.gallery.metadata import png_info, read_request, read_text_chunks, restore_from_png


def chunk_types(path):
    """(type, keyword) of every text chunk, read straight from the PNG bytes."""
    data = path.read_bytes()[8:]
    found = []
    while data:
        length = int.from_bytes(data[:4], "big")
        kind = data[4:8].decode("ascii")
        body = data[8:8 + length]
        if kind in ("tEXt", "iTXt", "zTXt"):
            found.append((kind, body.split(b"\0", 1)[0].decode("latin-1")))
        data = data[12 + length:]
    return found


def save_png(path, request, **kw):
    Image.new("RGB", (16, 16), "white").save(path, pnginfo=png_info(request, **kw))
    return path


def test_quote_follows_a1111():
    assert quote("plain") == "plain"
    assert quote("a,b") == '"a,b"'
    assert quote("x:y") == '"x:y"'
    assert quote('say "hi",\nok') == '"say \\"hi\\",\\nok"'


def test_parameters_text_layout(request_):
    text = format_parameters(request_, model_name="tiny", model_hash="0123456789", words=["cat", "frog"], version="0.1")
    prompt, negative, params = text.split("\n")
    assert prompt == "a cat and a frog"
    assert negative == "Negative prompt: blurry"
    assert params.startswith("Steps: 12, Sampler: DDIM, CFG scale: 7.5, Seed: 6141, Size: 128x128, "
                             "Model hash: 0123456789, Model: tiny, ")
    assert 'AAE tokens: "cat,frog", AAE indices: "2,5", AAE max iter: 6, AAE thresholds: "0:0.05,5:0.5", AAE scale: 20' in params
    assert params.endswith("Version: aae-desktop 0.1")
    no_negative = format_parameters(request_.replace(negative_prompt=""))
    assert "Negative prompt" not in no_negative and len(no_negative.split("\n")) == 2


@pytest.mark.parametrize("prompt,negative", [
    ("a cat, and: a frog", "low quality, blurry"),
    ("line one\nline two", ""),
    ("a café with crème brûlée", "naïve"),
    ("一只猫和一只青蛙", "模糊"),
    ('a "quoted" word, Steps: 5', ""),
])
def test_a1111_round_trip(request_, prompt, negative):
    req = request_.replace(prompt=prompt, negative_prompt=negative, scheduler="dpmpp_2m_karras")
    back = request_from_parameters(format_parameters(req, model_name="tiny", model_hash="abc"))
    assert back == req.replace(model="tiny")


def test_a1111_plain_sd_round_trip(request_):
    plain = request_.with_excite(enabled=False)
    text = format_parameters(plain)
    assert "AAE indices" not in text
    assert request_from_parameters(text, model="m").excite.enabled is False


def test_parses_foreign_a1111_text():
    text = ("masterpiece, a red fox\nin the snow\nNegative prompt: ugly, bad hands\n"
            "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234, Size: 512x768, "
            'Model hash: e6bb9ea85b, Model: dreamshaper, Lora hashes: "x: 123, y: 456", Version: v1.6.0')
    parsed = parse_parameters(text)
    assert parsed["prompt"] == "masterpiece, a red fox\nin the snow"
    assert parsed["negative_prompt"] == "ugly, bad hands"
    assert parsed["params"]["Lora hashes"] == "x: 123, y: 456"
    req = request_from_parameters(text)
    assert (req.steps, req.guidance_scale, req.seed, req.width, req.height) == (28, 6.5, 1234, 512, 768)
    assert req.scheduler == "dpmpp_2m_karras" and req.model == "dreamshaper"
    assert req.excite.enabled is False  # other tools' images were made without A&E


def test_words_restore_indices_when_indices_missing(tokenizer):
    text = 'a cat and a frog\nSteps: 10, Sampler: DDIM, CFG scale: 7, Seed: 1, Size: 128x128, AAE tokens: "cat,frog"'
    assert request_from_parameters(text, tokenizer=tokenizer).excite.token_indices == (2, 5)


def test_latin1_goes_in_text_and_unicode_in_itxt(tmp_path, request_):
    latin = save_png(tmp_path / "latin.png", request_.replace(prompt="a café"))
    assert ("tEXt", "parameters") in chunk_types(latin)
    wide = save_png(tmp_path / "wide.png", request_.replace(prompt="猫 and a frog"))
    assert ("iTXt", "parameters") in chunk_types(wide)
    assert ("iTXt", "aae") in chunk_types(wide)
    assert read_text_chunks(wide)["parameters"].startswith("猫 and a frog\n")


def test_request_round_trip_through_png(tmp_path, request_):
    path = save_png(tmp_path / "x.png", request_.replace(prompt="héllo 世界 cat"), extra={"app": "test"})
    assert read_request(path) == request_.replace(prompt="héllo 世界 cat")
    restored = restore_from_png(path)
    assert restored.source == "aae" and restored.request.excite.token_indices == (2, 5)


def test_restore_falls_back_to_parameters(tmp_path):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", "a dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 99, Size: 64x64")
    path = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    restored = restore_from_png(path, model="current-model")
    assert restored.source == "a1111"
    assert (restored.request.prompt, restored.request.seed, restored.request.scheduler) == ("a dog", 99, "euler_a")
    assert restored.request.model == "current-model"


def test_png_without_metadata_gets_clear_message(tmp_path):
    path = tmp_path / "bare.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(ValueError, match="bare.png carries no generation settings"):
        restore_from_png(path)
    not_png = tmp_path / "notes.png"
    not_png.write_text("hello")
    with pytest.raises(ValueError, match="not an image"):
        restore_from_png(not_png)
    assert read_request(path) is None


@pytest.mark.parametrize("prompt", ["a cat and a frog", "a cat, a frog: together", "un chat et une grenouille café",
                                    "一只猫 and a frog"])
def test_independent_parser_reads_our_pngs(tmp_path, request_, prompt):
    """sd-parsers (a third-party A1111 reader) sees our prompt, negative prompt and sampler values."""
    from sd_parsers import ParserManager

    req = request_.replace(prompt=prompt)
    path = save_png(tmp_path / "ours.png", req, model_name="tiny", model_hash="0123456789")
    info = ParserManager().parse(str(path))
    assert info is not None, "sd-parsers did not recognise the image"
    assert info.generator.name == "AUTOMATIC1111"
    sampler = info.samplers[0]
    assert sampler.name == "DDIM"
    assert [p.value for p in sampler.prompts] == [prompt]
    assert [p.value for p in sampler.negative_prompts] == ["blurry"]
    assert sampler.parameters["seed"] == "6141"
    assert sampler.parameters["steps"] == "12"
    assert sampler.model.hash == "0123456789"


@pytest.mark.parametrize("scheduler_class, sampler", [
    ("EulerAncestralDiscreteScheduler", "Euler a"), ("PNDMScheduler", "PLMS"), (None, "Default"),
])
def test_default_scheduler_is_named_by_the_class_the_model_used(scheduler_class, sampler):
    request = GenerationRequest(model="m", prompt="a cat", scheduler="default")
    params = parse_parameters(format_parameters(request, scheduler_class=scheduler_class))
    assert params["params"]["Sampler"] == sampler
    # An explicit choice always wins over what the model ships.
    explicit = format_parameters(request.replace(scheduler="ddim"), scheduler_class="PNDMScheduler")
    assert parse_parameters(explicit)["params"]["Sampler"] == "DDIM"
