"""`render --lora NAME:WEIGHT` is the same as `<lora:NAME:WEIGHT>` in the prompt: the same words reach
CLIP, the same image comes out, and the prompt saved in the PNG restores it.

The flag used to append ", <lora:...>": once the tag was taken out, the comma stayed in the text CLIP
reads ("a cat and a frog,"), a different prompt (109/255 away on a real SD 1.x model)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from aae_desktop.cli import run
from tests.engine.addon_fixtures import write_lora

QUICK = ["--steps", "3", "--width", "64", "--height", "64", "--seed", "3", "--no-excite", "--device", "cpu"]
WORDS = "a cat and a frog"


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory):
    from aae_desktop.engine.models.tiny_model import tiny_pipeline

    folder = tmp_path_factory.mktemp("loras")
    # The diffusers/PEFT key layout, as the LoRA the issue was found with.
    write_lora(folder / "watercolor.safetensors", tiny_pipeline(0), "diffusers", seed=4)
    return folder


@pytest.fixture
def render(tiny_model_dir, lora_dir, tmp_path, monkeypatch, capsys):
    """Render with these flags; return (pixels, texts given to the text encoder's tokenizer, saved request)."""
    from transformers import CLIPTokenizer

    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("AAE_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    texts: list[str] = []
    original = CLIPTokenizer.__call__

    def spy(self, text=None, *args, **kwargs):
        if kwargs.get("padding") == "max_length":  # the encoder's call; the word chips tokenize unpadded
            texts.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(CLIPTokenizer, "__call__", spy)
    count = iter(range(100))

    def go(*flags: str):
        texts.clear()
        out = tmp_path / f"x{next(count)}.png"
        code = run(["render", "--model", str(tiny_model_dir), "--lora-dir", str(lora_dir), "--out", str(out),
                    *QUICK, *flags])
        assert code == 0, capsys.readouterr().err
        with Image.open(out) as image:
            return np.asarray(image.convert("RGB"), dtype=int), list(texts), json.loads(image.text["aae"])

    return go


def test_the_lora_flag_gives_the_prompt_tag_image_and_saves_a_prompt_that_restores_it(render):
    flag, flag_texts, saved = render("--prompt", WORDS, "--lora", "watercolor:0.8")
    tag, tag_texts, _ = render("--prompt", f"{WORDS} <lora:watercolor:0.8>")
    # The flag leaves the words CLIP reads as they were typed (the negative side encodes "").
    assert flag_texts == tag_texts
    assert flag_texts[0] == WORDS and "," not in flag_texts[0]
    assert np.array_equal(flag, tag)
    # The saved prompt is that same tag prompt, so restoring it renders the same image.
    assert saved["prompt"] == f"{WORDS} <lora:watercolor:0.8>"
    assert [(r["name"], r["weight"]) for r in saved["loras"]] == [("watercolor", 0.8)]
    # Controls: the LoRA moves the image, and a comma left in the words does too, so the equality above can fail.
    plain, _, _ = render("--prompt", WORDS)
    comma, comma_texts, _ = render("--prompt", f"{WORDS}, <lora:watercolor:0.8>")
    assert comma_texts[0] == f"{WORDS},"
    assert np.abs(flag - plain).max() > 8
    assert np.abs(flag - comma).max() > 0
