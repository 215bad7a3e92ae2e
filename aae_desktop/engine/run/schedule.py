"""The Attend-and-Excite schedule at any step count: the one place that turns what the artist set
(or left automatic) into the excite steps and threshold steps a run uses.

The paper's numbers are for 50 steps: excite the first 25, refine at steps 0, 10 and 20 until the
weakest word reaches 0.05, 0.5 and 0.8. Artists work at 20-30 steps, so a value left unset (None)
follows the step count: the same fractions of the run (at 20 steps: 10 · thresholds 0, 4, 8).
A value the artist set is kept while it fits the step count; when a change of steps leaves it
outside the run, this run uses an adapted value and says so (a note, never a failed run).
"""
from __future__ import annotations

from dataclasses import dataclass

from aae_desktop.engine.errors import FieldNote

Thresholds = tuple[tuple[int, float], ...]

PAPER_STEPS = 50
PAPER_MAX_ITER_TO_ALTER = 25
PAPER_THRESHOLDS: Thresholds = ((0, 0.05), (10, 0.5), (20, 0.8))


def scaled_step(paper_step: int, steps: int) -> int:
    """`paper_step` of 50 moved to the same point of a `steps`-step run, rounded half up.

    Integer arithmetic, so 25 of 50 at 25 steps is 13 on every platform (no float or banker's rounding).
    """
    return (2 * paper_step * steps + PAPER_STEPS) // (2 * PAPER_STEPS)


def automatic_max_iter_to_alter(steps: int) -> int:
    return scaled_step(PAPER_MAX_ITER_TO_ALTER, steps)


def automatic_thresholds(steps: int) -> Thresholds:
    """The paper's thresholds at the same fractions of the run. When few steps make two of them land
    on one step, the earlier (gentler) one is kept: one refinement per step is what the loop runs."""
    chosen: dict[int, float] = {}
    for paper_step, value in PAPER_THRESHOLDS:
        chosen.setdefault(min(scaled_step(paper_step, steps), max(steps - 1, 0)), value)
    return tuple(sorted(chosen.items()))


@dataclass(frozen=True)
class Schedule:
    """What a run uses, and how it got there."""

    max_iter_to_alter: int
    thresholds: Thresholds
    automatic_max_iter: bool  # the artist left it to follow the step count
    automatic_thresholds: bool
    notes: tuple[FieldNote, ...] = ()  # one per value of the artist's that had to be adapted

    def summary(self) -> str:
        """'excite steps 1–10 · refine at steps 1, 5, 9': how the panel shows the effective schedule.

        Steps count from 1 here, as the progress bar counts them ("Refining · step 5/20" is the
        refinement at threshold step 4); the thresholds themselves keep the paper's numbering from 0.
        """
        n = self.max_iter_to_alter
        excite = "no excite steps" if n < 1 else "excite step 1" if n == 1 else f"excite steps 1–{n}"
        if not self.thresholds:
            return f"{excite} · no refinement"
        steps = ", ".join(str(step + 1) for step, _value in self.thresholds)
        return f"{excite} · refine at step{'s' if len(self.thresholds) > 1 else ''} {steps}"


def resolve_schedule(steps: int, max_iter_to_alter: int | None, thresholds: Thresholds | None) -> Schedule:
    """The schedule a `steps`-step run uses. Values that are wrong whatever the step count (negative,
    duplicated, outside (0, 1]) are left for GenerationRequest.validate() to report."""
    notes: list[FieldNote] = []
    if max_iter_to_alter is None:
        max_iter = automatic_max_iter_to_alter(steps)
    elif steps >= 1 and max_iter_to_alter > steps:
        max_iter = automatic_max_iter_to_alter(steps)
        notes.append(FieldNote(
            f"{{field}} ({max_iter_to_alter}) is more than {{steps}} ({steps}); this run excites the first "
            f"{max_iter}, the paper's share (25 of 50).", "excite.max_iter_to_alter", also={"steps": "steps"}))
    else:
        max_iter = max_iter_to_alter

    if thresholds is None:
        used_thresholds = automatic_thresholds(steps)
    else:
        outside = [step for step, _value in thresholds if steps >= 1 and step >= steps]
        used_thresholds = tuple((step, value) for step, value in thresholds if step not in outside)
        if outside:
            listed = ", ".join(str(step) for step in outside)
            which = f"step {listed} is" if len(outside) == 1 else f"steps {listed} are"
            notes.append(FieldNote(
                f"{{field}}: {which} past the last step ({steps - 1}) of {{steps}} ({steps}); this run leaves "
                f"{'it' if len(outside) == 1 else 'them'} out.", "excite.thresholds", also={"steps": "steps"}))
    return Schedule(max_iter, tuple(used_thresholds), max_iter_to_alter is None, thresholds is None, tuple(notes))
