"""The app's only network path: a user-clicked model download into the standard Hugging Face cache.

The size is known before anything is fetched (`plan_download`), progress is reported in bytes and
cancel is checked on every chunk. Resume works per file: every finished file stays in the cache and
the next plan skips it. (huggingface_hub 2.x discards a half-downloaded file, so the file in flight
starts over; for Xet-backed repos its chunk cache spares most of that.) Only the files the pipeline
needs are fetched (SDXL's second text encoder and tokenizer included), in one weight format
(safetensors), so a 4 GB model does not become 10 GB.
"""
from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from aae_desktop.engine.errors import EngineError
from aae_desktop.engine.models.hf_cache import hf_cache_dir
from aae_desktop.engine.models.offline import network_allowed

# The paper's model first. (The SD 2.x repos diffusers used to name were removed from the Hub in 2025.)
SUGGESTED_DOWNLOADS = (
    ("CompVis/stable-diffusion-v1-4", "Stable Diffusion 1.4: the model the Attend-and-Excite paper used"),
    ("stable-diffusion-v1-5/stable-diffusion-v1-5", "Stable Diffusion 1.5: a popular SD 1.x base"),
    ("stabilityai/stable-diffusion-xl-base-1.0", "SDXL 1.0 base: 1024 px, two text encoders; the base of most "
                                                  "SDXL fine-tunes (a larger download)"),
)

