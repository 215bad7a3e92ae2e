"""The one command to run first when a GPU is at hand: our engine next to the reference, measured.

    python benchmarks/device_check.py            # CUDA (or MPS): at most ~8 minutes on an H200-class GPU
    python benchmarks/device_check.py --smoke    # CPU, tiny models, well under a minute (CI runs this)

Random-weight models with the full SD 1.5 and SDXL architectures (benchmarks/device_models.py; no
download). For SD 1.5 at 512 and 768 px and SDXL at 1024 px, in fp16 and fp32, it prints seconds per
image and peak device memory (what a run adds to the loaded model) for our engine and for the
reference: diffusers' StableDiffusionAttendAndExcitePipeline for SD 1.5, and for SDXL the
straightforward baseline `benchmarks/sdxl_baseline.py` (`sdxl_attend_and_excite`) once this checkout
has it. It also prints the largest pixel difference from the reference in fp32 (TF32 off),
whether one seed gives the same image on the CPU and the GPU (fp32, at most 1/255), and how long a
cancel takes to stop a run. The table goes to stdout, and as JSON to --json or $OUT/device_check.json.

Runs are short on purpose (10 steps, excite steps 0-4, refinement at steps 0 and 3 up to the
reference's fixed 20 rounds: random weights never reach a threshold, so every refinement runs in
full, on both sides). Rows run in order of importance; once --budget seconds have passed, the rest
are reported as skipped rather than overrunning. With --smoke a failed exactness check exits 1.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import device_models  # noqa: E402  (after the path setup above)

PROMPT, INDICES = "a cat and a frog", (2, 5)


@dataclass
class Row:
    model: str
    size: int
    precision: str
    ours_s: float | None = None
    ours_peak_mib: float | None = None
    reference_s: float | None = None
    reference_peak_mib: float | None = None
    max_pixel_diff: int | None = None  # ours vs the reference, 0-255, fp32 rows only
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    device: str
    smoke: bool
    rows: list[Row] = field(default_factory=list)
    cpu_vs_device_max_diff: int | None = None
    cancel_latency_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Clock:
    def __init__(self, budget: float):
        self.started, self.budget = time.perf_counter(), budget

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def over(self) -> bool:
        return self.elapsed > self.budget

    def say(self, text: str) -> None:
        print(f"[{self.elapsed:6.1f} s] {text}", flush=True)


# -- measuring -------------------------------------------------------------------------------------------

def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def measure(device: str, fn: Callable[[], Any]) -> tuple[Any, float, float | None]:
    """(result, seconds, peak MiB added on top of what was allocated before; None off CUDA)."""
    import torch

    _sync(device)
    base = None
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    began = time.perf_counter()
    result = fn()
    _sync(device)
    seconds = time.perf_counter() - began
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if base is not None else None
    return result, seconds, peak


def request_for(size: int, steps: int, alter: int, thresholds: tuple, cap: int = 20, seed: int = 0,
                guidance: float = 7.5):
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

    return GenerationRequest(model="device-check", prompt=PROMPT, seed=seed, steps=steps, width=size, height=size,
                             guidance_scale=guidance,
                             excite=ExciteSettings(token_indices=INDICES, max_iter_to_alter=alter,
                                                   thresholds=thresholds, max_refinement_steps=cap))


def ours(model: Any, request: Any) -> Any:
    from aae_desktop.engine.run.generate import generate

    return generate(model, request, preview_every=0).images[0].image


def reference(pipe: Any, request: Any) -> Any:
    import torch

    ex = request.excite
    saved = pipe.unet.attn_processors
    try:
        return pipe(prompt=request.prompt, token_indices=list(ex.token_indices), height=request.height,
                    width=request.width, num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                    generator=torch.Generator("cpu").manual_seed(request.seed), max_iter_to_alter=ex.max_iter_to_alter,
                    thresholds=dict(ex.thresholds), scale_factor=ex.scale_factor,
                    attn_res=(-(-request.height // 32), -(-request.width // 32))).images[0]
    finally:
        pipe.unet.set_attn_processor(saved)  # the modules are shared with our pipeline


def max_diff(a: Any, b: Any) -> int:
    import numpy as np

    return int(np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int)).max())


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]


# -- the checks ------------------------------------------------------------------------------------------

def compare(report: Report, clock: Clock, label: str, our_model: Any, ref_fn: Callable[[Any], Any] | None,
            size: int, precision: str, request: Any, vae: Any, dtype: Any) -> None:
    """One table row: ours and the reference at one size and precision (the VAE reset to `dtype` first)."""
    row = Row(label, size, precision)
    report.rows.append(row)
    if clock.over():
        row.notes.append("skipped: time budget")
        clock.say(f"{label} {size} px {precision}: skipped (time budget)")
        return
    device = report.device
    our_image = ref_image = None
    try:
        vae.to(dtype)
        our_image, row.ours_s, row.ours_peak_mib = measure(device, lambda: ours(our_model, request))
        if vae.dtype != dtype:
            row.notes.append("our VAE fell back to fp32 (NaN in half precision)")
    except Exception as exc:  # reported in the table; the other rows still run
        row.notes.append(f"ours failed: {_short(exc)}")
    if ref_fn is None:
        row.notes.append("reference: not in this checkout")
    else:
        try:
            vae.to(dtype)
            ref_image, row.reference_s, row.reference_peak_mib = measure(device, lambda: ref_fn(request))
        except Exception as exc:
            row.notes.append(f"reference failed: {_short(exc)}")
    if precision == "fp32" and our_image is not None and ref_image is not None:
        row.max_pixel_diff = max_diff(our_image, ref_image)
        if row.max_pixel_diff > 1:
            report.failures.append(f"{label} {size} px: {row.max_pixel_diff}/255 from the reference")
    clock.say(f"{label} {size} px {precision}: ours {_fmt(row.ours_s)} s, reference {_fmt(row.reference_s)} s"
              + (f", max pixel difference {row.max_pixel_diff}/255" if row.max_pixel_diff is not None else "")
              + (f" ({'; '.join(row.notes)})" if row.notes else ""))


def cancel_latency(report: Report, clock: Clock, model: Any, requests: dict[str, Any]) -> None:
    """Seconds from setting the cancel event to generate() returning, during refinement and denoising."""
    from aae_desktop.engine.errors import GenerationCancelled
    from aae_desktop.engine.run.generate import generate

    for phase, request in requests.items():
        if clock.over():
            report.notes.append(f"cancel latency while {phase}: skipped (time budget)")
            continue
        cancel, marks = threading.Event(), {}

        def on_step(event, phase=phase):
            if event.phase == phase and not cancel.is_set():
                marks["set"] = time.perf_counter()
                cancel.set()

        try:
            generate(model, request, on_step=on_step, cancel=cancel, preview_every=0)
            report.notes.append(f"cancel latency while {phase}: the run never reached that phase")
        except GenerationCancelled:
            report.cancel_latency_s[phase] = time.perf_counter() - marks["set"]
            clock.say(f"cancel while {phase}: stopped after {report.cancel_latency_s[phase] * 1000:.0f} ms")


def same_image_on_cpu(report: Report, clock: Clock, components: dict[str, Any], device_model: Any,
                      size: int = 256) -> None:
    """Ours in fp32 on the CPU and on the device, same seed: at most 1/255 apart.
    (With --smoke the device is the CPU too: that only checks this code path.)"""
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline

    if clock.over():
        report.notes.append("CPU vs device: skipped (time budget)")
        return
    request = request_for(size, steps=4, alter=2, thresholds=((0, 0.05),), cap=3, seed=1)
    on_device = ours(device_model, request)
    cpu_parts = {k: (copy.deepcopy(v).to("cpu") if hasattr(v, "parameters") else v) for k, v in components.items()}
    pipe = StableDiffusionPipeline(**cpu_parts, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    on_cpu = ours(wrap_pipeline(pipe, "device-check-cpu", LoadOptions(device="cpu", precision="fp32")), request)
    report.cpu_vs_device_max_diff = max_diff(on_device, on_cpu)
    if report.cpu_vs_device_max_diff > 1:
        report.failures.append(f"CPU vs {report.device}: {report.cpu_vs_device_max_diff}/255 apart")
    against = "the CPU again (smoke: checks the code path)" if report.smoke else report.device
    clock.say(f"same seed on the CPU and {against} ({size} px, fp32): max pixel difference "
              f"{report.cpu_vs_device_max_diff}/255")


# -- the plan ------------------------------------------------------------------------------------------

def run_sd15(report: Report, clock: Clock, smoke: bool) -> None:
    import torch

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline

    device = report.device
    label = "SD 1.x tiny" if smoke else "SD 1.5"
    build = device_models.tiny_sd_components if smoke else device_models.sd15_components
    sizes = (64,) if smoke else (512, 768)
    # The smoke run skips refinement in the comparison: at 64 px the loss reads 2x2 maps, where 20
    # refinement rounds amplify rounding into a few levels of difference (128 px and up stay within 1).
    steps, alter, thresholds = (3, 2, ()) if smoke else (10, 5, ((0, 0.05), (3, 0.5)))
    precisions = ("fp32",) if smoke else ("fp32", "fp16")
    clock.say(f"building {label} (random weights, {device})")
    components = build(device, torch.float32)
    pipe, ref_pipe = device_models.sd_pipelines(components)
    for precision in precisions:
        dtype = {"fp32": torch.float32, "fp16": torch.float16}[precision]
        if precision != "fp32":
            for value in components.values():
                if hasattr(value, "parameters"):
                    value.to(dtype)
        model = wrap_pipeline(pipe, "device-check", LoadOptions(device=device, precision=precision))
        if not smoke:  # first calls pay for kernel selection and lazy initialisation: not part of the figures
            warm = request_for(sizes[0], steps=2, alter=1, thresholds=())
            ours(model, warm)
            reference(ref_pipe, warm)
        for size in sizes:
            compare(report, clock, label, model, lambda r: reference(ref_pipe, r), size, precision,
                    request_for(size, steps, alter, thresholds), components["vae"], dtype)
        if precision == "fp32":
            cancel_latency(report, clock, model, {
                "refining": request_for(sizes[0], steps, alter, ((0, 0.05),)),
                "denoising": request_for(sizes[0], steps, 1, ())})
            if device == "cuda" or smoke:
                same_image_on_cpu(report, clock, components, model, size=64 if smoke else 256)
            else:
                report.notes.append("CPU vs GPU: not compared on MPS (no fp32 parity is promised there)")
    del pipe, ref_pipe, components


def run_sdxl(report: Report, clock: Clock, smoke: bool) -> None:
    import torch

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline

    device = report.device
    if clock.over():
        report.notes.append("SDXL: skipped (time budget)")
        return
    built = (device_models.tiny_sdxl_components(device, torch.float32) if smoke
             else device_models.sdxl_components(device, torch.float32))
    if built is None:
        report.notes.append("SDXL: no tiny SDXL model in this checkout yet (tiny_model.tiny_sdxl_components)")
        clock.say("SDXL: skipped (no tiny SDXL model in this checkout)")
        return
    components, source = built
    clock.say(f"built SDXL from {source}")
    pipe = device_models.sdxl_pipeline(components)
    baseline = _sdxl_baseline()
    size = 64 if smoke else 1024
    steps, alter, thresholds = (3, 2, ((0, 0.05),)) if smoke else (10, 5, ((0, 0.05), (3, 0.5)))
    for precision in ("fp32",) if smoke else ("fp32", "fp16"):
        dtype = {"fp32": torch.float32, "fp16": torch.float16}[precision]
        for value in components.values():
            if hasattr(value, "parameters"):
                value.to(dtype)
        try:
            model = wrap_pipeline(pipe, "device-check-sdxl", LoadOptions(device=device, precision=precision),
                                  family="sdxl")
        except Exception as exc:
            report.rows.append(Row("SDXL", size, precision, notes=[f"ours failed to load: {_short(exc)}"]))
            continue
        ref_fn = (lambda r: baseline(pipe, r)) if baseline else None
        compare(report, clock, "SDXL", model, ref_fn, size, precision,
                request_for(size, steps, alter, thresholds, guidance=5.0), components["vae"], dtype)


def _sdxl_baseline() -> Callable[[Any, Any], Any] | None:
    """benchmarks/sdxl_baseline.py's straightforward SDXL Attend-and-Excite, called with a request's
    settings (None while this checkout does not have it)."""
    try:
        from sdxl_baseline import sdxl_attend_and_excite
    except ImportError:
        return None
    import torch

    def render(pipe: Any, request: Any) -> Any:
        ex = request.excite
        saved = pipe.unet.attn_processors
        try:
            return sdxl_attend_and_excite(
                pipe, request.prompt, list(ex.token_indices), height=request.height, width=request.width,
                num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                generator=torch.Generator("cpu").manual_seed(request.seed), max_iter_to_alter=ex.max_iter_to_alter,
                thresholds=dict(ex.thresholds), scale_factor=ex.scale_factor,
                max_refinement_steps=ex.max_refinement_steps)
        finally:
            pipe.unet.set_attn_processor(saved)  # the modules are shared with our pipeline

    return render


# -- output ----------------------------------------------------------------------------------------------

def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{b / a:.2f}x"


def table(report: Report) -> str:
    lines = [
        "| model | size | precision | ours s/img | reference s/img | speed-up | ours peak MiB | reference peak MiB "
        "| memory | max pixel diff | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        memory = "-" if not r.ours_peak_mib or not r.reference_peak_mib else f"{r.ours_peak_mib / r.reference_peak_mib:.2f}x"
        diff = "-" if r.max_pixel_diff is None else f"{r.max_pixel_diff}/255"
        lines.append(f"| {r.model} | {r.size} | {r.precision} | {_fmt(r.ours_s)} | {_fmt(r.reference_s)} | "
                     f"{_ratio(r.ours_s, r.reference_s)} | {_fmt(r.ours_peak_mib, 0)} | "
                     f"{_fmt(r.reference_peak_mib, 0)} | {memory} | {diff} | {'; '.join(r.notes)} |")
    extra = []
    if report.cpu_vs_device_max_diff is not None:
        what = "CPU vs CPU (smoke: the code path only)" if report.smoke else f"CPU vs {report.device}"
        extra.append(f"same seed, {what}, fp32: max pixel difference {report.cpu_vs_device_max_diff}/255")
    for phase, seconds in report.cancel_latency_s.items():
        extra.append(f"cancel while {phase}: {seconds * 1000:.0f} ms")
    extra += report.notes
    return "\n".join(lines + [""] + [f"- {line}" for line in extra])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny models: checks the script itself works")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds after which remaining rows are skipped")
    parser.add_argument("--json", help="where to write the JSON report (default: $OUT/device_check.json if OUT is set)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # The table is the output: casting the random models between dtypes makes diffusers warn on every
    # .to(dtype) (with an empty list of modules to keep), and transformers about torchvision.
    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()

    if args.smoke:
        device = "cpu"
    elif torch.cuda.is_available():
        device = "cuda"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = "mps"
    else:
        print("device_check: no GPU here (CUDA or MPS); use --smoke to check the script on the CPU", file=sys.stderr)
        return 2
    # fp32 means fp32: TF32 matmuls and convolutions would move the exactness checks by more than rounding.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    report = Report(device=device, smoke=args.smoke)
    if device == "cuda":
        report.notes.append(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, TF32 off")
    clock = Clock(args.budget)
    run_sd15(report, clock, args.smoke)
    import gc

    gc.collect()  # SD 1.5's modules go before SDXL's arrive
    if device == "cuda":
        torch.cuda.empty_cache()
    run_sdxl(report, clock, args.smoke)
    text = table(report)
    print("\n" + text)
    target = args.json or (os.path.join(os.environ["OUT"], "device_check.json") if os.environ.get("OUT") else None)
    if target:
        Path(target).write_text(json.dumps(asdict(report), indent=2))
        print(f"\nJSON: {target}")
    print(f"\ntotal {clock.elapsed:.0f} s")
    for failure in report.failures:
        print(f"device_check: FAILED: {failure}", file=sys.stderr)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
