"""`aae-desktop render` and memory: out-of-memory advice names flags, options that do nothing say so."""
from __future__ import annotations

import pytest
import torch

from aae_desktop.cli import run

QUICK = ["--steps", "1", "--width", "64", "--height", "64", "--no-excite", "--prompt", "a cat", "--tokens", "cat"]


def test_out_of_memory_names_the_flags_that_help(tiny_model_dir, tmp_path, capsys, monkeypatch):
    from diffusers import UNet2DConditionModel

    def full(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes")

    monkeypatch.setattr(UNet2DConditionModel, "forward", full)
    code = run(["render", "--model", str(tiny_model_dir), "--out", str(tmp_path / "x.png"), "--device", "cpu",
                *QUICK])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("aae-desktop: error:")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in err
    assert "Out of memory on the computer (RAM) while generating" in errors[0]
    assert "--width/--height" in errors[0] and "--vae-tiling" in errors[0]
    assert "--cpu-offload" not in errors[0] and "fp16" not in errors[0]  # neither helps on the CPU


@pytest.mark.parametrize("flags, says", [
    (["--vae-slicing"], "--vae-slicing has no effect"),
    (["--precision", "fp16"], "fp32 here"),
])
def test_options_that_do_nothing_here_are_named(tiny_model_dir, tmp_path, capsys, flags, says):
    code = run(["render", "--model", str(tiny_model_dir), "--out", str(tmp_path / "x.png"), "--device", "cpu",
                *QUICK, *flags])
    assert code == 0
    assert says in capsys.readouterr().err
    assert torch.get_default_dtype() == torch.float32