# A pipeline's parts: a weights file each (a text encoder's is model.*, the others diffusion_pytorch_model.*),
# plus its config. The second text encoder (SDXL) is fetched when the repo has one.
_REQUIRED_PARTS = ("unet", "vae", "text_encoder")
_OPTIONAL_PARTS = ("text_encoder_2",)
_CONFIGS = ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/*", "tokenizer_2/*",
            *(f"{part}/config.json" for part in _REQUIRED_PARTS + _OPTIONAL_PARTS)]
_VARIANT_SUFFIX = {None: "", "fp16": ".fp16"}


# Seconds a Hub request may wait for the server's next byte. Without it a connection that is accepted
# and never answered waits forever (huggingface_hub's client has no timeout of its own for model_info).
NETWORK_TIMEOUT_S = 20.0


def _weights_file(part: str, variant: str | None) -> str:
    stem = "model" if part.startswith("text_encoder") else "diffusion_pytorch_model"
    return f"{part}/{stem}{_VARIANT_SUFFIX[variant]}.safetensors"

ProgressCallback = Callable[[int, int, str], None]  # (bytes done, bytes total, current file)


def recommended_variant(device: str) -> str | None:
    """The weights to fetch for a device: fp16 for a CUDA GPU, which runs models in fp16 anyway (fp32
    files would be twice the download and, cast on every load, a +5 GB peak in the computer's
    memory); fp32 where models run in fp32 (the CPU, and the Apple GPU by default)."""
    return "fp16" if device == "cuda" else None


class DownloadCancelled(EngineError):
    """The user stopped the download; finished files are kept and skipped next time."""


class DownloadError(EngineError):
    """The download could not start or finish (no network, unknown or gated repo, not an SD model)."""


@dataclass(frozen=True)
class DownloadFile:
    filename: str
    size: int
    cached: bool


@dataclass(frozen=True)
class DownloadPlan:
    repo_id: str
    commit: str
    files: tuple[DownloadFile, ...]
    variant: str | None = None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def remaining_bytes(self) -> int:
        return sum(f.size for f in self.files if not f.cached)


def plan_download(repo_id: str, variant: str | None = None, cache_dir: str | Path | None = None,
                  endpoint: str | None = None) -> DownloadPlan:
    """Ask the Hub (one request) which files would be fetched and how big they are."""
    from huggingface_hub import HfApi, try_to_load_from_cache

    if variant not in _VARIANT_SUFFIX:
        raise DownloadError(f"Unknown weights variant '{variant}' (use fp32 or fp16).")
    cache = str(cache_dir or hf_cache_dir())
    try:
        with network_allowed():
            info = HfApi(endpoint=endpoint).model_info(repo_id, revision="main", files_metadata=True, token=_token(),
                                                 timeout=NETWORK_TIMEOUT_S)
    except Exception as exc:  # httpx / huggingface_hub raise many kinds; all mean "could not ask"
        raise DownloadError(_explain(repo_id, exc)) from exc
    listed = {sibling.rfilename for sibling in info.siblings or []}
    parts = [*_REQUIRED_PARTS, *(part for part in _OPTIONAL_PARTS if f"{part}/config.json" in listed)]
    weights = [_weights_file(part, variant) for part in parts]
    wanted = _CONFIGS + weights
    files = []
    for sibling in info.siblings or []:
        name = sibling.rfilename
        if not any(fnmatch.fnmatch(name, pattern) for pattern in wanted):
            continue
        size = (sibling.lfs.size if sibling.lfs else None) or sibling.size or 0
        cached = isinstance(try_to_load_from_cache(repo_id, name, cache_dir=cache, revision=info.sha), str)
        files.append(DownloadFile(name, int(size), cached))
    names = {f.filename for f in files}
    missing = [w for w in ["model_index.json", *weights] if w not in names]
    if missing:
        raise DownloadError(
            f"{repo_id} is not a Stable Diffusion model in diffusers format with safetensors weights "
            f"(missing: {', '.join(missing)})."
        )
    files.sort(key=lambda f: (f.filename != "model_index.json", f.filename))  # the index first: it writes refs/main
    return DownloadPlan(repo_id, str(info.sha), tuple(files), variant)


def download(plan: DownloadPlan, on_progress: ProgressCallback | None = None,
             cancel: threading.Event | None = None, cache_dir: str | Path | None = None,
             endpoint: str | None = None) -> Path:
    """Fetch the plan's missing files; returns the snapshot folder. Raises DownloadCancelled / DownloadError."""
    from huggingface_hub import hf_hub_download

    cache = str(cache_dir or hf_cache_dir())
    total = plan.remaining_bytes
    counter = _ByteCounter(total, on_progress, cancel)
    snapshot: Path | None = None
    with network_allowed():
        for item in plan.files:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("Download cancelled; files already fetched are kept for next time.")
            counter.file = item.filename
            # The index is fetched by branch name so the cache records refs/main -> this commit.
            revision = "main" if item.filename == "model_index.json" else plan.commit
            try:
                path = hf_hub_download(plan.repo_id, item.filename, revision=revision, cache_dir=cache,
                                       endpoint=endpoint, token=_token(), tqdm_class=counter.bar_class(),
                                       etag_timeout=NETWORK_TIMEOUT_S)
            except DownloadCancelled:
                raise
            except Exception as exc:
                raise DownloadError(_explain(plan.repo_id, exc)) from exc
            if item.cached:
                continue
            counter.finish_file(item.size)
            if item.filename == "model_index.json":
                snapshot = Path(path).parent
    if snapshot is None:
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(plan.repo_id, revision=plan.commit, cache_dir=cache, local_files_only=True))
    return snapshot


class _ByteCounter:
    """Turns huggingface_hub's per-file progress bars into one (done, total) report and a cancel check."""

    def __init__(self, total: int, on_progress: ProgressCallback | None, cancel: threading.Event | None):
        self.total, self.on_progress, self.cancel = total, on_progress, cancel
        self.done_files = 0  # bytes of completed files
        self.current = 0  # bytes of the file in flight (resumed part included)
        self.file = ""
        self._lock = threading.Lock()

    def add(self, n: float) -> None:
        with self._lock:
            self.current += int(n or 0)
            done = self.done_files + self.current
        if self.cancel is not None and self.cancel.is_set():
            raise DownloadCancelled("Download cancelled; files already fetched are kept for next time.")
        if self.on_progress is not None:
            self.on_progress(min(done, self.total), self.total, self.file)

    def finish_file(self, size: int) -> None:
        with self._lock:
            self.done_files += size
            self.current = 0
        if self.on_progress is not None:
            self.on_progress(min(self.done_files, self.total), self.total, self.file)

    def bar_class(self) -> type:
        from tqdm.auto import tqdm

        counter = self

        class _Bar(tqdm):  # huggingface_hub instantiates this per file
            def __init__(self, *args: Any, **kwargs: Any):
                kwargs["disable"] = True  # nothing printed; updates still arrive through update()
                super().__init__(*args, **kwargs)
                with counter._lock:
                    counter.current = 0
                if kwargs.get("initial"):
                    counter.add(kwargs["initial"])  # bytes resumed from a previous attempt

            def update(self, n: float | None = 1) -> None:
                counter.add(n or 0)

            def update_transfer(self, n: float | None = 1) -> None:  # xet transfers report here
                pass

        return _Bar


def _token() -> str | None:
    # Offline mode disables implicit tokens; a stored login is passed explicitly for gated repos.
    from huggingface_hub import get_token

    return get_token()


def _explain(repo_id: str, exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "GatedRepoError":
        return (f"{repo_id} requires accepting its license on huggingface.co and logging in "
                "(`hf auth login`) before it can be downloaded.")
    if name in ("RepositoryNotFoundError", "RevisionNotFoundError"):
        return f"{repo_id} was not found on the Hugging Face Hub."
    if name in ("ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException"):
        return (f"The Hugging Face Hub did not answer within {NETWORK_TIMEOUT_S:g} s while asking for {repo_id}; "
                "the network may be stalled. Try again later.")
    if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "OfflineModeIsEnabled", "OSError", "gaierror"):
        return f"Could not reach the Hugging Face Hub to download {repo_id} (no network?)."
    text = str(exc).strip().splitlines()
    return f"Downloading {repo_id} failed: {text[0] if text else name}"
