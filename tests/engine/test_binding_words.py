"""The rule-based binding suggester (#22): modifier -> noun pairs of prompts in the styles of the
Attend-and-Excite and SynGen prompt sets, and the bound words as text and back."""
from __future__ import annotations

import pytest

from aae_desktop.engine.objectives.binding_words import (
    bind_settings,
    bind_text,
    groups_for_words,
    parse_bind_words,
    suggest_bindings,
)
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.tokens import load_tokenizer, tokenize_prompt

TABLE = [
    # Attend-and-Excite: animals, animal + coloured object, two coloured objects.
    ("a cat and a frog", []),
    ("a red cat and a blue frog", ["red>cat", "blue>frog"]),
    ("a cat and a brown bench", ["brown>bench"]),
    ("a dog and a pink balloon", ["pink>balloon"]),
    ("a purple backpack and a yellow bench", ["purple>backpack", "yellow>bench"]),
    ("a green glasses and a red clock", ["green>glasses", "red>clock"]),
    ("a bear with a yellow bow", ["yellow>bow"]),
    ("a monkey and a gray crown", ["gray>crown"]),
    ("a turtle with a black suitcase", ["black>suitcase"]),
    ("a blue bowl and a white car", ["blue>bowl", "white>car"]),
    # SynGen: several modifiers, materials, sizes, coordination, verbs and prepositions between phrases.
    ("a black and white dog", ["black+white>dog"]),
    ("a wooden chair and a glass vase", ["wooden>chair", "glass>vase"]),
    ("a small brown bear on a big green hill", ["small+brown>bear", "big+green>hill"]),
    ("a cat wearing a red hat", ["red>hat"]),
    ("a furry brown dog sitting next to a wooden chair", ["furry+brown>dog", "wooden>chair"]),
    ("a modern blue car and an old red truck", ["modern+blue>car", "old+red>truck"]),
    ("a pink sunflower and a yellow flamingo", ["pink>sunflower", "yellow>flamingo"]),
    ("a striped zebra next to a spotted giraffe", ["striped>zebra", "spotted>giraffe"]),
    ("a red apple in a blue bowl on a wooden table", ["red>apple", "blue>bowl", "wooden>table"]),
    ("a white cat sleeping on a black sofa", ["white>cat", "black>sofa"]),
    ("a metal spoon and a plastic fork", ["metal>spoon", "plastic>fork"]),
    ("a tall man holding a tiny umbrella", ["tall>man", "tiny>umbrella"]),
    ("an orange and a purple grape", ["purple>grape"]),
    ("a red and blue striped ball", ["red+blue+striped>ball"]),
    ("a big, fluffy white dog", ["big+fluffy+white>dog"]),
    ("red, blue and green balloons", ["red+blue+green>balloons"]),
    ("a stone building behind a leather sofa", ["stone>building", "leather>sofa"]),
    ("a coffee cup and a teddy bear", ["coffee>cup", "teddy>bear"]),
    ("a photo of a very large dog, highly detailed, 4k", ["large>dog"]),
    ("a green frog covered in yellow spots", ["green>frog", "yellow>spots"]),
    ("the cat is black and the dog is white", []),
    ("a red cat and a red dog", ["red>cat", "red>dog"]),
    ("a cat and a dog in a silver car", ["silver>car"]),
    ("a golden retriever in a snowy forest", ["golden>retriever", "snowy>forest"]),
]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.mark.parametrize("prompt, expected", TABLE)
def test_suggested_pairs(tokenizer, prompt, expected):
    assert [b.text for b in suggest_bindings(tokenizer, prompt)] == expected


def test_the_table_is_large_enough():
    assert len(TABLE) >= 30


def test_pairs_carry_the_words_token_indices(tokenizer):
    # a 1, photorealistic 2-3 (two tokens), frog 4, and 5, a 6, red 7, cat 8
    bindings = suggest_bindings(tokenizer, "a photorealistic frog and a red cat")
    assert [(b.modifier_tokens, b.noun_tokens) for b in bindings] == [(((2, 3),), (4,)), (((7,),), (8,))]
    settings = bind_settings(bindings, tokenize_prompt(tokenizer, "a photorealistic frog and a red cat"))
    assert settings.active and settings.prompt_length == 9 and settings.groups[0] == (((2, 3),), (4,))


def test_bind_text_round_trip(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a black and white dog wearing a red hat")
    settings = bind_settings(suggest_bindings(tokenizer, parsed.prompt), parsed)
    text = bind_text(settings, parsed)
    assert text == "black+white>dog, red>hat"
    assert groups_for_words(parsed, parse_bind_words(text)) == settings.groups


def test_repeated_words_are_the_occurrence_before_their_noun(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a red cat and a red dog and a blue cat")  # red 2, 6; cat 3, 11; dog 7
    assert groups_for_words(parsed, [(["red"], "dog"), (["red"], "cat"), (["blue"], "cat")]) == (
        (((6,),), (7,)), (((2,),), (3,)), (((10,),), (11,)))
    # Two pairs of one noun are one group.
    assert groups_for_words(parsed, [(["red"], "dog"), (["a"], "dog")]) == ((((6,), (5,)), (7,)),)


@pytest.mark.parametrize("pairs, message", [
    ([(["green"], "cat")], "'green' is not in the prompt"),
    ([(["cat"], "cat")], "'cat' cannot be bound to itself"),
    ([(["red"], "cat"), (["red"], "frog")], "'red' is bound to two nouns ('cat' and 'frog')"),
])
def test_refusals(tokenizer, pairs, message):
    parsed = tokenize_prompt(tokenizer, "a red cat and a frog")
    with pytest.raises(InvalidRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        groups_for_words(parsed, pairs)


def test_bind_text_is_none_for_a_part_of_a_word(tokenizer):
    parsed = tokenize_prompt(tokenizer, "a photorealistic frog")
    settings = bind_settings([], parsed)
    assert bind_text(settings, parsed) is None
    from aae_desktop.engine.objectives.bind_settings import BindSettings

    assert bind_text(BindSettings(True, ((((2,),), (4,)),), prompt_length=5), parsed) is None


def test_malformed_bind_words_are_one_sentence():
    with pytest.raises(InvalidRequest, match="MODIFIER>NOUN"):
        parse_bind_words("red cat")
    assert parse_bind_words(" black + white : dog ,red:hat", pair=":") == [(["black", "white"], "dog"),
                                                                           (["red"], "hat")]
