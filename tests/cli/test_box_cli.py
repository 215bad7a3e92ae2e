"""`render --box` (BoxDiff boxes, #23): flags to boxed token indices, one-line refusals, the PNG's text."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from aae_desktop.cli import build_parser, run
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.a1111 import parse_parameters, request_from_parameters
from tests.cli.test_render_cli import QUICK

PROMPT = "a cat and a frog"  # cat 2, frog 5; end-of-text 6
TWO_BOXES = ["--box", "cat:0,0.3,0.5,1", "--box", "frog:0.5,0.3,1,1"]


def _render(model_dir, out, *flags):
    return run(["render", "--model", str(model_dir), "--prompt", PROMPT, "--out", str(out), "--seed", "3",
                *QUICK, *flags])


def _request(*flags, prompt=PROMPT):
    from aae_desktop.cli.render import build_request
    from aae_desktop.engine.tokens import load_tokenizer

    args = build_parser().parse_args(["render", "--model", "m", "--prompt", prompt, *flags])
    return build_request(args, load_tokenizer())[0]


def test_two_boxes_without_tokens_place_only_and_the_png_names_them(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "boxed.png"
    assert _render(tiny_model_dir, out, *TWO_BOXES) == 0
    with Image.open(out) as img:
        text, aae = img.text["parameters"], img.text["aae"]
    request = GenerationRequest.from_dict(json.loads(aae))
    assert request.boxes.active and request.boxes.boxes == (((2,), (0.0, 0.3, 0.5, 1.0)),
                                                            ((5,), (0.5, 0.3, 1.0, 1.0)))
    assert request.boxes.prompt_length == 6 and request.boxes.scale == 20.0 and request.boxes.steps is None
    assert request.excite.enabled and request.excite.token_indices == ()  # no word excited: placing alone
    assert 'AAE boxes: "cat:0,0.3,0.5,1; frog:0.5,0.3,1,1"' in text
    assert "AAE box scale" not in text  # the default is not written
    assert parse_parameters(text)["params"]["AAE boxes"] == "cat:0,0.3,0.5,1; frog:0.5,0.3,1,1"
    assert request_from_parameters(text).boxes == request.boxes  # the A1111 text alone restores them


def test_box_flags_to_the_request():
    placing = _request(*TWO_BOXES, "--box-scale", "7.5", "--box-steps", "3")
    assert placing.excite.enabled and placing.excite.token_indices == ()
    assert placing.boxes.active and placing.boxes.scale == 7.5 and placing.boxes.steps == 3
    both = _request("--tokens", "cat", "--box", "frog:0.5,0,1,1")
    assert both.excite.token_indices == (2,) and both.boxes.boxes == (((5,), (0.5, 0.0, 1.0, 1.0)),)
    # A word of several tokens is boxed with all of them.
    assert _request("--box", "hippopotamus:0,0,0.5,1", prompt="a hippopotamus and a cat").boxes.boxes == (
        ((2, 3, 4), (0.0, 0.0, 0.5, 1.0)),)
    # A word the prompt holds twice: each --box takes the next occurrence, as --tokens cat,cat does.
    twice = _request("--box", "Cat:0.5,0,1,1", "--box", "cat:0,0,0.5,1", prompt="a cat and a cat")
    assert twice.boxes.boxes == (((2,), (0.5, 0.0, 1.0, 1.0)), ((5,), (0.0, 0.0, 0.5, 1.0)))
    # --no-excite is plain Stable Diffusion: the boxes are checked, kept, but off.
    plain = _request("--no-excite", *TWO_BOXES)
    assert not plain.excite.enabled and not plain.boxes.enabled and len(plain.boxes.boxes) == 2
    assert _request("--tokens", "cat").boxes.active is False


@pytest.mark.parametrize("flags, message", [
    (["--box", "dog:0,0,0.5,1"], "--box: The word 'dog' is not in the prompt"),
    (["--box", "cat:0,0,1.5,1"], "--box cat: The box of 'cat' has a corner outside the image: [0.0, 0.0, 1.5, 1.0]"),
    (["--box", "cat:-0.1,0,0.5,1"], "--box cat: The box of 'cat' has a corner outside the image"),
    (["--box", "cat:0.5,0,0.5,1"], "--box cat: The box of 'cat' must have its right edge right of its left"),
    (["--box", "cat:0,0.6,0.5,0.2"], "--box cat: The box of 'cat' must have its right edge right of its left and "
                                     "its bottom below its top"),
    (["--box", "cat:0,0,0.5,1", "--box", "cat:0.5,0,1,1"],
     "--box: 'cat' has more boxes than the prompt holds it (once): one box per word."),
    (["--box", "cat:0,0,0.5"], "--box: 'cat:0,0,0.5' should look like WORD:x0,y0,x1,y1"),
    (["--box", "0,0,0.5,1"], "--box: '0,0,0.5,1' should look like WORD:x0,y0,x1,y1"),
    (["--box", "cat:0,0,a,1"], "should look like WORD:x0,y0,x1,y1"),
    (["--box", "cat:0,0,nan,1"], "--box cat: The box of 'cat' has a corner outside the image"),
    (["--box", "cat:0,0,0.5,1", "--box-scale", "-1"], "--box-scale: The box scale must be a finite number"),
    (["--box", "cat:0,0,0.5,1", "--box-steps", "-1"], "--box-steps: Box steps must be 0 or more"),
])
def test_refusals_are_one_line_with_exit_2(tiny_model_dir, tmp_path, capsys, flags, message):
    assert _render(tiny_model_dir, tmp_path / "x.png", *flags) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("aae-desktop: error: ") and message in err, err
    assert not (tmp_path / "x.png").exists()


def _grid_refusal(err):
    """The one message line; the grid is the loaded UNet's, and in-process (unlike a fresh `aae-desktop`
    process, whose run() quiets them first) diffusers' load bars share stderr."""
    lines = [line for line in err.strip().splitlines() if line.startswith("aae-desktop")]
    assert len(lines) == 1 and "Traceback" not in err and err.strip().endswith(lines[0])
    return lines[0]


def test_a_box_smaller_than_an_attention_cell_is_refused_with_sizes_that_work(tiny_model_dir, tmp_path, capsys):
    # 128 px: the tiny UNet's loss grid is 4 x 4, and 0.1 of it rounds to no cell; 192 px gives 6 x 6.
    assert _render(tiny_model_dir, tmp_path / "x.png", "--box", "cat:0,0,0.1,1") == 2
    assert _grid_refusal(capsys.readouterr().err) == (
        "aae-desktop: error: --box cat: The box of 'cat' is smaller than one cell of the 4 x 4 attention grid: "
        "make it at least 0.28 wide and 0.28 tall, or render at 192 x 192.")
    assert not (tmp_path / "x.png").exists()
    # With --attn-res the grid does not follow the size: only the box's size is named.
    assert _render(tiny_model_dir, tmp_path / "x.png", "--box", "cat:0,0,0.1,1", "--attn-res", "4") == 2
    line = _grid_refusal(capsys.readouterr().err)
    assert line.endswith("make it at least 0.28 wide and 0.28 tall.") and "render at" not in line
