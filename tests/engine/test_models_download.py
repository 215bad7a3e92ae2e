"""Download: size up front, byte progress, cancel and resume, into the standard cache layout (against a local fake Hub)."""
from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aae_desktop.engine.models.download import DownloadCancelled, DownloadError, download, plan_download
from aae_desktop.engine.models.hf_cache import list_cached_models

REPO = "tester/tiny-sd"
COMMIT = "c0ffee" + "0" * 34


def repo_files() -> dict[str, bytes]:
    files = {
        "model_index.json": json.dumps({"_class_name": "StableDiffusionPipeline"}).encode(),
        "scheduler/scheduler_config.json": b'{"prediction_type": "epsilon"}',
        "tokenizer/vocab.json": b"{}",
        "text_encoder/config.json": b'{"text": 1}',  # distinct contents: the cache dedupes equal blobs
        "unet/config.json": json.dumps({"cross_attention_dim": 768}).encode(),
        "vae/config.json": b'{"vae": 1}',
        "text_encoder/model.safetensors": bytes(range(256)) * 40,
        "unet/diffusion_pytorch_model.safetensors": bytes(reversed(range(256))) * 256,  # 64 KiB
        "vae/diffusion_pytorch_model.safetensors": b"v" * 5000,
        # The fp16 variant: half the bytes.
        "text_encoder/model.fp16.safetensors": bytes(range(128)) * 40,
        "unet/diffusion_pytorch_model.fp16.safetensors": bytes(reversed(range(128))) * 256,
        "vae/diffusion_pytorch_model.fp16.safetensors": b"h" * 2500,
        # Not needed by the pipeline: must not be fetched.
        "unet/diffusion_pytorch_model.bin": b"b" * 9000,
        "v1-4.ckpt": b"c" * 9000,
        "README.md": b"# tiny",
    }
    return files


class FakeHub(ThreadingHTTPServer):
    def __init__(self, files):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files
        self.log: list[tuple[str, str, str]] = []  # (method, file, range header)
        self.gates: dict[str, threading.Event] = {}  # file -> wait for this before sending its bytes

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body: bool):
        hub: FakeHub = self.server
        path = self.path.split("?")[0]
        if path == f"/api/models/{REPO}/revision/main":
            siblings = [{"rfilename": name, "size": len(data),
                         "lfs": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 130}}
                        for name, data in hub.files.items()]
            payload = json.dumps({"id": REPO, "sha": COMMIT, "siblings": siblings}).encode()
            return self._reply(200, payload, {"Content-Type": "application/json"}, body)
        if path.startswith("/api/models/"):  # what the real Hub answers for an unknown repo
            return self._reply(404, b"repo not found", {"X-Error-Code": "RepoNotFound"}, body)
        match = re.fullmatch(rf"/{REPO}/resolve/([^/]+)/(.+)", path)
        if not match or match[2] not in hub.files:
            return self._reply(404, b"not found", {"X-Error-Code": "EntryNotFound"}, body)
        data = hub.files[match[2]]
        hub.log.append((self.command, match[2], self.headers.get("Range", "")))
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(data).hexdigest()}"', "Accept-Ranges": "bytes"}
        start = 0
        if (rng := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))) is not None:
            start = int(rng[1])
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if body and match[2] in hub.gates:
            hub.gates[match[2]].wait(30)
        self._reply(206 if start else 200, data[start:], headers, body)

    def _reply(self, status, payload, headers, body):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)


@pytest.fixture
def hub():
    server = FakeHub(repo_files())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1024)  # many progress updates from small files
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_plan_shows_the_size_before_downloading(hub, cache):
    plan = plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint)
    files = repo_files()
    wanted = [n for n in files if n.endswith(".json") or n.endswith(".safetensors") and ".fp16." not in n]
    assert sorted(f.filename for f in plan.files) == sorted(wanted)
    assert plan.files[0].filename == "model_index.json"
    assert plan.total_bytes == plan.remaining_bytes == sum(len(files[n]) for n in wanted)
    assert plan.commit == COMMIT
    assert not [entry for entry in hub.log if entry[0] == "GET"]  # nothing fetched yet


def test_download_reports_progress_and_lands_in_the_cache(hub, cache):
    plan = plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint)
    reports = []
    snapshot = download(plan, lambda done, total, name: reports.append((done, total, name)),
                        cache_dir=cache, endpoint=hub.endpoint)
    assert snapshot == cache / "models--tester--tiny-sd" / "snapshots" / COMMIT
    for name, data in repo_files().items():
        assert (snapshot / name).exists() == (name in {f.filename for f in plan.files})
    assert (snapshot / "unet/diffusion_pytorch_model.safetensors").read_bytes() == repo_files()[
        "unet/diffusion_pytorch_model.safetensors"]
    assert (cache / "models--tester--tiny-sd" / "refs" / "main").read_text() == COMMIT
    dones = [d for d, _, _ in reports]
    assert dones == sorted(dones) and dones[-1] == plan.total_bytes and len(reports) > 60
    assert {t for _, t, _ in reports} == {plan.total_bytes}
    [found] = list_cached_models(cache)
    assert found.repo_id == REPO and found.complete
    # Everything is now cached: a new plan has nothing left to fetch.
    assert plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint).remaining_bytes == 0


