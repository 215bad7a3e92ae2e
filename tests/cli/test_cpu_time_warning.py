"""`render` of a very large image on the CPU prints an estimate of the time on stderr before the first
step. The render itself is replaced by a stub that notes what stderr held when it was called: a
2048 px image would take the tiny model minutes, and the warning is about before, not during."""
from __future__ import annotations

import pytest

from aae_desktop.cli import run


@pytest.fixture
def started(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("AAE_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    seen: list[str] = []

    def generate(model, request, **kwargs):  # what stderr held when the render would have started
        seen.append(capsys.readouterr().err)

    monkeypatch.setattr("aae_desktop.engine.run.generate.generate", generate)
    return seen


def render(model_dir, tmp_path, size: int) -> int:
    return run(["render", "--model", str(model_dir), "--prompt", "a cat and a frog", "--tokens", "cat,frog",
                "--width", str(size), "--height", str(size), "--device", "cpu", "--seed", "1",
                "--out", str(tmp_path / "x.png")])


def test_a_2048_px_render_on_the_cpu_warns_before_it_starts(tiny_model_dir, tmp_path, started):
    assert render(tiny_model_dir, tmp_path, 2048) == 0
    warnings = [line for line in started[0].splitlines() if line.startswith("aae-desktop: warning: ")]
    assert len(warnings) == 1, started[0]
    assert "This render will take at least" in warnings[0] and "on the CPU (2048×2048 px, 50 steps" in warnings[0]
    assert "--width/--height" in warnings[0]


def test_a_usual_size_starts_without_a_warning(tiny_model_dir, tmp_path, started):  # the control
    assert render(tiny_model_dir, tmp_path, 512) == 0
    assert "warning" not in started[0]
