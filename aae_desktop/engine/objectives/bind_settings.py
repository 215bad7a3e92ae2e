"""What a request asks of binding (SynGen): which modifiers belong to which noun, and how hard to pull.

A group is (modifiers, noun): each modifier and the noun are the token indices of one prompt word
(several when the tokenizer splits the word). Kept apart from request.py so that module stays small.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Word = tuple[int, ...]
Group = tuple[tuple[Word, ...], Word]

# The released SynGen implementation's constant step size (the paper's update on the latents).
DEFAULT_BIND_SCALE = 20.0


@dataclass(frozen=True)
class BindSettings:
    """Binding groups as token indices; `scale` is the step size when binding runs alone."""

    enabled: bool = False
    groups: tuple[Group, ...] = field(default_factory=tuple)
    scale: float = DEFAULT_BIND_SCALE
    # The end-of-text index of the prompt the groups were chosen on: prompt tokens are 1 .. this - 1,
    # the pool of "other words" the negative term pushes away from.
    prompt_length: int = 0
    # Denoising steps binding runs for when no word is excited; None is the implementation's rule,
    # the first half of the steps (25 of 50). With exciting, the excite schedule rules.
    steps: int | None = None

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.groups)

    def steps_for(self, total_steps: int) -> int:
        """How many of `total_steps` denoising steps binding alone runs for."""
        return total_steps // 2 if self.steps is None else min(self.steps, total_steps)

    def all_tokens(self) -> tuple[int, ...]:
        return tuple(i for modifiers, noun in self.groups for word in (*modifiers, noun) for i in word)

    def to_dict(self) -> dict[str, Any]:
        data = {"enabled": self.enabled, "scale": self.scale, "prompt_length": self.prompt_length,
                "groups": [{"modifiers": [list(m) for m in modifiers], "noun": list(noun)}
                           for modifiers, noun in self.groups]}
        if self.steps is not None:
            data["steps"] = self.steps
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "BindSettings":
        """Reads what to_dict wrote; a missing or empty value (older files) is no binding."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise TypeError("bind is not a set of named values")
        groups = tuple((tuple(_word(m) for m in g["modifiers"]), _word(g["noun"])) for g in data.get("groups") or ())
        steps = data.get("steps")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
            raise TypeError("bind steps is not a whole number")
        return cls(enabled=bool(data.get("enabled", False)), groups=groups,
                   scale=float(data.get("scale", DEFAULT_BIND_SCALE)), prompt_length=int(data.get("prompt_length", 0)),
                   steps=steps)


def _word(value: Any) -> Word:
    if isinstance(value, bool) or not isinstance(value, (list, tuple)) or not value:
        raise TypeError("a bound word is not a list of token indices")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TypeError("a bound word's token indices are not whole numbers")
    return tuple(value)


def bind_problem(settings: BindSettings, prompt_length: int) -> str | None:
    """One sentence saying what is wrong with the groups, or None.

    `prompt_length` is the end-of-text index: prompt tokens are 1 .. prompt_length - 1.
    """
    if settings.scale != settings.scale or settings.scale < 0 or settings.scale == float("inf"):
        return f"The binding scale must be a finite number, 0 or more (got {settings.scale})."
    if settings.steps is not None and settings.steps < 0:
        return f"Binding steps must be 0 or more (got {settings.steps})."
    noun_of: dict[Word, Word] = {}
    for modifiers, noun in settings.groups:
        if not modifiers:
            return f"The noun at token {list(noun)} is bound to no modifier."
        for word in (*modifiers, noun):
            for i in word:
                if i < 1 or i >= prompt_length:
                    return f"Token index {i} is outside the prompt (its words are tokens 1 to {prompt_length - 1})."
        for modifier in modifiers:
            if set(modifier) & set(noun):
                return f"A word cannot be bound to itself (tokens {list(modifier)})."
            if modifier in noun_of and noun_of[modifier] != noun:
                return (f"The word at tokens {list(modifier)} is bound to two nouns "
                        f"(tokens {list(noun_of[modifier])} and {list(noun)}).")
            noun_of[modifier] = noun
    return None
