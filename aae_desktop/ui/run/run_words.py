"""Which word each token index of a run belongs to, read from that run's own request.

Every run (Generate, A/B, a seed sweep, a restored image run again) names its words from its own
prompt, never from whatever the window's prompt or last Generate said.
"""
from __future__ import annotations

from typing import Any

from aae_desktop.engine.request import GenerationRequest
from aae_desktop.engine.tokens import tokenize_request


class RunWords:
    """token index -> word text, per run id; computed once per run (the prompt is tokenized once)."""

    def __init__(self) -> None:
        self._by_run: dict[int, dict[int, str]] = {}

    def of(self, run_id: int | None, request: GenerationRequest | None, tokenizer: Any) -> dict[int, str]:
        if run_id is not None and run_id in self._by_run:
            return self._by_run[run_id]
        words = words_by_token(tokenizer, request)
        if run_id is not None and words:
            self._by_run = {run_id: words}  # only the run in progress is ever asked again
        return words


def words_by_token(tokenizer: Any, request: GenerationRequest | None) -> dict[int, str]:
    """{token index: word} for every word of the request's prompt; {} without a tokenizer."""
    if tokenizer is None or request is None:
        return {}
    parsed = tokenize_request(tokenizer, request)
    return {index: word.text for word in parsed.words for index in word.token_indices}
