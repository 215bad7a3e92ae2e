"""SDXL: our engine vs a straightforward SDXL Attend-and-Excite (benchmarks/sdxl_baseline.py), side by side.

Each side runs in its own child process (so peak-memory high-water marks don't mix) on the same
random-weight model with SDXL's topology (three levels, no attention at the first, several
transformer layers per block, two text encoders, "text_time" conditioning), same prompt, seed and
settings; the parent compares the images and prints time, added peak memory and where the time went
(see bench_engine.py for how phases and memory are measured).

    python benchmarks/bench_sdxl.py                   # "medium" widths, 256 px, 10 steps (CPU: minutes)
    python benchmarks/bench_sdxl.py --size small      # the test model's widths (quick check)
    python benchmarks/bench_sdxl.py --size sdxl --px 1024 --steps 50 --max-iter 25   # SDXL widths (GPU)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import (  # noqa: E402
    PhaseTimer,
    _cuda,
    _reset_high_water,
    _rss_high_water_kb,
    _rss_kb,
    print_comparison,
    run_sides,
)

SIZES = {
    # SDXL base: 320-640-1280 channels, 1/2/10 transformer layers, 5/10/20 heads, 2048-wide text states.
    "sdxl": dict(block_out_channels=(320, 640, 1280), transformer_layers_per_block=(1, 2, 10),
                 attention_heads=(5, 10, 20), text_width=1024, time_embed_dim=256, vae_channels=128),
    "medium": dict(block_out_channels=(64, 128, 256), transformer_layers_per_block=(1, 2, 4),
                   attention_heads=(2, 4, 8), text_width=128, time_embed_dim=32, vae_channels=32),
    "small": dict(),  # tiny_sdxl_components' defaults: the test model
}
PROMPT = "a cat and a frog"
INDICES = [2, 5]
THRESHOLDS = {0: 0.05, 3: 0.5}


def child(side: str, args: argparse.Namespace, out_png: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    from diffusers import StableDiffusionXLPipeline

    from aae_desktop.engine.models.tiny_model import tiny_sdxl_components

    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = args.device
    pipe = StableDiffusionXLPipeline(**tiny_sdxl_components(seed=0, **SIZES[args.size]), add_watermarker=False)
    if side == "ours":
        from aae_desktop.engine.run.generate import generate
        from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
        from aae_desktop.engine.request import ExciteSettings, GenerationRequest

        model = wrap_pipeline(pipe, "bench", LoadOptions(device=device, precision="fp32"))
        request = GenerationRequest(
            model="bench", prompt=PROMPT, seed=args.seed, steps=args.steps, width=args.px, height=args.px,
            guidance_scale=5.0, excite=ExciteSettings(token_indices=tuple(INDICES), max_iter_to_alter=args.max_iter,
                                                      thresholds=tuple(THRESHOLDS.items())),
        )

        def run():
            return generate(model, request, preview_every=0).images[0].image
    else:
        from benchmarks.sdxl_baseline import sdxl_attend_and_excite

        pipe.to(device)
        for module in (pipe.unet, pipe.vae, pipe.text_encoder, pipe.text_encoder_2):
            module.requires_grad_(False)  # as diffusers' reference: only the latents get gradients

        def run():
            return sdxl_attend_and_excite(
                pipe, PROMPT, INDICES, height=args.px, width=args.px, num_inference_steps=args.steps,
                guidance_scale=5.0, generator=torch.Generator("cpu").manual_seed(args.seed),
                max_iter_to_alter=args.max_iter, thresholds=THRESHOLDS)

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
    peak = (torch.cuda.max_memory_allocated() if device == "cuda" else _rss_high_water_kb() * 1024) - base
    image.save(out_png)
    return {"side": side, "seconds": seconds, "peak_bytes": peak, "png": out_png, "phases": phases.totals}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="medium")
    parser.add_argument("--px", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6141)
    parser.add_argument("--device", default="cuda" if _cuda() else "cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args, args.out)))
        return 0

    results = run_sides(__file__, ("baseline", "ours"))
    if results is None:
        return 1
    base, ours = results["baseline"], results["ours"]
    print(f"config: SDXL topology size={args.size} px={args.px} steps={args.steps} max_iter_to_alter={args.max_iter} "
          f"thresholds={THRESHOLDS} guidance=5.0 device={args.device} scheduler=Euler (SDXL's)")
    diff, speed, mem = print_comparison("baseline", base, ours)
    if args.json:
        Path(args.json).write_text(json.dumps({"speedup": speed, "memory_ratio": mem, "max_pixel_diff": diff,
                                               "baseline": base, "ours": ours}, indent=2))
    return 0 if diff <= 1 else 3


if __name__ == "__main__":
    raise SystemExit(main())
