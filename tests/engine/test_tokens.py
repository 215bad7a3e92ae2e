"""Prompt -> tokens -> words with the real CLIP tokenizer."""
from __future__ import annotations

import pytest

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.tokens import tokenize_prompt


def test_published_ids_and_indices(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a cat and a frog")
    assert [t.id for t in parsed.tokens] == [320, 2368, 537, 320, 11438]
    assert [t.index for t in parsed.tokens] == [1, 2, 3, 4, 5]
    assert parsed.eot_index == 6


def test_multi_token_word_maps_to_all_its_tokens(tokenizer):
    parsed = tokenize_prompt(tokenizer, "A photorealistic cat, and a FROG")
    word = next(w for w in parsed.words if w.text == "photorealistic")
    assert [parsed.tokens[i - 1].text for i in word.token_indices] == ["photo", "realistic"]
    assert parsed.indices_for_words(["photorealistic", "frog"]) == [2, 3, 8]
    comma = next(t for t in parsed.tokens if t.text == ",")
    assert comma.word_index is None  # punctuation cannot be excited


def test_repeated_words_take_successive_occurrences(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a cat and a cat")
    assert parsed.indices_for_words(["cat", "cat"]) == [2, 5]


def test_unknown_word_names_the_words_available(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a cat and a frog")
    with pytest.raises(InvalidRequest, match="'dog' is not in the prompt.*cat"):
        parsed.indices_for_words(["dog"])


def test_words_beyond_the_limit_have_no_tokens(tokenizer):
    prompt = " ".join(["cat"] * 80)
    parsed = tokenize_prompt(tokenizer, prompt)
    assert parsed.truncated and parsed.total_word_tokens == 80 and len(parsed.tokens) == 75
    assert parsed.words[74].token_indices == (75,) and parsed.words[75].token_indices == ()
    assert parsed.overflow_start == parsed.words[75].start
