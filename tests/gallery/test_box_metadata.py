"""Boxes (#23) in a PNG: `AAE boxes` A1111 text written from the boxed token indices, and read back
into the same BoxSettings when the aae chunk is missing."""
from __future__ import annotations

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aae_desktop.engine.objectives.box_settings import BoxSettings
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.engine.tokens import load_tokenizer, tokenize_prompt
from aae_desktop.gallery.a1111 import format_parameters, parse_parameters, request_from_parameters
from aae_desktop.gallery.box_words import box_text, boxes_for_words, parse_box_words
from aae_desktop.gallery.metadata import PARAMETERS_CHUNK, boxed_words, png_info, restore_from_png

# a 1, cat 2, and 3, a 4, frog 5; end-of-text 6
PROMPT = "a cat and a frog"
BOXES = (((2,), (0.0, 0.3, 0.5, 1.0)), ((5,), (0.5, 0.3, 1.0, 1.0)))
TEXT = "cat:0,0.3,0.5,1; frog:0.5,0.3,1,1"


def _request(prompt=PROMPT, **boxes):
    return GenerationRequest(model="m", prompt=prompt, seed=4, steps=10, boxes=BoxSettings(
        **{"enabled": True, "boxes": BOXES, "prompt_length": 6, **boxes}))


def test_png_text_names_the_boxes_and_the_aae_chunk_holds_the_settings(tmp_path):
    path = tmp_path / "b.png"
    # No tokenizer given (the gallery store's case): the bundled one names the words.
    Image.new("RGB", (8, 8)).save(path, pnginfo=png_info(_request(steps=3)))
    with Image.open(path) as img:
        text = img.text[PARAMETERS_CHUNK]
    assert f'AAE boxes: "{TEXT}"' in text and "AAE box steps: 3" in text
    assert "AAE box scale" not in text  # the default scale is not written
    restored = restore_from_png(path)
    assert restored.source == "aae" and restored.request.boxes == _request(steps=3).boxes


def test_a1111_text_alone_restores_the_boxes(tmp_path):
    request = _request(scale=12.5, steps=4)
    text = format_parameters(request, box_words=boxed_words(request))
    params = parse_parameters(text)["params"]
    assert params["AAE boxes"] == TEXT and params["AAE box scale"] == "12.5" and params["AAE box steps"] == "4"
    for tokenizer in (None, load_tokenizer()):
        assert request_from_parameters(text, tokenizer=tokenizer).boxes == request.boxes
    # text -> BoxSettings -> text
    assert boxed_words(request_from_parameters(text)) == TEXT
    path = tmp_path / "a1111.png"  # an image whose aae chunk was lost: the parameters text restores it
    info = PngInfo()
    info.add_text(PARAMETERS_CHUNK, text)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    restored = restore_from_png(path, tokenizer=load_tokenizer())
    assert restored.source == "a1111" and restored.request.boxes == request.boxes
    restored.request.validate(load_tokenizer())


def test_words_several_tokens_and_repeats_round_trip_exactly():
    tokenizer = load_tokenizer()
    # The second cat's box first: written in prompt order per word, so each cat gets its own box back.
    twice = BoxSettings(True, (((5,), (0.0, 0.0, 0.5, 1.0)), ((8, 9, 10), (0.1, 0.2, 0.3, 0.4)),
                               ((2,), (0.123456789, 0.0, 1.0, 1.0))), prompt_length=11)
    parsed = tokenize_prompt(tokenizer, "a cat and a cat on a hippopotamus")
    text = box_text(twice, parsed)
    assert text == "cat:0.123456789,0,1,1; hippopotamus:0.1,0.2,0.3,0.4; cat:0,0,0.5,1"
    assert set(boxes_for_words(parsed, parse_box_words(text))) == set(twice.boxes)


@pytest.mark.parametrize("words", ["dog:0,0,1,1", "nonsense", "cat:0,0,1", "cat:0,0,1,1; cat:0,0,1,1",
                                   "cat:0,0,2,1", "cat:0.5,0,0.2,1"])
def test_unreadable_or_impossible_box_text_is_no_boxes(words):
    assert request_from_parameters(format_parameters(_request(), box_words=words)).boxes == BoxSettings()


def test_no_boxes_write_nothing():
    plain = format_parameters(GenerationRequest(model="m", prompt=PROMPT))
    assert "AAE box" not in plain and request_from_parameters(plain).boxes == BoxSettings()
    off = format_parameters(_request(enabled=False), box_words=TEXT)
    assert "AAE box" not in off  # boxes switched off write nothing
    assert boxed_words(_request(enabled=False)) is None
