"""Prompt -> CLIP tokens -> words: which token indices belong to which word the artist sees."""
from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.prompt_syntax import strip_lora_tags

MAX_PROMPT_TOKENS = 75  # CLIP's 77 positions minus start and end tokens

# A "word" is what an artist would click: letters, digits and inner apostrophes/hyphens
# ("cat's", "sci-fi"). Punctuation tokens belong to no word and cannot be excited.
_WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True)
class Token:
    index: int  # position in the text encoder input (0 is the start token)
    id: int
    text: str  # BPE piece without the end-of-word marker
    start: int  # character span in the prompt
    end: int
    word_index: int | None


@dataclass(frozen=True)
class Word:
    index: int
    text: str
    start: int
    end: int
    token_indices: tuple[int, ...]  # empty when all its tokens fall beyond the 75-token limit


@dataclass(frozen=True)
class PromptTokens:
    prompt: str
    tokens: tuple[Token, ...]  # word-position tokens only, within the limit
    words: tuple[Word, ...]
    total_word_tokens: int  # before truncation
    truncated: bool
    overflow_start: int | None  # first character beyond the token limit, if any

    @property
    def eot_index(self) -> int:
        return len(self.tokens) + 1

    @property
    def last_word_index(self) -> int:
        return len(self.tokens)

    @property
    def cut_words(self) -> tuple[Word, ...]:
        """Words the text encoder never sees whole: they start at or after the first token past the limit."""
        if self.overflow_start is None:
            return ()
        return tuple(w for w in self.words if w.end > self.overflow_start)

    def cut_words_text(self, most: int = 12) -> str:
        names = [w.text for w in self.cut_words]
        return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")

    def words_for_indices(self, indices: Iterable[int]) -> list[Word]:
        wanted = set(indices)
        return [w for w in self.words if wanted.intersection(w.token_indices)]

    def indices_for_words(self, names: Iterable[str]) -> list[int]:
        """Token indices for words given by text (case-insensitive; the first unused match wins).

        Raises InvalidRequest naming the word that is not in the prompt.
        """
        indices: list[int] = []
        used: set[int] = set()
        for name in names:
            wanted = name.strip().lower()
            if not wanted:
                continue
            match = next(
                (w for w in self.words if w.text.lower() == wanted and w.index not in used and w.token_indices),
                None,
            )
            if match is None:
                if any(w.text.lower() == wanted and not w.token_indices for w in self.words):
                    raise InvalidRequest(
                        f"The word '{name.strip()}' is past CLIP's {MAX_PROMPT_TOKENS}-token limit: the prompt has "
                        f"{self.total_word_tokens} tokens, and these words are cut: {self.cut_words_text()}. "
                        "Shorten the prompt or move the word earlier."
                    )
                available = ", ".join(dict.fromkeys(w.text for w in self.words if w.token_indices)) or "none"
                raise InvalidRequest(f"The word '{name.strip()}' is not in the prompt (words: {available}).")
            used.add(match.index)
            indices.extend(match.token_indices)
        return indices


# The prompts tokenized last, per tokenizer: a run reads its prompt's words in several places (its
# validation, the progress readout, the PNG's text, the heat maps) and each gets the one PromptTokens
# the word list already made, instead of splitting the text again. (tokenizer, prompt, embeddings) ->
# PromptTokens; the tokenizer object is kept in the key, so a new tokenizer never meets old words.
_TOKENIZED: "OrderedDict[tuple, PromptTokens]" = OrderedDict()
_TOKENIZED_SIZE = 32
_TOKENIZED_LOCK = threading.Lock()  # the gallery saves (and reads words) on a background thread


def tokenize_prompt(tokenizer: Any, prompt: str, embeddings: Mapping[str, int] | None = None) -> PromptTokens:
    """Split a prompt the way the text encoder sees it and map each token to a clicked word.

    LoRA tags (`<lora:NAME:W>`) are left out, as the engine leaves them out. `embeddings` maps each
    loaded embedding's name to its number of vectors: a prompt word equal to a name (any case, as in
    A1111) is one word whose tokens are all of its vectors. No model is needed, so the window can
    show the chips the engine will use. Positions and spans refer to `prompt` as typed.
    """
    key = (_Identity(tokenizer), prompt, tuple(sorted((embeddings or {}).items())))
    with _TOKENIZED_LOCK:
        if key in _TOKENIZED:
            _TOKENIZED.move_to_end(key)
            return _TOKENIZED[key]
    parsed = _tokenize(tokenizer, prompt, embeddings)
    with _TOKENIZED_LOCK:
        _TOKENIZED[key] = parsed
        while len(_TOKENIZED) > _TOKENIZED_SIZE:
            _TOKENIZED.popitem(last=False)
    return parsed


