"""How smoothly the window runs during a real render: the UI thread's worst gap, its 99th percentile,
and where the UI thread's time went -- the app as shipped (engine in its own process) side by side
with the engine on a worker thread of the window's process (the design before) and an idle window
(what the machine itself costs).

    python benchmarks/ui_responsiveness.py                  # tiny random model, 64 px, 30 steps
    python benchmarks/ui_responsiveness.py --steps 20 --size 128 --variants process

A 10 ms timer ticks on the UI thread; a gap is the time between two ticks. The window is the real
MainWindow (offscreen), with the real worker and engine; the prompt has two excited words and the
paper's schedule at that step count. The timer starts at the click, as an artist meets the app: the
first Generate of a session starts the engine and loads the model, the next ones (--runs) reuse
it; the figures cover every run from its click to its last image, and each run's worst gap is
printed with the time after its click when it happened. Each variant runs in a fresh Python
process. Other programs on the machine stretch every figure: the load average is printed with each run.
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

VARIANTS = ("process", "thread", "idle")
DESCRIPTIONS = {
    "process": "engine in its own process (as shipped)",
    "thread": "engine on a worker thread of the window's process (before)",
    "idle": "window open, no render (the machine's own noise)",
}


def measure(variant: str, model: str, steps: int, size: int, interval_ms: int, idle_s: float, runs: int = 2) -> dict:
    """Run one variant in this process; return the figures as a dict."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.settings import SettingsStore
    from aae_desktop.ui.main_window import MainWindow
    from aae_desktop.ui.run.engine_port import DiffusersEngine
    from aae_desktop.ui.run.responsiveness import GapMeter, timing_application_class
    from aae_desktop.ui.style import apply_style

    app = timing_application_class(QApplication)(sys.argv[:1])
    apply_style(app)
    scratch = Path(tempfile.mkdtemp(prefix="aae-ui-bench-"))
    engine = DiffusersEngine() if variant == "thread" else None  # None: the window's own (process) engine
    store = SettingsStore(scratch / "settings.json")
    settings = store.load()
    settings.gallery_dir = str(scratch / "gallery")
    window = MainWindow(store, engine=engine, settings=settings)
    window.resize(1400, 900)
    window.show()
    # The window as the app ships it: the gallery saves each image and shows its heat maps, and the
    # model controls describe each loaded model (their files go to the scratch folder).
    from aae_desktop.engine.models.model_library import ModelLibrary
    from aae_desktop.ui.gallery.gallery_integration import install_gallery
    from aae_desktop.ui.models.model_controls import install_model_controls

    install_gallery(window)
    install_model_controls(window, ModelLibrary(scratch / "models.json"))
    meter = GapMeter(interval_ms)
    app.meter = meter
    state: dict = {}

    def ready(_payload=None) -> None:
        window.prompt_editor.set_prompt("a cat and a frog")
        for chip in window.prompt_editor.token_selector.chips:
            if chip.text() in ("cat", "frog"):
                chip.click()
        p = window.parameters
        p.width.setValue(size)
        p.height.setValue(size)
        p.steps.setValue(steps)
        p.set_seed_mode("locked")
        p.seed.setValue(1)
        if variant == "idle":
            QTimer.singleShot(300, begin_idle)
        else:
            # Chosen, not loaded: as after a restart, the first Generate loads it (what the artist waits for).
            window._set_model_source(model)
            window._load_options = LoadOptions(device="cpu", precision="fp32")
            QTimer.singleShot(300, click)

    def begin_idle() -> None:
        state["load_before"] = os.getloadavg()[0]
        meter.start()
        state["t0"] = time.perf_counter()
        QTimer.singleShot(int(idle_s * 1000), finish)

    def click() -> None:
        if "t0" not in state:
            state["load_before"] = os.getloadavg()[0]
            meter.start()
            state["t0"] = time.perf_counter()
            state["cpu0"] = time.process_time()
        state.setdefault("clicks", []).append(time.perf_counter())
        window.generate_button.click()

    def run_done(_payload) -> None:
        if len(state.get("clicks", ())) < runs:
            QTimer.singleShot(300, click)  # the artist looks at the image, then clicks again
        else:
            finish()

    def finish(_payload=None) -> None:
        state["t1"] = time.perf_counter()
        state["cpu1"] = time.process_time()
        state["report"] = meter.stop()
        QTimer.singleShot(0, app.quit)

    def failed(payload) -> None:
        state["error"] = f"{payload.title}: {payload.message}"
        app.quit()

    window.worker.tokenizer_loaded.connect(ready)
    window.results_ready.connect(run_done)
    window.worker.failed.connect(failed)
    QTimer.singleShot(1_800_000, app.quit)
    app.exec()
    window.close()
    if "error" in state or "report" not in state:
        return {"variant": variant, "error": state.get("error", "no result within 30 minutes")}
    report = state["report"]
    wall = state["t1"] - state["t0"]
    top = sorted(report.handlers.items(), key=lambda item: -item[1][1])[:8]
    return {
        "variant": variant,
        "seconds": wall,
        "ticks": len(report.gaps_s),
        "worst_ms": report.worst_ms(),
        "p99_ms": report.percentile_ms(99),
        "p50_ms": report.percentile_ms(50),
        "over_50": report.count_over(50),
        "over_100": report.count_over(100),
        "ui_process_cpu": (state.get("cpu1", 0) - state.get("cpu0", 0)) / wall if "cpu0" in state else None,
        "load": [state["load_before"], os.getloadavg()[0]],
        "handlers": [(what, count, seconds * 1000) for what, (count, seconds) in top],
        "long_gaps": [(g * 1000, [(w, s * 1000) for w, s in inside][:4]) for g, inside in report.long_gaps[:5]],
        "per_run": _per_run(meter.ticks, state.get("clicks", []), state["t1"]),
    }


