"""What binding (SynGen) costs on our engine: plain SD, exciting, exciting + binding, binding alone.

All four run in one process on the same random-weight model of SD 1.x topology (bench_engine's
sizes), the same prompt, seed and steps; each is run --repeat times, interleaved so that drift
hits all four alike, and the median is printed with its ratio to exciting alone. The issue's
target: exciting + binding within 1.15x of exciting alone.

    python benchmarks/bench_bind.py                 # SD 1.x widths, 256 px, 10 steps (slow on CPU)
    python benchmarks/bench_bind.py --size small    # narrow widths, same topology (quick check)

Where the time went is counted as bench_engine counts it (its PhaseTimer): UNet forwards with
gradients (the objective passes), backward passes and the no-grad guidance forwards, each with
its median seconds, and the objectives' losses themselves (the maths on the captured maps,
timed per objective). Binding adds no pass of its own when exciting is on (its loss is summed on
the excite pass's maps), so any extra time is the loss itself or a different number of
refinement rounds (the bound latents are other latents).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import PhaseTimer  # noqa: E402
from benchmarks.objective_bench import bench_model, run_arguments  # noqa: E402

PROMPT = "a red cat and a blue frog"  # red 2, cat 3, blue 6, frog 7; end-of-text 8
EXCITED = (3, 7)
GROUPS = ((((2,),), (3,)), (((6,),), (7,)))
CONFIGS = ("plain", "excite", "excite+bind", "bind")


def build_requests(args: argparse.Namespace) -> dict:
    from aae_desktop.engine.objectives.bind_settings import BindSettings
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

    excite = ExciteSettings(token_indices=EXCITED, max_iter_to_alter=args.max_iter,
                            thresholds=((0, 0.05), (3, 0.5)))
    off = ExciteSettings(enabled=False)
    bind = BindSettings(True, GROUPS, prompt_length=8)
    common = dict(model="bench", prompt=PROMPT, seed=args.seed, steps=args.steps, width=args.px, height=args.px)
    return {"plain": GenerationRequest(**common, excite=off),
            "excite": GenerationRequest(**common, excite=excite),
            "excite+bind": GenerationRequest(**common, excite=excite, bind=bind),
            "bind": GenerationRequest(**common, excite=off, bind=bind)}


def measure(args: argparse.Namespace) -> dict:
    import torch

    from aae_desktop.engine.run.generate import generate

    pipe, model = bench_model(args)
    requests = build_requests(args)
    for request in requests.values():
        request.validate()
    generate(model, requests["excite+bind"], preview_every=0)  # warm-up: first-call costs belong to no config

    runs: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    for _ in range(args.repeat):
        for name in CONFIGS:
            phases = PhaseTimer(pipe.unet, args.device)
            if args.device == "cuda":
                torch.cuda.synchronize()
            start, cpu_start = time.perf_counter(), time.process_time()
            with phases, LossTimer(args.device) as losses:
                generate(model, requests[name], preview_every=0)
            if args.device == "cuda":
                torch.cuda.synchronize()
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            totals = {**phases.totals, **losses.totals}
            totals["other"] = [1, seconds - sum(s for _, s in totals.values())]
            runs[name].append({"seconds": seconds, "cpu_seconds": cpu, "phases": totals})
    return runs


class LossTimer:
    """Counts and times each objective's loss (the maths on the captured maps, between the truncated
    UNet forward and the backward), per objective class; synchronised on CUDA as PhaseTimer is."""

    def __init__(self, device: str):
        from aae_desktop.engine.objectives.registry import BindObjective, ExciteObjective

        self.device = device
        self.classes = {"excite_loss": ExciteObjective, "bind_loss": BindObjective}
        self.totals: dict[str, list[float]] = {name: [0, 0.0] for name in self.classes}

    def __enter__(self):
        import torch

        def timed(name, fn):
            def loss(objective, maps):
                if self.device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                result = fn(objective, maps)
                if self.device == "cuda":
                    torch.cuda.synchronize()
                self.totals[name][0] += 1
                self.totals[name][1] += time.perf_counter() - start
                return result
            return loss

        self._originals = {name: cls.loss for name, cls in self.classes.items()}
        for name, cls in self.classes.items():
            cls.loss = timed(name, self._originals[name])
        return self

    def __exit__(self, *exc):
        for name, cls in self.classes.items():
            cls.loss = self._originals[name]
        return False


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per config: median seconds, and per phase the (median) pass count and median seconds."""
    out = {}
    for name, reps in runs.items():
        phases = {phase: [statistics.median(r["phases"][phase][0] for r in reps),
                          statistics.median(r["phases"][phase][1] for r in reps)]
                  for phase in reps[0]["phases"]}
        out[name] = {"seconds": statistics.median(r["seconds"] for r in reps),
                     "cpu_seconds": statistics.median(r["cpu_seconds"] for r in reps),
                     "all_seconds": [r["seconds"] for r in reps], "phases": phases}
    return out


def main() -> int:
    args = run_arguments(__doc__.splitlines()[0])

    summary = summarise(measure(args))
    excite = summary["excite"]["seconds"]
    print(f"config: size={args.size} px={args.px} steps={args.steps} max_iter_to_alter={args.max_iter} "
          f"thresholds={{0: 0.05, 3: 0.5}} bind=red>cat, blue>frog device={args.device} "
          f"scheduler={args.scheduler} median of {args.repeat}")
    phases = ("grad_forward", "excite_loss", "bind_loss", "backward", "guidance_forward")
    print("each phase: count x median seconds per call (other: the rest of the run, median seconds)")
    print(f"{'run':<12} {'seconds':>8} {'/excite':>8}  " + "".join(f"{p:>19}" for p in phases) + f"{'other':>8}")
    for name in CONFIGS:
        row = summary[name]
        cells = [f"{int(c):3d} x {s / c:.4f} s" if c else "-" for c, s in (row["phases"][p] for p in phases)]
        print(f"{name:<12} {row['seconds']:8.2f} {row['seconds'] / excite:7.2f}x  " + "".join(f"{c:>19}" for c in cells)
              + f"{row['phases']['other'][1]:8.2f}")
    ratio = summary["excite+bind"]["seconds"] / excite
    print(f"excite+bind / excite = {ratio:.3f} (target <= 1.15): {'met' if ratio <= 1.15 else 'NOT met'}")
    # On a shared CPU other processes stretch the wall clock; the process's own CPU seconds much less.
    cpu_ratio = summary["excite+bind"]["cpu_seconds"] / summary["excite"]["cpu_seconds"]
    print(f"process CPU seconds: " + ", ".join(f"{n} {summary[n]['cpu_seconds']:.2f}" for n in CONFIGS)
          + f"; excite+bind / excite = {cpu_ratio:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