class _Identity:
    """A tokenizer as a cache key: equal only to itself (tokenizers are not hashable by value)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


def _tokenize(tokenizer: Any, prompt: str, embeddings: Mapping[str, int] | None) -> PromptTokens:
    clean, kept = strip_lora_tags(prompt)
    pieces = split_embedding_words(clean, embeddings or {})
    tokens: list[Token] = []
    spans: list[tuple[int, int, str]] = []  # words, in the clean text
    total = 0
    for start, end, name in pieces:
        if name is not None:  # one word, one token per vector
            word_index = len(spans)
            spans.append((start, end, clean[start:end]))
            for v in range(embeddings[name]):  # type: ignore[index]
                total += 1
                tokens.append(Token(total, EMBEDDING_TOKEN_ID, name if v == 0 else f"{name}_{v}", start, end,
                                    word_index))
            continue
        segment = clean[start:end]
        first_word = len(spans)
        spans += [(start + m.start(), start + m.end(), m.group(0)) for m in _WORD_RE.finditer(segment)]
        encoded = tokenizer(segment, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        ids: list[int] = list(encoded["input_ids"])
        for tid, piece, (s, e) in zip(ids, tokenizer.convert_ids_to_tokens(ids), encoded["offset_mapping"]):
            total += 1
            text = piece[:-4] if piece.endswith("</w>") else piece
            tokens.append(Token(total, tid, text, start + s, start + e,
                                _word_of(spans, first_word, start + s, start + e)))
    overflow = None
    if total > MAX_PROMPT_TOKENS:
        overflow = _original(kept, tokens[MAX_PROMPT_TOKENS].start, len(prompt))
        tokens = tokens[:MAX_PROMPT_TOKENS]
    # Back to positions in the prompt as typed (the tags were taken out).
    tokens = [dataclasses.replace(t, start=_original(kept, t.start, len(prompt)), end=_original_end(kept, t.end))
              for t in tokens]
    words = tuple(
        Word(wi, text, _original(kept, ws, len(prompt)), _original_end(kept, we),
             tuple(t.index for t in tokens if t.word_index == wi))
        for wi, (ws, we, text) in enumerate(spans)
    )
    return PromptTokens(prompt, tuple(tokens), words, total, total > MAX_PROMPT_TOKENS, overflow)


# Embedding vectors have no id in the base vocabulary; the engine adds them when it loads the file.
EMBEDDING_TOKEN_ID = -1


def _word_of(spans: list[tuple[int, int, str]], first: int, start: int, end: int) -> int | None:
    for wi in range(first, len(spans)):
        ws, we, _ = spans[wi]
        if ws <= start and end <= we and end > start:
            return wi
    return None


def _original(kept: list[int], position: int, length: int) -> int:
    return kept[position] if position < len(kept) else length


def _original_end(kept: list[int], end: int) -> int:
    return kept[end - 1] + 1 if end > 0 else 0


def split_embedding_words(text: str, embeddings: Mapping[str, int]) -> list[tuple[int, int, str | None]]:
    """`text` cut into (start, end, name) pieces: name is the embedding a piece is, None for plain text.

    A whole word equal to an embedding's name, ignoring case (A1111 matches through the lower-cased
    tokenizer), is that embedding; letters, digits, "_" and "-" glued to it make it another word.
    """
    if not embeddings:
        return [(0, len(text), None)] if text else []
    by_lower = {name.lower(): name for name in embeddings}
    pattern = re.compile(
        r"(?<![\w\-])(" + "|".join(re.escape(n) for n in sorted(by_lower, key=len, reverse=True)) + r")(?![\w\-])",
        re.IGNORECASE)
    pieces: list[tuple[int, int, str | None]] = []
    last = 0
    for match in pattern.finditer(text):
        if match.start() > last:
            pieces.append((last, match.start(), None))
        pieces.append((match.start(), match.end(), by_lower[match.group(0).lower()]))
        last = match.end()
    if last < len(text):
        pieces.append((last, len(text), None))
    return pieces


def engine_prompt(prompt: str, embedding_tokens: Mapping[str, str]) -> str:
    """The text the text encoder is given: LoRA tags removed, each embedding word replaced by the
    token the engine loaded its vectors under (`embedding_tokens`: name -> token).

    The spaces a tag leaves at either end are dropped: CLIP's tokenizer ignores them anyway, and so
    the prompt with its tags taken out is exactly the words typed ("a cat <lora:x:1>" -> "a cat")."""
    clean, _ = strip_lora_tags(prompt)
    out = []
    for start, end, name in split_embedding_words(clean, embedding_tokens):
        out.append(clean[start:end] if name is None else embedding_tokens[name])
    return "".join(out).strip()


def tokenize_request(tokenizer: Any, request: Any, negative: bool = False) -> PromptTokens:
    """tokenize_prompt for a GenerationRequest's prompt (or negative prompt), with its embeddings."""
    vocabulary = {e.name: e.vectors for e in request.embeddings}
    return tokenize_prompt(tokenizer, request.negative_prompt if negative else request.prompt, vocabulary)


@lru_cache(maxsize=4)
def load_tokenizer(path: str | Path | None = None) -> Any:
    """The CLIP tokenizer from a folder (default: the one bundled in resources/)."""
    from transformers import CLIPTokenizer

    from aae_desktop.resources_path import tokenizer_dir

    return CLIPTokenizer.from_pretrained(str(path or tokenizer_dir()), local_files_only=True)


def tokenizer_for_window(tokenizer: Any) -> Any | None:
    """`tokenizer`, or None when it splits text into the same ids as the bundled one the window already
    has (every SD model's CLIP BPE does; SD 2.x only pads differently, which the word chips never use).

    Sending a tokenizer to the window's process costs more than the words are worth: unpickling its
    50,000-entry vocabulary is one C call that holds the window's Python lock for 100-180 ms, a
    visible stall at the first Generate.
    """
    if tokenizer is None:
        return None
    try:
        same = _word_split(tokenizer) == _word_split(load_tokenizer())
    except Exception:  # a tokenizer of another kind: send it, the window uses what the model has
        return tokenizer
    return None if same else tokenizer


def _word_split(tokenizer: Any) -> tuple[Any, ...]:
    """What decides the ids of a text without special tokens: vocabulary (added tokens included),
    merges, normalisation and pre-tokenisation. Padding, truncation and the post-processor do not."""
    import json

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    return (tokenizer.get_vocab(), spec.get("normalizer"), spec.get("pre_tokenizer"), spec.get("model"))


def parse_index_list(text: str) -> list[int]:
    """'2,5' -> [2, 5] with a clear message for anything else."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidRequest(f"Token indices should be whole numbers separated by commas (got '{text}').") from None