def test_cancel_keeps_finished_files_and_resume_fetches_only_the_rest(hub, cache):
    plan = plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint)
    cancel = threading.Event()
    unet = "unet/diffusion_pytorch_model.safetensors"
    seen = []

    def stop_inside_the_unet(done, total, name):
        seen.append(name)
        if name == unet:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        download(plan, stop_inside_the_unet, cancel, cache_dir=cache, endpoint=hub.endpoint)
    assert seen[-1] == unet
    names = [f.filename for f in plan.files]
    finished, rest = names[: names.index(unet)], names[names.index(unet):]

    again = plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint)
    assert {f.filename for f in again.files if f.cached} == set(finished)
    assert again.remaining_bytes == sum(f.size for f in plan.files if f.filename in rest)
    hub.log.clear()
    reports = []
    snapshot = download(again, lambda d, t, n: reports.append(d), cache_dir=cache, endpoint=hub.endpoint)
    fetched = {name for method, name, _ in hub.log if method == "GET"}
    assert fetched == set(rest)
    assert reports[-1] == again.remaining_bytes
    for name in names:
        assert (snapshot / name).read_bytes() == repo_files()[name]


def test_unknown_repo_and_no_network_are_clear_errors(hub, cache):
    with pytest.raises(DownloadError, match="not found on the Hugging Face Hub"):
        plan_download("nobody/nothing", cache_dir=cache, endpoint=hub.endpoint)
    with pytest.raises(DownloadError, match="Could not reach"):
        plan_download(REPO, cache_dir=cache, endpoint="http://127.0.0.1:9")


def test_not_a_diffusers_sd_repo(hub, cache):
    hub.files = {"README.md": b"hi", "model.safetensors": b"x"}
    with pytest.raises(DownloadError, match="not a Stable Diffusion model in diffusers format"):
        plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint)


def test_the_hub_is_offline_again_after_downloading(hub, cache):
    import huggingface_hub.constants as constants

    download(plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint), cache_dir=cache, endpoint=hub.endpoint)
    assert constants.HF_HUB_OFFLINE is True


def sdxl_repo_files() -> dict[str, bytes]:
    """An SDXL base repo's layout: a second text encoder and tokenizer, fp32 and fp16 weights side by side."""
    files = {
        "model_index.json": json.dumps({"_class_name": "StableDiffusionXLPipeline"}).encode(),
        "scheduler/scheduler_config.json": b'{"prediction_type": "epsilon"}',
        "unet/config.json": json.dumps({"cross_attention_dim": 2048, "addition_embed_type": "text_time"}).encode(),
        "vae/config.json": b'{"vae": 1}',
        "vae_1_0/config.json": b'{"vae": 2}',  # an older VAE the repo keeps: not needed
        "vae_1_0/diffusion_pytorch_model.safetensors": b"old" * 3000,
        "sd_xl_base_1.0.safetensors": b"s" * 9000,  # the same model as one file: not needed
    }
    for part, size in (("text_encoder", 3000), ("text_encoder_2", 7000), ("unet", 20000), ("vae", 4000)):
        stem = "model" if part.startswith("text_encoder") else "diffusion_pytorch_model"
        files[f"{part}/config.json"] = json.dumps({"part": part}).encode()
        files[f"{part}/{stem}.safetensors"] = part.encode()[:1] * size
        files[f"{part}/{stem}.fp16.safetensors"] = part.encode()[:2] * (size // 4)
    for tokenizer in ("tokenizer", "tokenizer_2"):
        files[f"{tokenizer}/vocab.json"] = json.dumps({"which": tokenizer}).encode()
    return files


@pytest.mark.parametrize("variant", [None, "fp16"])
def test_sdxl_plan_includes_the_second_text_encoder_and_its_size(hub, cache, variant):
    hub.files = sdxl_repo_files()
    plan = plan_download(REPO, variant, cache_dir=cache, endpoint=hub.endpoint)
    suffix = ".fp16" if variant else ""
    weights = {f"text_encoder/model{suffix}.safetensors", f"text_encoder_2/model{suffix}.safetensors",
               f"unet/diffusion_pytorch_model{suffix}.safetensors", f"vae/diffusion_pytorch_model{suffix}.safetensors"}
    configs = {n for n in hub.files if n.endswith(".json") and not n.startswith("vae_1_0/")}
    assert {f.filename for f in plan.files} == weights | configs
    assert plan.total_bytes == sum(len(hub.files[n]) for n in weights | configs)
    assert not [entry for entry in hub.log if entry[0] == "GET"]  # the size is known before anything is fetched
    download(plan, cache_dir=cache, endpoint=hub.endpoint)
    [found] = list_cached_models(cache)
    assert (found.family, found.complete) == ("sdxl", True)


def test_a_repo_without_the_first_text_encoder_is_refused_before_downloading(hub, cache):
    # The SDXL refiner's layout: only text_encoder_2.
    hub.files = {k: v for k, v in sdxl_repo_files().items() if not k.startswith(("text_encoder/", "tokenizer/"))}
    with pytest.raises(DownloadError, match=r"missing: text_encoder/model.safetensors"):
        plan_download(REPO, cache_dir=cache, endpoint=hub.endpoint)
    assert not [entry for entry in hub.log if entry[0] == "GET"]


def test_sdxl_base_is_offered():
    from aae_desktop.engine.models.download import SUGGESTED_DOWNLOADS

    assert "stabilityai/stable-diffusion-xl-base-1.0" in [repo for repo, _ in SUGGESTED_DOWNLOADS]
