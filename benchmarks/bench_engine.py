"""Our engine vs diffusers' StableDiffusionAttendAndExcitePipeline, side by side in one run.

Each side runs in its own child process (so peak-memory high-water marks don't mix) on the same
random-weight model with SD 1.x topology, same prompt, seed and settings; the parent compares
the images and prints time and peak-memory ratios.

    python benchmarks/bench_engine.py                 # SD 1.x widths, 256 px, 10 steps (slow on CPU)
    python benchmarks/bench_engine.py --size small    # narrow widths, same topology (quick check)

Peak memory is what the run adds on top of the loaded model: on CUDA torch's
max_memory_allocated, on Linux CPU the process's resident high-water mark (VmHWM, reset
through /proc/self/clear_refs just before the run).

Each side also reports where its time went: UNet forwards with gradients (the excite passes),
backward passes (torch.autograd.grad, the gradient of the loss with respect to the latents) and
the no-grad guidance forwards. Both sides must run the same backward passes and guidance
forwards, so reference time / (our backward + guidance time) bounds the speed-up our engine can
reach with its kernels, however cheap its gradient forwards become.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {
    # SD 1.x: 4 levels, cross-attention in the first three down and last three up blocks.
    "sd1": dict(block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, layers_per_block=2,
                attention_head_dim=8, text_layers=1),
    "medium": dict(block_out_channels=(128, 256, 512, 512), cross_attention_dim=384, layers_per_block=2,
                   attention_head_dim=8, text_layers=1),
    "small": dict(block_out_channels=(32, 64, 128, 128), cross_attention_dim=64, layers_per_block=2,
                  attention_head_dim=8, text_layers=1),
}


def _rss_high_water_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_high_water() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PhaseTimer:
    """Counts and times UNet forwards (with / without gradients) and backward passes during a run.

    Wraps the UNet's forward and torch.autograd.grad, which both engines call for the gradient of
    the loss; on CUDA each phase is synchronised so the seconds belong to it.
    """

    def __init__(self, unet, device: str):
        self.unet, self.device = unet, device
        self.totals: dict[str, list[float]] = {"grad_forward": [0, 0.0], "backward": [0, 0.0],
                                               "guidance_forward": [0, 0.0]}

    def _timed(self, fn, phase_of):
        import torch

        def wrapper(*args, **kwargs):
            phase = phase_of()
            if self.device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:  # our truncated forward ends with an exception; it still counts
                if self.device == "cuda":
                    torch.cuda.synchronize()
                self.totals[phase][0] += 1
                self.totals[phase][1] += time.perf_counter() - start
        return wrapper

    def __enter__(self):
        import torch

        self._grad = torch.autograd.grad
        torch.autograd.grad = self._timed(self._grad, lambda: "backward")
        self.unet.forward = self._timed(
            type(self.unet).forward.__get__(self.unet),
            lambda: "grad_forward" if torch.is_grad_enabled() else "guidance_forward")
        return self

    def __exit__(self, *exc):
        import torch

        torch.autograd.grad = self._grad
        del self.unet.forward
        return False


def child(side: str, args: argparse.Namespace, out_png: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import torch

    from aae_desktop.engine.models.tiny_model import tiny_components

    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = args.device
    comps = tiny_components(seed=0, scheduler=args.scheduler, **SIZES[args.size])
    thresholds = {0: 0.05, 3: 0.5}
    indices = [2, 5]
    prompt = "a cat and a frog"
    if side == "ours":
        from diffusers import StableDiffusionPipeline

        from aae_desktop.engine.run.generate import generate
        from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
        from aae_desktop.engine.request import ExciteSettings, GenerationRequest

        pipe = StableDiffusionPipeline(**comps, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
        model = wrap_pipeline(pipe, "bench", LoadOptions(device=device, precision="fp32"))
        request = GenerationRequest(
            model="bench", prompt=prompt, seed=args.seed, steps=args.steps, width=args.px, height=args.px,
            excite=ExciteSettings(token_indices=tuple(indices), max_iter_to_alter=args.max_iter,
                                  thresholds=tuple(thresholds.items())),
        )

        def run():
            return generate(model, request, preview_every=0).images[0].image
    else:
        from diffusers.pipelines.deprecated.stable_diffusion_attend_and_excite.pipeline_stable_diffusion_attend_and_excite import (  # noqa: E501
            StableDiffusionAttendAndExcitePipeline,
        )

        pipe = StableDiffusionAttendAndExcitePipeline(**comps, safety_checker=None, feature_extractor=None,
                                                      requires_safety_checker=False)
        pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        grid = -(-args.px // 32)

        def run():
            return pipe(
                prompt=prompt, token_indices=indices, height=args.px, width=args.px, num_inference_steps=args.steps,
                guidance_scale=7.5, generator=torch.Generator("cpu").manual_seed(args.seed),
                max_iter_to_alter=args.max_iter, thresholds=thresholds, attn_res=(grid, grid),
            ).images[0]

    phases = PhaseTimer(pipe.unet, device)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_kb() * 1024
        _reset_high_water()
    start = time.perf_counter()
    with phases:
        image = run()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _rss_high_water_kb() * 1024 - base
    image.save(out_png)
    return {"side": side, "seconds": seconds, "peak_bytes": peak, "png": out_png, "phases": phases.totals}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="sd1")
    parser.add_argument("--px", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6141)
    parser.add_argument("--scheduler", default="pndm", choices=["pndm", "ddim"])
    parser.add_argument("--device", default="cuda" if _cuda() else "cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", choices=["ours", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args, args.out)))
        return 0

    results = run_sides(__file__, ("reference", "ours"))
    if results is None:
        return 1
    ref, ours = results["reference"], results["ours"]
    print(f"config: size={args.size} px={args.px} steps={args.steps} max_iter_to_alter={args.max_iter} "
          f"thresholds={{0: 0.05, 3: 0.5}} device={args.device} scheduler={args.scheduler}")
    diff, speed, mem = print_comparison("reference", ref, ours)
    for side in (ref, ours):
        side["phases"]["other"] = [1, side["seconds"] - sum(v[1] for v in side["phases"].values())]
    print(f"  {'other':<22}  {'':14}{ref['phases']['other'][1]:7.2f} s   {'':14}{ours['phases']['other'][1]:7.2f} s")
    required = ours["phases"]["backward"][1] + ours["phases"]["guidance_forward"][1]
    if required > 0:
        # Every exact engine runs these: one backward per gradient step and the guidance forwards.
        print(f"bound: our backward passes and guidance forwards alone take {required:.2f} s; even if our gradient "
              f"forwards and everything else took no time, the speed-up would be at most "
              f"{ref['seconds'] / required:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"speedup": speed, "memory_ratio": mem, "max_pixel_diff": diff,
                                               "reference": ref, "ours": ours}, indent=2))
    return 0 if diff <= 1 else 3


def run_sides(script: str, sides: tuple[str, str]) -> dict | None:
    """Run `script --child SIDE` for each side, each in its own process (so the peak-memory high-water
    marks don't mix), with this command's arguments; their figures, with the image as "pixels".
    None (after printing the child's error) when a side failed."""
    import numpy as np
    from PIL import Image

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for side in sides:
            png = os.path.join(tmp, f"{side}.png")
            cmd = [sys.executable, script, "--child", side, "--out", png] + sys.argv[1:]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
                return None
            results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[side]["pixels"] = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return results


def print_comparison(label: str, other: dict, ours: dict) -> tuple[int, float, float]:
    """Print time, added peak memory, their ratios, the max pixel difference and where the time went;
    return (max pixel difference, speed-up, peak-memory ratio). Removes the images from the figures."""
    import numpy as np

    diff = int(np.abs(other.pop("pixels") - ours.pop("pixels")).max())
    speed = other["seconds"] / ours["seconds"]
    mem = ours["peak_bytes"] / max(other["peak_bytes"], 1)
    width = max(len(label), len("ours")) + 1
    for name, side in ((label, other), ("ours", ours)):
        print(f"{name + ':':<{width}} {side['seconds']:.2f} s, peak +{side['peak_bytes'] / 2**20:.1f} MiB")
    print(f"speed-up: {speed:.2f}x   peak-memory ratio: {mem:.2f}x   max pixel difference: {diff} (of 255)")
    print(f"where the time went        {label:<23}ours")
    for phase in ("grad_forward", "backward", "guidance_forward"):
        cells = []
        for side in (other, ours):
            count, secs = side["phases"][phase]
            cells.append(f"{count:3d} x {secs / max(count, 1):6.3f} s = {secs:7.2f} s")
        print(f"  {phase:<22}  {cells[0]}   {cells[1]}")
    return diff, speed, mem


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