def _per_run(ticks: list[float], clicks: list[float], end: float) -> list[tuple[float, float]]:
    """Each run's worst gap (ms) and when it ended, in seconds after that run's click."""
    out = []
    for i, clicked in enumerate(clicks):
        until = clicks[i + 1] if i + 1 < len(clicks) else end
        gaps = [(b - a, b - clicked) for a, b in zip(ticks, ticks[1:]) if clicked <= b <= until]
        worst = max(gaps, default=(0.0, 0.0))
        out.append((worst[0] * 1000, worst[1]))
    return out


def print_report(results: list[dict], steps: int, size: int) -> None:
    print(f"\nUI-thread gaps from each Generate click to its last image ({size} px, {steps} steps, tiny random model, "
          "10 ms timer)")
    print(f"{'variant':<9} {'worst':>8} {'p99':>8} {'p50':>7} {'>50ms':>6} {'>100ms':>7} {'run':>7} "
          f"{'UI proc CPU':>11}  load avg (before/after)")
    for r in results:
        if "error" in r:
            print(f"{r['variant']:<9} failed: {r['error']}")
            continue
        cpu = f"{r['ui_process_cpu'] * 100:.0f}%" if r["ui_process_cpu"] is not None else "-"
        print(f"{r['variant']:<9} {r['worst_ms']:6.0f}ms {r['p99_ms']:6.0f}ms {r['p50_ms']:5.0f}ms {r['over_50']:6d} "
              f"{r['over_100']:7d} {r['seconds']:6.1f}s {cpu:>11}  {r['load'][0]:.1f} / {r['load'][1]:.1f}")
    for r in results:
        if "error" in r:
            continue
        print(f"\n{r['variant']}: {DESCRIPTIONS[r['variant']]}")
        for i, (worst, at) in enumerate(r.get("per_run", ())):
            first = " (first Generate: starts the engine and loads the model)" if i == 0 else ""
            print(f"  run {i + 1}: worst gap {worst:.0f} ms, {at:.2f} s after its click{first}")
        print("  UI-thread time in events slower than 2 ms (count, total):")
        for what, count, ms in r["handlers"]:
            print(f"    {ms:8.0f} ms  {count:5d}x  {what}")
        if r["long_gaps"]:
            print("  longest gaps and the UI-thread events inside them (the rest is waiting: for the CPU, or, "
                  "with the engine on a thread, for the render thread's Python lock):")
            for gap, inside in r["long_gaps"]:
                events = ", ".join(f"{w} {ms:.0f} ms" for w, ms in inside) or "no UI event: waiting"
                print(f"    {gap:6.0f} ms: {events}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="diffusers model folder (default: the tiny random model, built in a temp dir)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--interval-ms", type=int, default=10)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--runs", type=int, default=2, help="Generate clicks per variant (the first loads the model)")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: one variant, JSON on stdout
    args = parser.parse_args()
    model = args.model
    if model is None:
        from aae_desktop.engine.models.tiny_model import save_tiny_model

        model = str(save_tiny_model(Path(tempfile.mkdtemp(prefix="aae-tiny-")) / "tiny-sd", seed=0))
    if args.run_one:
        result = measure(args.run_one, model, args.steps, args.size, args.interval_ms, idle_s=20.0, runs=args.runs)
        print("RESULT " + json.dumps(result))
        return 0
    results = []
    for variant in args.variants.split(","):
        cmd = [sys.executable, __file__, "--run-one", variant, "--model", model, "--steps", str(args.steps),
               "--size", str(args.size), "--interval-ms", str(args.interval_ms), "--runs", str(args.runs)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
        results.append(json.loads(line[7:]) if line else {"variant": variant, "error": out.stderr.strip()[-400:]})
        print(f"{variant}: done", file=sys.stderr)
    print_report(results, args.steps, args.size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
