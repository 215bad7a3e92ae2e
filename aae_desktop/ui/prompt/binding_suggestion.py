"""The automatic binding pairs of a prompt as the window's words: (modifier word, noun word)."""
from __future__ import annotations

from aae_desktop.engine.objectives.binding_words import suggest_from_words
from aae_desktop.engine.tokens import PromptTokens, Word


def suggested_pairs(parsed: PromptTokens) -> list[tuple[Word, Word]]:
    """Each suggested modifier with its noun, found on the words the token selector shows."""
    pairs = []
    for binding in suggest_from_words(parsed):  # the words the selector shows: no second tokenization
        nouns = parsed.words_for_indices(binding.noun_tokens)
        if not nouns:
            continue
        for modifier_tokens in binding.modifier_tokens:
            pairs += [(modifier, nouns[0]) for modifier in parsed.words_for_indices(modifier_tokens)
                      if modifier != nouns[0]]
    return pairs
