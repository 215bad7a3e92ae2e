"""Which words of a prompt describe which noun (SynGen binding, #22), suggested without a parser model.

A small rule-based reader of English noun phrases: the words directly before a noun, back to the
previous noun, comma, conjunction, article, preposition or verb, are its modifiers ("a small brown
bear" -> small, brown -> bear). Coordinated modifiers bind together ("a black and white dog" ->
black, white -> dog). The word lists are plain English facts; an unknown word before a noun still
binds, so the lists mostly say where a phrase ends and which words cannot be a noun.

Also here: the bound words as text ("black+white>dog, red>hat", the PNG's `AAE bind`) and back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from aae_desktop.engine.objectives.bind_settings import DEFAULT_BIND_SCALE, BindSettings, Group
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.tokens import PromptTokens, Word, tokenize_prompt

_COLOURS = set("""
red green blue yellow orange purple violet pink brown black white gray grey silver gold golden beige cyan
magenta turquoise teal navy maroon crimson scarlet indigo lavender lilac tan khaki olive lime amber ivory
cream bronze copper coral peach mint emerald ruby sapphire azure charcoal burgundy rainbow colorful
colourful multicolored multicoloured pastel neon dark light pale bright striped spotted checkered plaid
""".split())
_MATERIALS = set("""
wooden wood glass metal metallic steel iron plastic stone marble brick ceramic porcelain clay paper
cardboard leather fur furry wool woolen woollen cotton silk velvet denim rubber concrete crystal golden
ice icy snowy sand sandy bamboo straw wicker knitted plush chocolate
""".split())
_SIZES = set("""
small big large huge tiny giant little tall short long wide narrow thick thin fat round square
rectangular triangular oval flat enormous massive miniature gigantic high low deep
""".split())
_ADJECTIVES = set("""
old young new ancient modern vintage antique fluffy soft hard smooth rough shiny glossy matte dull
wet dry hot cold warm cool happy sad angry cute ugly beautiful pretty handsome elegant fancy plain
broken clean dirty empty full open closed sleeping sleepy wild tame fresh rotten ripe fuzzy hairy
bald curly straight messy neat rusty dusty shabby cozy spooky scary creepy funny silly lovely lonely
friendly fierce gentle calm quiet loud busy lazy brave strong weak heavy fast slow wooly
realistic photorealistic detailed cartoon futuristic magical mysterious medieval gothic tropical
transparent translucent glowing sparkling shimmering floating flying
""".split())
# Words that are also nouns: they may end a phrase as its noun ("a glass and a cup").
_NOUNS_TOO = set("""
wood glass metal steel iron plastic stone marble brick paper cardboard leather fur wool cotton silk
velvet denim rubber concrete crystal ice sand bamboo straw chocolate gold silver bronze copper orange
cream lime coral mint olive amber ivory ruby emerald sapphire charcoal rainbow cartoon square
""".split())
MODIFIER_WORDS = _COLOURS | _MATERIALS | _SIZES | _ADJECTIVES
# Words that describe but never name a thing: a phrase ending in one has no noun ("the cat is black").
PURE_ADJECTIVES = MODIFIER_WORDS - _NOUNS_TOO

CONJUNCTIONS = {"and", "or", "nor", "but", "&", "plus"}
_STOP_WORDS = set("""
a an the this that these those my your his her its our their some any each every no another many
several few all both such what which who whom whose where when there here it they them he she him we
us i you me one two three four five six seven eight nine ten eleven twelve dozen hundred thousand
of on in at with without by for from to into onto under over above below beside besides behind near
next between among amongst through across against along around inside outside beneath underneath
upon within toward towards up down off out about like as than via atop amid while during before
after beyond past is are was were be being been am has have had do does did can could will would
shall should may might must not sits sit stands stand lies lie holds hold wears wear eats eat looks
look plays play runs run jumps jump flies fly rides ride walks walk swims swim stares stare made
""".split())
# Adverbs of degree are skipped: "a very large dog" binds large -> dog.
_SKIPPED = {"very", "extremely", "really", "quite", "rather", "super", "so", "too", "slightly", "somewhat"}
# -ing / -ed nouns, which are not verbs ending a phrase ("a stone building").
_NOT_VERBS = set("""
building painting drawing ceiling clothing earring ring king wing string spring evening morning
wedding pudding dumpling sibling duckling seedling stocking frosting icing lighting swing thing
sling sapling railing awning bedding stuffing filling topping sailing steed speed
""".split())
# Text between two words that ends a phrase (parentheses and brackets are A1111 emphasis: no).
_BREAK_RE = re.compile(r"[,;.:!?|\n]")
_SUFFIX_RE = re.compile(r"(?:'s|’s|s'|s’)$")


@dataclass(frozen=True)
class WordBinding:
    """Modifiers of one noun, as the prompt's words and as their token indices."""

    modifiers: tuple[str, ...]
    noun: str
    modifier_tokens: tuple[tuple[int, ...], ...]
    noun_tokens: tuple[int, ...]

    @property
    def text(self) -> str:
        """'black+white>dog'."""
        return "+".join(self.modifiers) + ">" + self.noun


