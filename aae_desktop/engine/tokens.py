"""Prompt -> CLIP tokens -> words: which token indices belong to which word the artist sees."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import MAX_PROMPT_TOKENS

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


def tokenize_prompt(tokenizer: Any, prompt: str) -> PromptTokens:
    """Split a prompt the way the text encoder sees it and map each token to a clicked word."""
    encoded = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    ids: list[int] = list(encoded["input_ids"])
    offsets: list[tuple[int, int]] = [tuple(o) for o in encoded["offset_mapping"]]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    spans = [(m.start(), m.end(), m.group(0)) for m in _WORD_RE.finditer(prompt)]

    def word_of(start: int, end: int) -> int | None:
        for wi, (ws, we, _) in enumerate(spans):
            if ws <= start and end <= we and end > start:
                return wi
        return None

    tokens = []
    for pos, (tid, piece, (start, end)) in enumerate(zip(ids, pieces, offsets)):
        if pos >= MAX_PROMPT_TOKENS:
            break
        text = piece[:-4] if piece.endswith("</w>") else piece
        tokens.append(Token(pos + 1, tid, text, start, end, word_of(start, end)))
    words = []
    for wi, (ws, we, text) in enumerate(spans):
        words.append(Word(wi, text, ws, we, tuple(t.index for t in tokens if t.word_index == wi)))
    truncated = len(ids) > MAX_PROMPT_TOKENS
    overflow = offsets[MAX_PROMPT_TOKENS][0] if truncated else None
    return PromptTokens(prompt, tuple(tokens), tuple(words), len(ids), truncated, overflow)


@lru_cache(maxsize=4)
def load_tokenizer(path: str | Path | None = None) -> Any:
    """The CLIP tokenizer from a folder (default: the one bundled in resources/)."""
    from transformers import CLIPTokenizer

    from aae_desktop.resources_path import tokenizer_dir

    return CLIPTokenizer.from_pretrained(str(path or tokenizer_dir()), local_files_only=True)


def parse_index_list(text: str) -> list[int]:
    """'2,5' -> [2, 5] with a clear message for anything else."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidRequest(f"Token indices should be whole numbers separated by commas (got '{text}').") from None
