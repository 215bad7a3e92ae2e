"""Binding (#22) in a PNG: `AAE bind` A1111 text written from the token groups, and read back into
the same groups when the aae chunk is missing."""
from __future__ import annotations

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aae_desktop.engine.objectives.bind_settings import BindSettings
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.engine.tokens import load_tokenizer
from aae_desktop.gallery.a1111 import format_parameters, parse_parameters, request_from_parameters
from aae_desktop.gallery.metadata import PARAMETERS_CHUNK, png_info, restore_from_png

# a 1, black 2, and 3, white 4, dog 5, wearing 6, a 7, red 8, hat 9; end-of-text 10
PROMPT = "a black and white dog wearing a red hat"
GROUPS = ((((2,), (4,)), (5,)), (((8,),), (9,)))


def _request(**bind):
    return GenerationRequest(model="m", prompt=PROMPT, seed=4, steps=10, bind=BindSettings(
        **{"enabled": True, "groups": GROUPS, "prompt_length": 10, **bind}))


def test_png_text_names_the_pairs_and_the_aae_chunk_holds_the_indices(tmp_path):
    path = tmp_path / "b.png"
    # No tokenizer given (the gallery store's case): the bundled one names the words.
    Image.new("RGB", (8, 8)).save(path, pnginfo=png_info(_request(steps=3)))
    with Image.open(path) as img:
        text, aae = img.text[PARAMETERS_CHUNK], img.text["aae"]
    assert 'AAE bind: "black+white>dog, red>hat"' in text and "AAE bind steps: 3" in text
    assert "AAE bind scale" not in text  # the default scale is not written
    restored = restore_from_png(path)
    assert restored.source == "aae" and restored.request.bind == _request(steps=3).bind
    assert '"groups"' in aae


def test_a1111_text_alone_restores_the_binding(tmp_path):
    request = _request(scale=12.5, steps=4)
    text = format_parameters(request, bind_words="black+white>dog, red>hat")
    assert parse_parameters(text)["params"]["AAE bind scale"] == "12.5"
    for tokenizer in (None, load_tokenizer()):
        assert request_from_parameters(text, tokenizer=tokenizer).bind == request.bind
    path = tmp_path / "a1111.png"  # an image whose aae chunk was lost: the parameters text restores it
    info = PngInfo()
    info.add_text(PARAMETERS_CHUNK, text)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    restored = restore_from_png(path, tokenizer=load_tokenizer())
    assert restored.source == "a1111" and restored.request.bind == request.bind
    restored.request.validate(load_tokenizer())


def test_unreadable_or_absent_bind_text_is_no_binding():
    plain = format_parameters(GenerationRequest(model="m", prompt=PROMPT, excite=_request().excite))
    assert "AAE bind" not in plain and request_from_parameters(plain).bind == BindSettings()
    off = format_parameters(_request(enabled=False), bind_words="black+white>dog, red>hat")
    assert "AAE bind" not in off  # binding switched off writes nothing
    text = format_parameters(_request(), bind_words="green>dog")
    assert request_from_parameters(text).bind == BindSettings()
    text = format_parameters(_request(), bind_words="nonsense")
    assert request_from_parameters(text).bind == BindSettings()


def test_the_gallery_entry_of_an_a1111_only_png_restores_the_binding(tmp_path):
    """'Use all settings' restores a gallery entry's request: made from the A1111 text when the aae chunk
    is missing, it carries the binding."""
    from aae_desktop.gallery.index import entry_for_file

    request = _request()
    info = PngInfo()
    info.add_text(PARAMETERS_CHUNK, format_parameters(request, bind_words="black+white>dog, red>hat"))
    path = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    entry = entry_for_file(path)
    assert entry.source == "a1111" and entry.request.bind == request.bind