def suggest_bindings(tokenizer: Any, prompt: str, embeddings: Mapping[str, int] | None = None) -> list[WordBinding]:
    """The modifier -> noun pairs the rules find in `prompt`, in the prompt's order.

    `embeddings` (name -> vectors) counts embedding words as the engine does, so indices match."""
    return suggest_from_words(tokenize_prompt(tokenizer, prompt, embeddings))


def suggest_from_words(parsed: PromptTokens) -> list[WordBinding]:
    words = parsed.words
    found: list[WordBinding] = []
    phrase: list[Word] = []

    def close() -> None:
        if len(phrase) >= 2 and _can_be_noun(phrase[-1]):
            *modifiers, noun = phrase
            found.append(WordBinding(tuple(w.text for w in modifiers), noun.text,
                                     tuple(w.token_indices for w in modifiers), noun.token_indices))
        phrase.clear()

    def gap_breaks(i: int) -> bool:  # the text between words i-1 and i
        return i > 0 and bool(_BREAK_RE.search(parsed.prompt[words[i - 1].end:words[i].start]))

    for i, word in enumerate(words):
        low = word.text.lower()
        if gap_breaks(i) and not (phrase and _coordinates(words, i - 1, gap_breaks, comma=True)):
            close()
        if not word.token_indices:  # past the 75-token limit
            close()
            continue
        if low in CONJUNCTIONS:
            if not (phrase and _coordinates(words, i - 1, gap_breaks, comma=False)):
                close()
            continue
        if low in _SKIPPED or (low.endswith("ly") and low[:-2] in MODIFIER_WORDS):
            continue
        if low in _STOP_WORDS or low[0].isdigit() or _SUFFIX_RE.search(low) or low.endswith("n't"):
            close()
            continue
        if _is_participle(low) and phrase and _can_be_noun(phrase[-1]):
            close()  # "a cat wearing a red hat": the verb ends the cat's phrase and belongs to none
            continue
        phrase.append(word)
    close()
    return found


def _can_be_noun(word: Word) -> bool:
    return word.text.lower() not in PURE_ADJECTIVES


def _is_participle(low: str) -> bool:
    # "sleeping" describes before a noun but is a verb after one ("a white cat sleeping"): only
    # colours, materials and -ing nouns are never verbs.
    if low in _COLOURS or low in _MATERIALS or low in _NOT_VERBS:
        return False
    return (low.endswith("ing") and len(low) > 5) or (low.endswith("ed") and len(low) > 4)


def _is_content(low: str) -> bool:
    return not (low in _STOP_WORDS or low in CONJUNCTIONS or low[:1].isdigit() or bool(_SUFFIX_RE.search(low)))


def _coordinates(words: Sequence[Word], before: int, gap_breaks: Any, comma: bool) -> bool:
    """Whether words[before] and the word after the conjunction/comma are modifiers of one noun.

    "black and white dog": the word before is a describing word and the phrase goes on to a noun.
    A comma only joins a word that cannot be a noun itself ("a big, fluffy dog"; not "a cat, dog").
    """
    prev = words[before].text.lower()
    if prev not in (PURE_ADJECTIVES if comma else MODIFIER_WORDS):
        return False
    after = before + (1 if comma else 2)  # the word after the comma / the conjunction
    if after >= len(words) or (not comma and gap_breaks(after)) or not _is_content(words[after].text.lower()):
        return False
    nxt = words[after].text.lower()
    if nxt in PURE_ADJECTIVES:
        return True
    return after + 1 < len(words) and not gap_breaks(after + 1) and _is_content(words[after + 1].text.lower())


