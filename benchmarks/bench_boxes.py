"""What boxes (BoxDiff) cost on our engine: plain SD, exciting, exciting + boxes, boxes alone.

All four run in one process on the same random-weight model of SD 1.x topology (bench_engine's
sizes), the same prompt, seed and steps; each is run --repeat times, interleaved so that drift
(a shared machine's load) hits all four alike, and the median is printed with its ratio to
exciting alone.

    python benchmarks/bench_boxes.py                 # SD 1.x widths, 256 px, 10 steps (slow on CPU)
    python benchmarks/bench_boxes.py --size small    # narrow widths, same topology (quick check)

Where the time went is counted as bench_engine counts it (its PhaseTimer): UNet forwards with
gradients (the objective passes), backward passes and the no-grad guidance forwards, each with its
median count and seconds per pass; and the objective passes by phase, read from the image's loss
history (one record per objective forward). With exciting on, the box loss is summed on the excite
pass's maps (no pass of its own), so a different time comes from the loss itself or from a
different number of refinement rounds (the boxed latents are other latents).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import PhaseTimer  # noqa: E402
from benchmarks.objective_bench import bench_model, run_arguments  # noqa: E402

PROMPT = "a cat and a frog"  # cat 2, frog 5; end-of-text 6
EXCITED = (2, 5)
BOXES = (((2,), (0.0, 0.3, 0.5, 1.0)), ((5,), (0.5, 0.3, 1.0, 1.0)))  # cat bottom left, frog bottom right
CONFIGS = ("plain", "excite", "excite+boxes", "boxes")
PHASES = ("grad_forward", "backward", "guidance_forward")


def build_requests(args: argparse.Namespace) -> dict:
    from aae_desktop.engine.objectives.box_settings import BoxSettings
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

    excite = ExciteSettings(token_indices=EXCITED, max_iter_to_alter=args.max_iter,
                            thresholds=((0, 0.05), (3, 0.5)))
    off = ExciteSettings(enabled=False)
    boxes = BoxSettings(True, BOXES, prompt_length=6)
    common = dict(model="bench", prompt=PROMPT, seed=args.seed, steps=args.steps, width=args.px, height=args.px)
    return {"plain": GenerationRequest(**common, excite=off),
            "excite": GenerationRequest(**common, excite=excite),
            "excite+boxes": GenerationRequest(**common, excite=excite, boxes=boxes),
            "boxes": GenerationRequest(**common, excite=off, boxes=boxes)}


def measure(args: argparse.Namespace) -> dict:
    import torch

    from aae_desktop.engine.run.generate import generate

    pipe, model = bench_model(args)
    requests = build_requests(args)
    for request in requests.values():
        request.validate()
    # Warm-up (first-call costs belong to no config): boxes alone runs every kind of UNet pass (gradient
    # forward, backward, guidance) and the box loss, at a fraction of an excite run's cost.
    generate(model, requests["boxes"], preview_every=0)

    runs: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    for _ in range(args.repeat):
        for name in CONFIGS:
            phases = PhaseTimer(pipe.unet, args.device)
            if args.device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            with phases:
                result = generate(model, requests[name], preview_every=0)
            if args.device == "cuda":
                torch.cuda.synchronize()
            passes = Counter(record.phase for record in result.images[0].loss_history)
            runs[name].append({"seconds": time.perf_counter() - start, "phases": phases.totals,
                               "objective_passes": dict(passes)})
    return runs


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per config: median seconds, per timed phase the median pass count and seconds, passes by phase."""
    out = {}
    for name, reps in runs.items():
        phases = {phase: [statistics.median(r["phases"][phase][0] for r in reps),
                          statistics.median(r["phases"][phase][1] for r in reps)] for phase in PHASES}
        out[name] = {"seconds": statistics.median(r["seconds"] for r in reps),
                     "all_seconds": [r["seconds"] for r in reps], "phases": phases,
                     "objective_passes": reps[0]["objective_passes"]}  # the same on every repeat
    return out


def print_table(summary: dict[str, dict]) -> None:
    excite = summary["excite"]["seconds"]
    print(f"{'run':<13} {'seconds':>8} {'/excite':>8}   {'grad fwd':>15} {'backward':>15} {'guidance fwd':>15} "
          f"{'other':>7}   objective passes")
    for name in CONFIGS:
        row = summary[name]
        cells = [f"{int(c):3d} x {s / c:.3f} s" if c else "-" for c, s in (row["phases"][p] for p in PHASES)]
        other = row["seconds"] - sum(s for _, s in row["phases"].values())
        passes = ", ".join(f"{phase} {n}" for phase, n in row["objective_passes"].items()) or "-"
        print(f"{name:<13} {row['seconds']:8.2f} {row['seconds'] / excite:7.2f}x   "
              f"{cells[0]:>15} {cells[1]:>15} {cells[2]:>15} {other:7.2f}   {passes}")


def main() -> int:
    args = run_arguments(__doc__.splitlines()[0])

    summary = summarise(measure(args))
    print(f"config: size={args.size} px={args.px} steps={args.steps} max_iter_to_alter={args.max_iter} "
          f"thresholds={{0: 0.05, 3: 0.5}} boxes=cat:0,0.3,0.5,1 frog:0.5,0.3,1,1 (scale 20) device={args.device} "
          f"scheduler={args.scheduler} median of {args.repeat}")
    print_table(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
