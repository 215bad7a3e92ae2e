"""Truly offline: switches set before the Hub libraries load, and no socket opened during load and render."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from aae_desktop.engine.models import offline
from aae_desktop.engine.models.loading import LoadOptions, load_model

from .ldm_layout import save_config_folder, save_single_file
from .test_models_memory import REQUEST


def _run_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if "OFFLINE" not in k and k != offline.ALLOW_ENV}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_engine_switches_the_hub_offline_before_diffusers_loads():
    out = _run_python("""
        import sys
        import aae_desktop.engine
        assert "diffusers" not in sys.modules and "huggingface_hub" not in sys.modules
        import os, huggingface_hub.constants as c
        print(os.environ["HF_HUB_OFFLINE"], os.environ["TRANSFORMERS_OFFLINE"], c.HF_HUB_OFFLINE, c.is_offline_mode())
    """)
    assert out == "1 1 True True"


def test_libraries_imported_first_are_switched_too():
    out = _run_python("""
        import huggingface_hub.constants as c
        before = c.HF_HUB_OFFLINE
        import aae_desktop.engine
        print(before, c.HF_HUB_OFFLINE)
    """)
    assert out == "False True"


def test_the_app_entry_point_is_offline_too():
    out = _run_python("""
        import aae_desktop.app, aae_desktop.cli
        aae_desktop.cli.build_parser()  # imports every subcommand module
        import huggingface_hub.constants as c
        print(c.HF_HUB_OFFLINE)
    """)
    assert out == "True"


def test_network_window_opens_only_inside_the_block():
    import huggingface_hub.constants as constants

    offline.enforce_offline()
    assert offline.is_offline()
    with offline.network_allowed():
        assert not constants.HF_HUB_OFFLINE
        with offline.network_allowed():  # nested (two downloads) keeps it open until both end
            pass
        assert not constants.HF_HUB_OFFLINE
    assert constants.HF_HUB_OFFLINE
    with pytest.raises(RuntimeError):
        with offline.network_allowed():
            raise RuntimeError("download failed")
    assert constants.HF_HUB_OFFLINE


@pytest.fixture
def socket_log(monkeypatch, tmp_path):
    """Every outgoing connection attempt, refused; plus an empty Hugging Face home."""
    attempts: list[object] = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    def no_dns(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror("DNS blocked by the test")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-home" / "hub"))
    return attempts


def test_hub_calls_fail_fast_without_touching_the_network(socket_log):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    offline.enforce_offline()
    with pytest.raises((LocalEntryNotFoundError, OfflineModeIsEnabled)):
        hf_hub_download("CompVis/stable-diffusion-v1-4", "model_index.json")
    assert socket_log == []


def test_no_socket_during_single_file_load_and_render(tiny_components, tmp_path, socket_log):
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.run.generate import generate

    pipe = StableDiffusionPipeline(
        **tiny_components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    checkpoint = save_single_file(pipe, tmp_path / "tiny.safetensors")
    config = save_config_folder(pipe, tmp_path / "config")
    model = load_model(checkpoint, LoadOptions(device="cpu", precision="fp32", config_dir=str(config)))
    result = generate(model, REQUEST)
    assert set(result.images[0].attention_maps) == {2, 5}
    assert socket_log == []
