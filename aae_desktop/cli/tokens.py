"""`aae-desktop tokens`: the prompt's tokens with their indices and the word each belongs to."""
from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    from aae_desktop.cli.addons import add_folder_options

    p = sub.add_parser("tokens", help="list a prompt's token indices",
                       description="Show index, token and word for each token of the prompt.")
    p.add_argument("--model", help="model (folder, checkpoint file or Hugging Face cache id) whose tokenizer to use "
                                   "(default: the bundled CLIP tokenizer)")
    p.add_argument("--prompt", required=True)
    # The same folder flags as render, so a render command line can be checked here as it is; a word equal
    # to an embedding's name shows all of its vectors.
    add_folder_options(p)
    p.set_defaults(handler=run_tokens)


def run_tokens(args: argparse.Namespace) -> int:
    from aae_desktop.cli.render import model_tokenizer
    from aae_desktop.engine.errors import InvalidRequest
    from aae_desktop.engine.tokens import load_tokenizer, tokenize_prompt

    if not args.prompt.strip():
        raise InvalidRequest("The prompt is empty.")
    tokenizer = model_tokenizer(args.model) if args.model else load_tokenizer()
    from aae_desktop.cli.addons import folders_from_args
    from aae_desktop.engine.addons.addon_refs import embedding_vocabulary
    from aae_desktop.engine.prompt_syntax import find_lora_tags

    # LoRA tags are left out and embedding words count every vector, as the engine will see them.
    parsed = tokenize_prompt(tokenizer, args.prompt, embedding_vocabulary(folders_from_args(args).embeddings))
    tags = find_lora_tags(args.prompt)
    if tags:
        print("LoRA tags (not tokens): " + ", ".join(f"{t.name} {t.weight_text or '1'}" for t in tags), file=sys.stderr)
    print(f"{'index':>5}  {'token':<20} word")
    for token in parsed.tokens:
        word = parsed.words[token.word_index].text if token.word_index is not None else ""
        print(f"{token.index:>5}  {token.text:<20} {word}")
    if parsed.truncated:
        print(f"(the prompt has {parsed.total_word_tokens} tokens; tokens after {len(parsed.tokens)} are ignored)")
    from aae_desktop.cli.bind_args import suggestion_line

    # What `render --bind auto` binds, as a --bind value to edit; on stderr, as the LoRA tags, so
    # stdout stays the table alone.
    suggestion = suggestion_line(parsed)
    if suggestion:
        print(suggestion, file=sys.stderr)
    return 0
