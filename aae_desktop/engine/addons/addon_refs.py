"""From a prompt to the exact files it means, and back: the window and the CLI resolve `<lora:...>` tags
and embedding words against the artist's folders before a run; a restored image is checked against
them, so a missing file is named (with its hash) instead of an image rendered without it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from aae_desktop.engine.addons import addon_files
from aae_desktop.engine.addons.addon_kinds import EMBEDDING, LORA, AddonKind
from aae_desktop.engine.errors import AddonError
from aae_desktop.engine.prompt_syntax import find_lora_tags, set_tag_weight
from aae_desktop.engine.request import EmbeddingRef, GenerationRequest, LoraRef
from aae_desktop.engine.tokens import split_embedding_words, strip_lora_tags


@dataclass(frozen=True)
class AddonFolders:
    loras: str | Path | None = None
    embeddings: str | Path | None = None


_vectors_lock = threading.Lock()
_vectors: dict[tuple[str, int, int], int | None] = {}


def embedding_vocabulary(folder: str | Path | None) -> dict[str, int]:
    """Name -> number of vectors of every usable embedding in `folder` (what tokenize_prompt takes).

    A damaged file is left out here (the embeddings list shows why); results are cached per file.
    """
    from aae_desktop.engine.addons.embedding_files import inspect_embedding

    vocabulary: dict[str, int] = {}
    for file in addon_files.find_embeddings(folder):
        try:
            stat = file.path.stat()
        except OSError:
            continue
        key = (str(file.path), stat.st_size, stat.st_mtime_ns)
        with _vectors_lock:
            known = key in _vectors
            vectors = _vectors.get(key)
        if not known:
            try:
                vectors = inspect_embedding(file.path).vectors
            except AddonError:
                vectors = None
            with _vectors_lock:
                _vectors[key] = vectors
        if vectors:
            vocabulary[file.name] = vectors
    return vocabulary


def embedding_vocabulary_of(path: Path) -> int | None:
    from aae_desktop.engine.addons.embedding_files import inspect_embedding

    try:
        return inspect_embedding(path).vectors
    except AddonError:
        return None


def check_families(request: GenerationRequest, family: str | None) -> None:
    """AddonError naming both families for a LoRA or embedding made for another one than `family`
    (what a model's files say it is): the CLI asks before the slow model load. The engine checks
    again, with the loaded model's own widths."""
    from aae_desktop.engine.addons.embedding_files import inspect_embedding
    from aae_desktop.engine.addons.lora_files import family_group_label, inspect_lora

    if not family:
        return
    ours = family_group_label(family)
    for ref in request.loras:
        info = inspect_lora(ref.path)
        if info.family and family_group_label(info.family) != ours:
            raise AddonError(f"The LoRA '{ref.name}' is for {family_group_label(info.family)} models, but the model "
                             f"is {ours}: choose an {ours} LoRA or switch models.", "loras")
    for emb in request.embeddings:
        info_e = inspect_embedding(emb.path)
        if info_e.family and family_group_label(info_e.family) != ours:
            raise AddonError(f"The embedding '{emb.name}' is for {info_e.family_text} models, but the model is "
                             f"{ours}: take it out of the prompt or switch models.", "embeddings")


def resolve_addons(request: GenerationRequest, folders: AddonFolders,
                   extra_loras: Iterable[tuple[str, float]] = ()) -> GenerationRequest:
    """`request` with the prompt's LoRA tags (plus `extra_loras`, added as tags) and its embedding
    words resolved to files in `folders`, with their hashes.

    AddonError names a tag whose file is not in the LoRA folder or cannot be read as a LoRA.
    """
    from aae_desktop.engine.addons.lora_files import inspect_lora

    prompt = request.prompt
    for name, weight in extra_loras:
        prompt = set_tag_weight(prompt, name, weight)
    request = request.replace(prompt=prompt)
    lora_files = addon_files.find_loras(folders.loras)
    loras = []
    for tag in find_lora_tags(request.prompt) + find_lora_tags(request.negative_prompt):
        file = addon_files.by_name(lora_files, tag.name)
        if file is None:
            raise AddonError(_not_found(LORA.name, tag.name, folders.loras, [f.name for f in lora_files]), LORA.key)
        if any(ref.name.lower() == file.name.lower() for ref in loras):
            continue  # request.validate names the duplicate tag
        inspect_lora(file.path)  # a damaged file is named now, not after the run was sent (header only)
        loras.append(LoraRef(file.name, tag.weight, addon_files.lora_hash(file.path), str(file.path), tag.unet_weight))
    vocabulary = embedding_vocabulary(folders.embeddings)
    used: dict[str, None] = {}
    for text in (request.prompt, request.negative_prompt):
        clean, _ = strip_lora_tags(text)
        for _start, _end, name in split_embedding_words(clean, vocabulary):
            if name is not None:
                used[name] = None
    files = {f.name: f for f in addon_files.find_embeddings(folders.embeddings)}
    _refuse_unusable_words(request, {name: file for name, file in files.items() if name not in vocabulary})
    embeddings = tuple(EmbeddingRef(name, vocabulary[name], addon_files.file_hash(files[name].path),
                                    str(files[name].path)) for name in used)
    return request.replace(loras=tuple(loras), embeddings=embeddings)


def _refuse_unusable_words(request: GenerationRequest, unusable: dict[str, addon_files.AddonFile]) -> None:
    """A word equal to an embedding file's name means that embedding: if the file cannot be used, say
    why instead of rendering the word as plain text (an image made without what was asked for)."""
    from aae_desktop.engine.addons.embedding_files import inspect_embedding

    if not unusable:
        return
    for text in (request.prompt, request.negative_prompt):
        clean, _ = strip_lora_tags(text)
        for start, end, name in split_embedding_words(clean, {name: 1 for name in unusable}):
            if name is None:
                continue
            try:
                inspect_embedding(unusable[name].path)
            except AddonError as exc:
                raise AddonError(f"The prompt word '{clean[start:end]}' names an embedding that cannot be used: "
                                 f"{exc}", "embeddings") from exc


def _not_found(kind: str, name: str, folder: str | Path | None, names: list[str]) -> str:
    where = f" ({folder})" if folder else ""
    close = close_names(name, names)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"The {kind} '{name}' is not in the {kind} folder{where}.{hint}"


def close_names(name: str, names: list[str], most: int = 3) -> list[str]:
    """Files `name` probably meant: one name inside the other ('ink' for 'inks'), or a near spelling
    ('watercolor' for 'watercolour', 'pixel-art' for 'pixelart'), closest first."""
    import difflib

    wanted = name.lower()
    by_lower = {n.lower(): n for n in names}
    contained = [n for n in names if wanted in n.lower() or n.lower() in wanted]
    # 0.75: one or two letters off in a word of eight or more; "lighthouse" and "watercolor" stay apart.
    similar = [by_lower[n] for n in difflib.get_close_matches(wanted, list(by_lower), n=most, cutoff=0.75)]
    return list(dict.fromkeys(similar + contained))[:most]


@dataclass(frozen=True)
class MissingAddon:
    kind: str  # AddonKind.name: "LoRA" or "embedding"
    name: str
    sha256: str  # as saved (A1111 PNGs hold only the first 12 hex digits)
    other_file: bool  # a file of that name exists here, but with another hash

    def describe(self) -> str:
        hash_text = f" (hash {addon_files.short_hash(self.sha256)})" if self.sha256 else ""
        if self.other_file:
            return f"{self.kind} {self.name}{hash_text}: the file of that name here is a different one"
        return f"{self.kind} {self.name}{hash_text}"


def localize_addons(request: GenerationRequest, folders: AddonFolders) -> tuple[GenerationRequest, list[MissingAddon]]:
    """A saved request pointed at this computer's files (found by name, checked by hash), and what is missing."""
    missing: list[MissingAddon] = []
    lora_files = addon_files.find_kind(LORA, folders.loras)
    loras = []
    for ref in request.loras:
        file = _local_file(LORA, lora_files, ref, missing)
        loras.append(ref if file is None else
                     replace(ref, name=file.name, sha256=addon_files.lora_hash(file.path), path=str(file.path)))
    embedding_files = addon_files.find_kind(EMBEDDING, folders.embeddings)
    embeddings = []
    for emb in request.embeddings:
        file = _local_file(EMBEDDING, embedding_files, emb, missing)
        if file is None:
            embeddings.append(emb)
            continue
        vectors = embedding_vocabulary_of(file.path) or emb.vectors  # A1111 PNGs do not say how many
        embeddings.append(EmbeddingRef(file.name, vectors, addon_files.file_hash(file.path), str(file.path)))
    return request.replace(loras=tuple(loras), embeddings=tuple(embeddings)), missing


def _local_file(kind: AddonKind, files: list[addon_files.AddonFile], ref: LoraRef | EmbeddingRef,
                missing: list[MissingAddon]) -> addon_files.AddonFile | None:
    """The file here that `ref` names with the same hash; None (and `missing` told) when there is none."""
    file = addon_files.by_name(files, ref.name)
    if file is None or (ref.sha256 and not _same_hash(addon_files.kind_hash(kind, file.path), ref.sha256)):
        missing.append(MissingAddon(kind.name, ref.name, ref.sha256, file is not None))
        return None
    return file


def _same_hash(full: str, saved: str) -> bool:
    return bool(saved) and full.lower().startswith(saved.lower())


def missing_sentence(missing: list[MissingAddon]) -> str:
    """One sentence for the window's banner and the CLI."""
    names = "; ".join(m.describe() for m in missing)
    return (f"This image was made with files that are not on this computer: {names}. Put them in the LoRA / "
            "embeddings folders to render it the same way.")
