"""How far engine.memory_estimate is from the memory a run really takes, at several sizes.

The engine refuses a size whose estimated peak does not fit the device (before any work), so the
estimate must not be far below the truth. Each measurement runs in its own child process so
high-water marks don't mix: the UNet phase (one excite step with its backward pass and one
guidance forward, through engine.generate with the decode left out) on a random-weight UNet of SD
1.x widths, and the VAE decode on a random-weight VAE of SD's real configuration. Peak memory is
what the phase adds on top of the loaded model (CUDA: max_memory_allocated; Linux CPU: VmHWM).

    python benchmarks/bench_memory_estimate.py                  # 256 and 384 px, SD 1.x widths
    python benchmarks/bench_memory_estimate.py --px 256 512     # other sizes (512 px: minutes on a CPU)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import SIZES, _reset_high_water, _rss_high_water_kb, _rss_kb  # noqa: E402


def _begin(device: str) -> int:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    _reset_high_water()
    return _rss_kb() * 1024


def _peak(device: str, base: int) -> int:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    return _rss_high_water_kb() * 1024 - base


def child(phase: str, px: int, device: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    from diffusers import AutoencoderKL, StableDiffusionPipeline

    from aae_desktop.engine.run import generate as engine
    from aae_desktop.engine.run.memory_estimate import unet_phase_bytes, vae_phase_bytes
    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest
    from aae_desktop.engine.models.tiny_model import tiny_components

    comps = tiny_components(seed=0, **SIZES["sd1"])
    comps["vae"] = AutoencoderKL.from_config(AutoencoderKL.load_config(str(ROOT / "resources/configs/sd1/vae")))
    pipe = StableDiffusionPipeline(**comps, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    model = wrap_pipeline(pipe, "bench", LoadOptions(device=device, precision="fp32"))
    request = GenerationRequest(model="bench", prompt="a cat and a frog", steps=1, width=px, height=px,
                                excite=ExciteSettings(token_indices=(2, 5), max_iter_to_alter=1,
                                                      thresholds=((0, 0.99),), max_refinement_steps=1))
    if phase == "unet":
        # The decode is measured on its own; here it returns a blank image of the right shape.
        engine._decode = lambda pipe_, latents: torch.zeros((1, 3, px, px), device=latents.device)
        base = _begin(device)
        engine.generate(model, request, preview_every=0)
        measured, estimated = _peak(device, base), unet_phase_bytes(model, request)
    else:
        latents = torch.randn((1, 4, px // 8, px // 8), device=device)
        base = _begin(device)
        with torch.no_grad():
            engine._decode(pipe, latents)
        measured, estimated = _peak(device, base), vae_phase_bytes(model, request)
    return {"phase": phase, "px": px, "measured": measured, "estimated": estimated}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--px", type=int, nargs="+", default=[256, 384])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.device)))
        return 0
    print(f"{'phase':<6} {'size':>9} {'measured':>12} {'estimated':>12} {'estimate/measured':>18}")
    worst = float("inf")
    for phase in ("unet", "vae"):
        for px in args.px:
            cmd = [sys.executable, __file__, "--child", phase, str(px), "--device", args.device]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            ratio = row["estimated"] / max(row["measured"], 1)
            worst = min(worst, ratio)
            print(f"{phase:<6} {px:>4}x{px:<4} {row['measured'] / 2**20:>8.0f} MiB {row['estimated'] / 2**20:>8.0f} MiB"
                  f" {ratio:>17.2f}x")
    print(f"lowest estimate/measured: {worst:.2f}x (below 1 means the estimate would let a too-large size through)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
