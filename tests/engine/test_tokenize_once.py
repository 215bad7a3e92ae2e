"""A prompt is split into tokens once: every later reader of the same prompt (validation, the progress
readout, the PNG's text, the heat maps) gets the PromptTokens made the first time (#21)."""
from __future__ import annotations

import copy

from aae_desktop.engine.tokens import tokenize_prompt


class CountingTokenizer:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)

    def convert_ids_to_tokens(self, ids):
        return self.inner.convert_ids_to_tokens(ids)


def test_the_same_prompt_is_tokenized_once_per_tokenizer_and_embeddings(tokenizer):
    counting = CountingTokenizer(tokenizer)
    first = tokenize_prompt(counting, "a cat and a frog, once-only")
    again = tokenize_prompt(counting, "a cat and a frog, once-only")
    assert again is first and counting.calls == 1
    tokenize_prompt(counting, "a cat and a frog, once-only", {"frog": 2})  # other embeddings: other words
    assert counting.calls > 1
    other = CountingTokenizer(copy.copy(tokenizer))  # another tokenizer never gets these words
    assert tokenize_prompt(other, "a cat and a frog, once-only") == first and other.calls == 1