# -- bindings as settings and as text ------------------------------------------------------------

def bind_settings(bindings: Iterable[WordBinding], parsed: PromptTokens, scale: float = DEFAULT_BIND_SCALE,
                  steps: int | None = None) -> BindSettings:
    """The engine's settings for these bindings, on the prompt they were found in."""
    groups = tuple((b.modifier_tokens, b.noun_tokens) for b in bindings)
    return BindSettings(enabled=bool(groups), groups=groups, scale=scale, prompt_length=parsed.eot_index,
                        steps=steps)


def bind_text(settings: BindSettings, parsed: PromptTokens) -> str | None:
    """'red>cat, black+white>dog' for the groups; None when a bound token is not one whole word of the
    prompt (the token indices in the aae chunk still say it exactly)."""
    by_tokens = {w.token_indices: w.text for w in parsed.words if w.token_indices}
    parts = []
    for modifiers, noun in settings.groups:
        names = [by_tokens.get(tuple(word)) for word in (*modifiers, noun)]
        if None in names:
            return None
        parts.append("+".join(names[:-1]) + ">" + names[-1])  # type: ignore[arg-type]
    return ", ".join(parts) or None


def parse_bind_words(text: str, pair: str = ">") -> list[tuple[list[str], str]]:
    """'red>cat, black+white>dog' -> [(['red'], 'cat'), (['black', 'white'], 'dog')] (pair ':' for the CLI)."""
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        left, sep, noun = part.partition(pair)
        modifiers = [m.strip() for m in left.split("+")]
        if not sep or not noun.strip() or pair in noun or not all(modifiers):
            raise InvalidRequest(f"'{part.strip()}' should look like MODIFIER{pair}NOUN, e.g. red{pair}cat or "
                                 f"black+white{pair}dog.")
        out.append((modifiers, noun.strip()))
    return out


def groups_for_words(parsed: PromptTokens, pairs: Sequence[tuple[Sequence[str], str]]) -> tuple[Group, ...]:
    """Token groups for words named by text (any case). A word the prompt holds twice is the occurrence
    nearest before its noun ("a red cat and a red dog": red>dog is the second red), and of a noun's
    occurrences the one its modifiers stand before. Groups of one noun become one group.

    Raises InvalidRequest for a word not in the prompt, a word bound to itself or to two nouns."""
    taken: dict[int, int] = {}  # modifier word index -> noun word index
    merged: dict[int, list[int]] = {}
    for modifiers, noun in pairs:
        nouns = _occurrences(parsed, noun)
        mods = [_occurrences(parsed, m) for m in modifiers]
        best = min(nouns, key=lambda n: (sum(_placement(n, occ, taken)[0] for occ in mods), n))
        chosen = [_placement(best, occ, taken)[1] for occ in mods]
        for name, index in zip(modifiers, chosen):
            if index == best:
                raise InvalidRequest(f"'{name}' cannot be bound to itself.")
            if taken.get(index, best) != best:
                raise InvalidRequest(f"'{name}' is bound to two nouns ('{parsed.words[taken[index]].text}' and "
                                     f"'{parsed.words[best].text}').")
            taken[index] = best
            if index not in merged.setdefault(best, []):
                merged[best].append(index)
    return tuple((tuple(parsed.words[m].token_indices for m in mods), parsed.words[n].token_indices)
                 for n, mods in merged.items())


def _occurrences(parsed: PromptTokens, name: str) -> list[int]:
    wanted = name.strip().lower()
    found = [w.index for w in parsed.words if w.text.lower() == wanted and w.token_indices]
    if not found:
        parsed.indices_for_words([name])  # raises the engine's sentence (not in the prompt / past the limit)
    return found


def _placement(noun: int, occurrences: list[int], taken: dict[int, int]) -> tuple[int, int]:
    """(cost, word index) of the occurrence a modifier of `noun` is: free and before the noun first."""
    def cost(index: int) -> int:
        owner = taken.get(index)
        busy = 0 if owner is None or owner == noun else 1000
        side = noun - index if index < noun else 100 + index - noun
        return busy + side

    best = min(occurrences, key=lambda i: (cost(i), i))
    return cost(best), best


def could_be_noun(text: str) -> bool:
    """Whether a word can be what an attribute describes (the window offers such words as nouns)."""
    low = text.lower()
    return _is_content(low) and low not in CONJUNCTIONS and low not in PURE_ADJECTIVES
