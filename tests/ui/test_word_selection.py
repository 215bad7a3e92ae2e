"""The chosen words stay attached to their words while the prompt is edited."""
from __future__ import annotations

import pytest

from aae_desktop.engine.tokens import tokenize_prompt
from aae_desktop.ui.prompt.word_selection import WordSelection, find_edit, remap_spans


def _select(tokenizer, prompt, *words):
    parsed = tokenize_prompt(tokenizer, prompt)
    selection = WordSelection()
    selection.reset(parsed)
    for w in parsed.words:
        if w.text in words:
            selection.set_word(w, True)
    return selection


def _chosen(selection, parsed):
    return [(w.text, w.start) for w in selection.selected_words(parsed)]


def test_find_edit_uses_valid_hint_and_rejects_wrong_one():
    assert find_edit("cat cat", "cat", (0, 4, 0)) == (0, 4, 0)
    # Without (or with an inconsistent) hint the prefix/suffix diff is used.
    assert find_edit("cat cat", "cat") == (3, 4, 0)
    assert find_edit("cat cat", "cat", (1, 1, 1)) == (3, 4, 0)


def test_remap_spans_shifts_trims_and_drops():
    spans = [(0, 3), (4, 7), (8, 12)]
    assert remap_spans(spans, (4, 0, 6)) == [(0, 3), (10, 13), (14, 18)]  # insert before the 2nd span
    assert remap_spans(spans, (4, 4, 0)) == [(0, 3), (4, 8)]  # delete the 2nd span and its space
    assert remap_spans(spans, (11, 1, 0)) == [(0, 3), (4, 7), (8, 11)]  # backspace trims the 3rd


def test_inserting_a_word_keeps_selection_at_new_index(tokenizer):
    selection = _select(tokenizer, "a cat and a frog", "cat")
    before = tokenize_prompt(tokenizer, "a cat and a frog")
    assert selection.token_indices(before) == (2,)
    after = tokenize_prompt(tokenizer, "a black cat and a frog")
    selection.follow_edit(after, (2, 0, 6))
    assert _chosen(selection, after) == [("cat", 8)]
    assert selection.token_indices(after) == (3,)


def test_typing_letter_by_letter_in_front_keeps_word(tokenizer):
    prompt = "a cat"
    selection = _select(tokenizer, prompt, "cat")
    for n, letter in enumerate("black "):
        prompt = prompt[: 2 + n] + letter + prompt[2 + n:]
        selection.follow_edit(tokenize_prompt(tokenizer, prompt), (2 + n, 0, 1))
    parsed = tokenize_prompt(tokenizer, prompt)
    assert prompt == "a black cat"
    assert _chosen(selection, parsed) == [("cat", 8)]


def test_deleting_selected_word_drops_it(tokenizer):
    selection = _select(tokenizer, "a cat and a frog", "cat", "frog")
    after = tokenize_prompt(tokenizer, "a and a frog")
    selection.follow_edit(after, (2, 4, 0))
    assert _chosen(selection, after) == [("frog", 8)]


def test_duplicate_words_follow_the_right_one(tokenizer):
    parsed = tokenize_prompt(tokenizer, "cat cat")
    selection = WordSelection()
    selection.reset(parsed, [2])  # the second "cat"
    after = tokenize_prompt(tokenizer, "cat")
    selection.follow_edit(after, (0, 4, 0))  # the first "cat " was deleted
    assert _chosen(selection, after) == [("cat", 0)]


@pytest.mark.parametrize("new_prompt, expected", [("a cats", [("cats", 2)]), ("a dog", [])])
def test_editing_the_word_itself(tokenizer, new_prompt, expected):
    selection = _select(tokenizer, "a cat", "cat")
    after = tokenize_prompt(tokenizer, new_prompt)
    selection.follow_edit(after)
    assert _chosen(selection, after) == expected


def test_multi_token_word_excites_all_its_tokens(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a photorealistic axolotl")
    word = next(w for w in parsed.words if w.text == "axolotl")
    assert len(word.token_indices) > 1  # the premise: CLIP splits this word
    selection = WordSelection()
    selection.reset(parsed)
    selection.set_word(word, True)
    assert selection.token_indices(parsed) == word.token_indices
