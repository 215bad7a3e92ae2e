"""`aae-desktop render` / `tokens`: exit codes, one-line errors, outputs and embedded metadata."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from aae_desktop.cli import run
from aae_desktop.engine.request import GenerationRequest

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--steps", "3", "--width", "128", "--height", "128", "--max-iter-to-alter", "1", "--thresholds", "0:0.05",
         "--refinement-cap", "2"]


def test_render_writes_pngs_with_the_request_and_prints_paths(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "frog.png"
    code = run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--tokens", "cat,frog",
                "--out", str(out), "--seed", "5", "--num-images", "2", *QUICK])
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "frog-0.png"), str(tmp_path / "frog-1.png")]
    with Image.open(printed[1]) as img:
        request = GenerationRequest.from_dict(json.loads(img.text["aae"]))
    assert request.seed == 6 and request.num_images == 1
    assert request.excite.token_indices == (2, 5) and request.steps == 3
    assert request.model == str(tiny_model_dir)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tokens", "dog"], "'dog' is not in the prompt"),
        (["--token-indices", "0"], "start-of-text"),
        (["--token-indices", "two"], "whole numbers"),
        (["--tokens", "cat", "--width", "100"], "multiple of 8"),
        (["--tokens", "cat", "--thresholds", "5"], "STEP:VALUE"),
        (["--tokens", "cat", "--attn-res", "big"], "--attn-res"),
        ([], "--tokens"),
    ],
)
def test_bad_input_exits_2_with_one_line(tiny_model_dir, tmp_path, capsys, args, message):
    code = run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog",
                "--out", str(tmp_path / "x.png"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "--steps must be at least 1 (got 0)."),
    (["--max-iter-to-alter", "-1"], "--max-iter-to-alter must not be negative (got -1)."),
    (["--thresholds", "0:0.05,0:0.5"], "--thresholds: step 0 is listed twice."),
    (["--thresholds", "3:1.5"], "--thresholds: the value at step 3 must be in (0, 1]; got 1.5."),
])
def test_errors_name_the_flags_the_user_typed(tiny_model_dir, tmp_path, capsys, args, message):
    code = run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--tokens", "cat",
                "--out", str(tmp_path / "x.png"), *args])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"aae-desktop: error: {message}"


def _written_request(path):
    with Image.open(path) as img:
        return GenerationRequest.from_dict(json.loads(img.text["aae"])), img.text["parameters"].splitlines()[-1]


def test_default_schedule_follows_the_step_count_into_the_png(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "eight.png"
    assert run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--tokens", "cat,frog",
                "--out", str(out), "--seed", "1", "--steps", "8", "--width", "64", "--height", "64",
                "--refinement-cap", "1"]) == 0
    assert "warning" not in capsys.readouterr().err  # nothing of the artist's had to be adapted
    request, a1111 = _written_request(out)
    # The paper's 25 of 50 and thresholds at 0, 10, 20 of 50, as numbers: a restore reproduces the image.
    assert request.excite.max_iter_to_alter == 4
    assert request.excite.thresholds == ((0, 0.05), (2, 0.5), (3, 0.8))
    assert "AAE max iter: 4" in a1111 and 'AAE thresholds: "0:0.05,2:0.5,3:0.8"' in a1111


def test_set_values_past_the_steps_are_adapted_with_a_note_naming_the_flags(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "four.png"
    assert run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--tokens", "cat",
                "--out", str(out), "--seed", "1", "--steps", "4", "--width", "64", "--height", "64",
                "--refinement-cap", "1", "--max-iter-to-alter", "6", "--thresholds", "0:0.05,5:0.5"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("aae-desktop:")]
    assert err == [
        "aae-desktop: warning: --max-iter-to-alter (6) is more than --steps (4); this run excites the first 2, "
        "the paper's share (25 of 50).",
        "aae-desktop: warning: --thresholds: step 5 is past the last step (3) of --steps (4); this run leaves it out.",
    ]
    request, _a1111 = _written_request(out)
    assert request.excite.max_iter_to_alter == 2 and request.excite.thresholds == ((0, 0.05),)


def test_clip_skip_and_eta_reach_the_png_and_misuse_is_named_by_flag(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "skip.png"
    assert run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--no-excite",
                "--out", str(out), "--seed", "1", "--steps", "2", "--width", "64", "--height", "64",
                "--clip-skip", "2", "--scheduler", "ddim", "--eta", "0.5"]) == 0
    request, a1111 = _written_request(out)
    assert (request.clip_skip, request.eta) == (2, 0.5)
    assert "Clip skip: 2" in a1111 and "Eta DDIM: 0.5" in a1111
    capsys.readouterr()
    assert run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat", "--no-excite",
                "--out", str(tmp_path / "x.png"), "--clip-skip", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "aae-desktop: error: --clip-skip must be between 1 (no skip) and 12 (got 0).")
    assert run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat", "--no-excite", "--steps", "1",
                "--width", "64", "--height", "64", "--out", str(tmp_path / "y.png"), "--eta", "0.4",
                "--scheduler", "lms"]) == 0
    assert ("aae-desktop: warning: --eta has no effect with --scheduler LMS: only DDIM and Euler a use it."
            in capsys.readouterr().err)


def test_missing_model_and_unknown_option_exit_2(tmp_path, capsys):
    assert run(["render", "--model", str(tmp_path / "nope"), "--prompt", "a cat", "--token-indices", "2",
                "--out", str(tmp_path / "x.png")]) == 2
    assert run(["render", "--bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("aae-desktop: error:") for line in err)


def test_tokens_table(capsys):
    assert run(["tokens", "--prompt", "a photorealistic frog"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.strip().splitlines()[1:]]
    assert rows == [["1", "a", "a"], ["2", "photo", "photorealistic"], ["3", "realistic", "photorealistic"],
                    ["4", "frog", "frog"]]


def test_console_entry_point_runs_as_a_module(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aae_desktop", "tokens", "--prompt", ""], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["aae-desktop: error: The prompt is empty."]


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # like `aae-desktop tokens ... | head` after head has exited
    broken = os.fdopen(write_end, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", broken)
    try:
        assert run(["tokens", "--prompt", "a cat and a frog"]) == 0
    finally:
        monkeypatch.undo()
        broken.close()
    assert "Traceback" not in capsys.readouterr().err


def test_render_out_png_carries_a1111_text_naming_the_models_own_sampler(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "a.png"
    assert run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--tokens", "frog",
                "--out", str(out), "--seed", "9", *QUICK]) == 0
    with Image.open(out) as img:
        text = img.text["parameters"]
    settings = text.splitlines()[-1]
    # The tiny model ships PNDM, which A1111 calls PLMS; "default" alone would tell readers nothing.
    assert "Sampler: PLMS" in settings and "Seed: 9" in settings
    assert 'AAE tokens: frog' in settings and "AAE indices: 5" in settings
    assert "Model: tiny-sd" in settings and "Model hash: " in settings
