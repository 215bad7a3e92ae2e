"""Bound pairs (modifier -> noun) stay on their words while the prompt is edited, as chosen words do."""
from __future__ import annotations

from aae_desktop.engine.tokens import tokenize_prompt
from aae_desktop.ui.prompt.word_bindings import WordBindings


def _word(parsed, text, nth=0):
    return [w for w in parsed.words if w.text == text][nth]


def _pairs(bindings, parsed):
    return [(m.text, n.text) for m, n in bindings.pairs(parsed)]


def _bound(tokenizer, prompt, *pairs):
    parsed = tokenize_prompt(tokenizer, prompt)
    bindings = WordBindings()
    bindings.suggest(parsed, [(_word(parsed, m), _word(parsed, n)) for m, n in pairs])
    return bindings, parsed


def test_groups_are_token_indices_per_noun_in_prompt_order(tokenizer):
    bindings, parsed = _bound(tokenizer, "a black and white dog and a red hat", ("black", "dog"), ("white", "dog"),
                              ("red", "hat"))
    # a 1, black 2, and 3, white 4, dog 5, and 6, a 7, red 8, hat 9; end of text 10
    assert bindings.groups(parsed) == ((((2,), (4,)), (5,)), (((8,),), (9,)))
    settings = bindings.settings(parsed, True, 20.0, None)
    assert settings.prompt_length == 10 and settings.active


def test_links_follow_typing_and_go_with_a_deleted_word(tokenizer):
    bindings, parsed = _bound(tokenizer, "a red cat and a blue frog", ("red", "cat"), ("blue", "frog"))
    edited = tokenize_prompt(tokenizer, "a fluffy red cat and a blue frog")
    bindings.follow_edit(edited, (2, 0, 7))  # "fluffy " typed before "red"
    assert _pairs(bindings, edited) == [("red", "cat"), ("blue", "frog")]
    gone = tokenize_prompt(tokenizer, "a fluffy red cat and a frog")
    bindings.follow_edit(gone, None)  # "blue " deleted: its link goes with it
    assert _pairs(bindings, gone) == [("red", "cat")]


def test_the_artist_links_unlinks_and_a_word_describes_one_noun(tokenizer):
    bindings, parsed = _bound(tokenizer, "a red cat and a blue frog", ("red", "cat"))
    assert bindings.automatic
    bindings.link(_word(parsed, "red"), _word(parsed, "frog"))  # red now describes the frog, not the cat
    assert _pairs(bindings, parsed) == [("red", "frog")] and not bindings.automatic
    bindings.toggle(_word(parsed, "blue"), _word(parsed, "frog"))
    assert bindings.modifiers_of(parsed, _word(parsed, "frog")) == [_word(parsed, "red"), _word(parsed, "blue")]
    bindings.toggle(_word(parsed, "blue"), _word(parsed, "frog"))  # the same click again unbinds
    assert _pairs(bindings, parsed) == [("red", "frog")]
    bindings.unlink(_word(parsed, "frog"))  # unbinding the noun frees its modifiers
    assert _pairs(bindings, parsed) == []
    bindings.link(_word(parsed, "cat"), _word(parsed, "cat"))  # a word never describes itself
    assert _pairs(bindings, parsed) == []


def test_restored_groups_come_back_as_the_artists_links(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a black and white dog and a red hat")
    bindings = WordBindings()
    bindings.reset(parsed, ((((2,), (4,)), (5,)), (((8,),), (9,))))
    assert _pairs(bindings, parsed) == [("black", "dog"), ("white", "dog"), ("red", "hat")]
    assert not bindings.automatic
