"""Case 9, the smaller ones: an incomplete checkpoint without accelerate, prompts past 75 tokens, a missing
tokenizer model, inspecting folders, --out never overwriting."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aae_desktop.gallery.metadata import read_request

from .conftest import PROMPT, ROOT, assert_one_line, cli_process


@pytest.fixture(scope="module")
def incomplete_checkpoint(tmp_path_factory):
    """A tiny SD 1.x single file lacking one UNet weight, with its config folder."""
    from safetensors.torch import save_file

    from aae_desktop.engine.models.tiny_model import tiny_pipeline
    from tests.engine.ldm_layout import pipeline_to_ldm, save_config_folder

    folder = tmp_path_factory.mktemp("incomplete")
    pipe = tiny_pipeline(0)
    state = pipeline_to_ldm(pipe)
    state.pop("model.diffusion_model.out.2.weight")
    save_file(state, str(folder / "incomplete.safetensors"))
    return folder / "incomplete.safetensors", save_config_folder(pipe, folder / "config")


def test_an_incomplete_checkpoint_is_refused_without_accelerate(tmp_path, incomplete_checkpoint):
    """diffusers without accelerate keeps random weights for what a file lacks; the app must still refuse."""
    path, config = incomplete_checkpoint
    # find_spec() now says accelerate is absent; peft (diffusers' LoRA loader) cannot exist without it
    # (it imports accelerate), so a Python without accelerate has no peft either.
    hide_accelerate = ("import sys; sys.modules['accelerate'] = None; sys.modules['peft'] = None; "
                       "from aae_desktop.cli import run; raise SystemExit(run(sys.argv[1:]))")
    args = ["render", "--model", path, "--model-config", config, "--prompt", PROMPT, "--no-excite",
            "--out", tmp_path / "x.png", "--steps", 2, "--width", 64, "--height", 64]
    import subprocess

    proc = subprocess.run([sys.executable, "-c", hide_accelerate, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("aae-desktop")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and "missing 1 weight of the UNet" in lines[0] and "incomplete" in lines[0]
    assert not (tmp_path / "x.png").exists()


LONG = " ".join(["word"] * 74) + " a big cat and a frog"  # "big" is token 76: past the limit


def test_a_word_past_the_token_limit_is_named_with_the_limit(tiny_model_dir, tmp_path, cli, no_model_load):
    result = cli("render", "--model", tiny_model_dir, "--prompt", LONG, "--tokens", "cat",
                 "--out", tmp_path / "x.png")
    line = assert_one_line(result, 2, "'cat'", "75")
    assert "cut" in line and "big, cat, and, a, frog" in line


def test_the_truncation_warning_names_the_cut_words(tokenizer):
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

    warnings = GenerationRequest(model="m", prompt=LONG, excite=ExciteSettings(token_indices=(1,))).validate(tokenizer)
    assert len(warnings) == 1 and "75" in warnings[0] and "big, cat, and, a, frog" in warnings[0]


def test_tokens_with_a_missing_model_says_so(tmp_path, cli):
    result = cli("tokens", "--model", tmp_path / "missing" / "path", "--prompt", PROMPT)
    assert_one_line(result, 2, "Model not found", str(tmp_path / "missing" / "path"))
    assert result.out == ""


def test_tokens_with_a_model_folder_or_checkpoint_uses_its_tokenizer(tiny_model_dir, incomplete_checkpoint, cli):
    for model in (tiny_model_dir, incomplete_checkpoint[0]):
        result = cli("tokens", "--model", model, "--prompt", "a cat")
        assert result.code == 0 and result.out.split("\n")[2].split() == ["2", "cat", "cat"]


def test_models_inspect_describes_a_folder(tiny_model_dir, cli):
    result = cli("models", "--inspect", tiny_model_dir)
    assert result.code == 0 and "Traceback" not in result.err
    assert result.out.startswith(f"{tiny_model_dir.name}: SD 1.x") and "diffusers folder" in result.out
    result = cli("models", "--inspect", tiny_model_dir.parent)  # a folder that is not a model
    assert_one_line(result, 2, "not a diffusers model folder")


def test_render_out_never_overwrites_without_being_asked(tiny_model_dir, tmp_path, cli):
    target = tmp_path / "cat.png"
    target.write_bytes(b"the artist's earlier picture")
    args = ["render", "--model", tiny_model_dir, "--prompt", PROMPT, "--no-excite", "--out", target,
            "--steps", 2, "--width", 64, "--height", 64, "--seed", 8]
    result = cli(*args)
    assert result.code == 0 and result.out.strip() == str(tmp_path / "cat-2.png")
    assert target.read_bytes() == b"the artist's earlier picture"
    assert any("cat.png already exists" in line and "cat-2.png" in line for line in result.err_lines)
    result = cli(*args, "--overwrite")
    assert result.code == 0 and result.out.strip() == str(target) and read_request(target).seed == 8


# -- the window from a terminal ------------------------------------------------------------------------

READY_PROBE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from aae_desktop.app import main

def ready():
    if any(w.objectName() == "mainWindow" and w.isVisible() for w in QApplication.topLevelWidgets()):
        print("READY", flush=True)
    else:
        QTimer.singleShot(50, ready)

QTimer.singleShot(0, ready)
sys.exit(main(["--model", "/nonexistent/model-folder"]))
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_in_the_terminal_closes_the_window_cleanly(home, sig):
    import os
    import signal
    import subprocess

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-c", READY_PROBE], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(getattr(signal, sig))
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + getattr(signal, sig), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert home.settings.is_file()  # the window closed the normal way: its settings were saved


def _window_process(env_changes: dict[str, str | None]):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    return subprocess.run([sys.executable, "-m", "aae_desktop"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland displays are a Linux matter")
def test_no_display_is_one_clear_sentence_instead_of_a_qt_abort():
    proc = _window_process({})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("aae-desktop: the window needs a graphical desktop") and "DISPLAY" in lines[0]
    assert "qt.qpa" not in proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland displays are a Linux matter")
def test_a_display_qt_cannot_use_is_one_clear_sentence():
    proc = _window_process({"DISPLAY": ":93"})  # no X server there (and maybe libraries missing)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("aae-desktop: the window") and "qt.qpa" not in proc.stderr


def test_missing_system_libraries_are_named_with_their_packages():
    from aae_desktop.ui.display_check import debian_package, display_problem

    problem = display_problem({"DISPLAY": ":0"}, "linux", Path("libqxcb.so"),
                              lambda _plugin: ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0", "libEGL.so.1"])
    assert "libxcb-icccm.so.4, libxkbcommon-x11.so.0, libEGL.so.1" in problem
    assert "sudo apt install libxcb-icccm4 libxkbcommon-x11-0 libegl1" in problem
    assert debian_package("libdbus-1.so.3") == "libdbus-1-3"
    assert display_problem({"DISPLAY": ":0"}, "linux", Path("x"), lambda _p: [], lambda _d: True) is None
    assert display_problem({}, "win32") is None and display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
