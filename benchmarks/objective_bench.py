"""What bench_bind.py and bench_boxes.py share: their command line and the random-weight SD 1.x-topology
model both time their four configs on (bench_engine's sizes), built once per run."""
from __future__ import annotations

import argparse

from benchmarks.bench_engine import SIZES, _cuda


def run_arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", choices=sorted(SIZES), default="sd1")
    parser.add_argument("--px", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6141)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each config; the median is printed")
    parser.add_argument("--scheduler", default="pndm", choices=["pndm", "ddim"])
    parser.add_argument("--device", default="cuda" if _cuda() else "cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def bench_model(args: argparse.Namespace):
    """(pipeline, the engine's handle of it): the tiny components at `args.size`, fp32 on `args.device`."""
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
    from aae_desktop.engine.models.tiny_model import tiny_components

    torch.set_num_threads(args.threads or torch.get_num_threads())
    comps = tiny_components(seed=0, scheduler=args.scheduler, **SIZES[args.size])
    pipe = StableDiffusionPipeline(**comps, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return pipe, wrap_pipeline(pipe, "bench", LoadOptions(device=args.device, precision="fp32"))
