"""`render --bind` (SynGen binding, #22): flags to token groups, one-line refusals, the PNG's text, and
`tokens` suggesting the pairs."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from aae_desktop.cli import run
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.a1111 import parse_parameters
from tests.cli.test_render_cli import QUICK

PROMPT = "a red cat and a blue frog"  # red 2, cat 3, blue 6, frog 7; end-of-text 8


def _render(model_dir, out, *flags):
    return run(["render", "--model", str(model_dir), "--prompt", PROMPT, "--out", str(out), "--seed", "3",
                *QUICK, *flags])


def _png(path):
    with Image.open(path) as img:
        return GenerationRequest.from_dict(json.loads(img.text["aae"])), parse_parameters(img.text["parameters"])


def test_bind_without_tokens_binds_alone_and_the_png_names_the_pairs(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "bound.png"
    assert _render(tiny_model_dir, out, "--bind", "red:cat,blue:frog") == 0
    request, a1111 = _png(out)
    assert request.bind.active and request.bind.groups == ((((2,),), (3,)), (((6,),), (7,)))
    assert request.bind.prompt_length == 8 and request.bind.scale == 20.0
    assert request.excite.enabled and request.excite.token_indices == ()  # no word excited: binding alone
    with Image.open(out) as img:
        assert 'AAE bind: "red>cat, blue>frog"' in img.text["parameters"]
    assert a1111["params"]["AAE bind"] == "red>cat, blue>frog"


def test_bind_auto_with_tokens_excites_and_binds(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "auto.png"
    assert _render(tiny_model_dir, out, "--tokens", "cat,frog", "--bind", "auto", "--bind-scale", "7.5") == 0
    request, a1111 = _png(out)
    assert request.excite.token_indices == (3, 7)
    assert request.bind.groups == ((((2,),), (3,)), (((6,),), (7,))) and request.bind.scale == 7.5
    assert a1111["params"]["AAE bind"] == "red>cat, blue>frog" and a1111["params"]["AAE bind scale"] == "7.5"


def test_bind_indices_and_none(tiny_model_dir, tmp_path, capsys):
    from aae_desktop.cli import build_parser
    from aae_desktop.cli.render import build_request
    from aae_desktop.engine.tokens import load_tokenizer

    def request(*flags):
        args = build_parser().parse_args(["render", "--model", "m", "--prompt", "a black and white dog", *flags])
        return build_request(args, load_tokenizer())[0]

    # black 2, and 3, white 4, dog 5
    assert request("--bind-indices", "2+4:5").bind.groups == ((((2,), (4,)), (5,)),)
    assert request("--bind", "black+white:dog").bind.groups == ((((2,), (4,)), (5,)),)
    assert request("--bind-indices", "2-3:5").bind.groups == ((((2, 3),), (5,)),)
    assert request("--tokens", "dog", "--bind", "none").bind.groups == ()
    # --no-excite is plain Stable Diffusion: the pairs are checked but binding is off.
    plain = request("--no-excite", "--bind", "auto")
    assert not plain.excite.enabled and not plain.bind.enabled and not plain.bind.active
    assert request("--no-excite", "--bind", "auto", "--prompt", "a cat").bind == request("--no-excite").bind


@pytest.mark.parametrize("flags, message", [
    (["--bind", "green:cat"], "--bind: The word 'green' is not in the prompt"),
    (["--bind", "red:dog"], "--bind: The word 'dog' is not in the prompt"),
    (["--bind", "cat:cat"], "--bind: 'cat' cannot be bound to itself."),
    (["--bind", "red:cat,red:frog"], "--bind: 'red' is bound to two nouns ('cat' and 'frog')."),
    (["--bind", "red cat"], "--bind: 'red cat' should look like MODIFIER:NOUN"),
    (["--bind-indices", "2:2"], "--bind-indices: A word cannot be bound to itself"),
    (["--bind-indices", "2:3,2:7"], "--bind-indices: The word at tokens [2] is bound to two nouns"),
    (["--bind-indices", "2:9"], "--bind-indices: Token index 9 is outside the prompt"),
    (["--bind-indices", "red:cat"], "--bind-indices: 'red:cat' should look like I:J"),
    (["--bind", "red:cat", "--bind-scale", "-1"], "The binding scale must be a finite number, 0 or more"),
    (["--bind", "auto", "--prompt", "a cat and a frog"], "--bind auto found no modifier before a noun"),
])
def test_refusals_are_one_line_with_exit_2(tiny_model_dir, tmp_path, capsys, flags, message):
    assert _render(tiny_model_dir, tmp_path / "x.png", *flags) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("aae-desktop: error: ") and message in err
    assert not (tmp_path / "x.png").exists()


def test_tokens_prints_the_suggested_pairs(capsys):
    assert run(["tokens", "--prompt", "a black and white dog wearing a red hat"]) == 0
    printed = capsys.readouterr()
    assert printed.err.strip() == "suggested --bind: black+white:dog,red:hat"
    assert "suggested" not in printed.out  # stdout stays the table
    assert run(["tokens", "--prompt", "a cat and a frog"]) == 0
    assert "suggested" not in capsys.readouterr().err
