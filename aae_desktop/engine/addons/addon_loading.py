"""Put exactly a request's LoRAs (at their weights) and embeddings on a loaded pipeline, through
diffusers' own loaders, without reloading the base model and without leaking the previous run's.

Every file is checked before the pipeline is touched (found, same hash as when the request was made,
made for this model's family, readable): a bad one raises AddonError and the model stays as it was.
LoRAs are PEFT adapters (`load_lora_weights`, `set_adapters` with a weight per component, so A1111's
separate text-encoder and UNet weights need no reload either); a LoRA no longer named is deleted,
and with none left every LoRA layer is removed (`unload_lora_weights`), so the next image is the
bare model's, bit for bit. Embeddings are loaded with `load_textual_inversion` (both encoders for
SDXL) under a token of our own, `<emb-HASH>`, which no prompt word can collide with or be split
by; `engine_prompt` puts those tokens where the embedding words were.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from aae_desktop.engine.addons import addon_files, embedding_files, lora_files
from aae_desktop.engine.addons.addon_kinds import EMBEDDING, LORA, AddonKind
from aae_desktop.engine.errors import AddonError
from aae_desktop.engine.request import EmbeddingRef, GenerationRequest, LoraRef

_STATE = "_aae_addons"


@dataclass
class _Loaded:
    """What one pipeline carries now (kept on the pipeline object, so it goes wherever it goes)."""

    adapters: dict[str, str] = field(default_factory=dict)  # adapter name -> LoRA name (for messages)
    tokens: dict[str, str] = field(default_factory=dict)  # embedding key -> token it was loaded under
    own_tokenizers: bool = False


def prepare_addons(model: Any, request: GenerationRequest) -> dict[str, str]:
    """Make `model.pipe` carry the request's LoRAs and embeddings; return embedding name -> token.

    Raises AddonError (before anything changes) for a missing, changed, damaged or wrong-family file.
    """
    pipe = model.pipe
    loras = [(ref, _check_lora(model, ref)) for ref in request.loras]
    embeddings = [(ref, _check_embedding(model, ref)) for ref in request.embeddings]
    state: _Loaded = getattr(pipe, _STATE, None) or _Loaded()
    setattr(pipe, _STATE, state)
    tokens = _apply_embeddings(model, state, embeddings)
    _apply_loras(pipe, state, loras, model.family_spec.text_encoders)
    return tokens


def loaded_adapter_count(pipe: Any) -> int:
    state = getattr(pipe, _STATE, None)
    return len(state.adapters) if state else 0


# -- checks ---------------------------------------------------------------------------------------

def _same_file(kind: AddonKind, ref: LoraRef | EmbeddingRef) -> Path:
    """The file `ref` names, when it is here and (hash given) the one the request was made with."""
    file = Path(ref.path).expanduser() if ref.path else None
    if file is None or not file.is_file():
        what = f" (hash {addon_files.short_hash(ref.sha256)})" if ref.sha256 else ""
        raise AddonError(f"The {kind.name} '{ref.name}'{what} is not on this computer: put the file in the "
                         f"{kind.name} folder.", kind.key)
    if ref.sha256 and addon_files.kind_hash(kind, file) != ref.sha256:
        raise AddonError(f"The {kind.name} file {file.name} is not the one this request was made with (hash "
                         f"{addon_files.short_hash(addon_files.kind_hash(kind, file))}, expected "
                         f"{addon_files.short_hash(ref.sha256)}).", kind.key)
    return file


def _check_lora(model: Any, ref: LoraRef) -> lora_files.LoraInfo:
    path = _same_file(LORA, ref)
    info = lora_files.inspect_lora(path)
    unet = model.pipe.unet
    width = unet.config.cross_attention_dim
    lora_files.check_fits(info, model.family_spec, width[0] if isinstance(width, (list, tuple)) else width,
                          len(model.family_spec.text_encoders))
    return info


def _check_embedding(model: Any, ref: EmbeddingRef) -> tuple[Any, ...]:
    path = _same_file(EMBEDDING, ref)
    vectors = embedding_files.read_vectors(path)
    info = embedding_files.EmbeddingInfo(ref.name, path, vectors[0].shape[0], tuple(v.shape[-1] for v in vectors))
    encoders = [getattr(model.pipe, name) for name in model.family_spec.text_encoders]
    embedding_files.check_fits(info, model.family_spec, tuple(e.config.hidden_size for e in encoders))
    if info.vectors != ref.vectors:
        raise AddonError(f"The embedding '{ref.name}' has {info.vectors} vectors, not the {ref.vectors} its prompt "
                         "was tokenized with; choose the prompt again.", "embeddings")
    return vectors


# -- embeddings ------------------------------------------------------------------------------------

def _pairs(pipe: Any, model: Any) -> list[tuple[Any, Any]]:
    """(tokenizer, text encoder) of each encoder, in the family's order."""
    pairs = []
    for name in model.family_spec.text_encoders:
        suffix = name[len("text_encoder"):]
        pairs.append((getattr(pipe, "tokenizer" + suffix), getattr(pipe, name)))
    return pairs


def _apply_embeddings(model: Any, state: _Loaded, wanted: list[tuple[EmbeddingRef, tuple[Any, ...]]]) -> dict[str, str]:
    pipe = model.pipe
    keys = {_embedding_key(ref): (ref, vectors) for ref, vectors in wanted}
    if set(keys) != set(state.tokens):
        if state.tokens:
            # diffusers re-packs the remaining added tokens when some are removed; removing all and
            # loading the wanted set again keeps every token id a function of this request alone.
            for tokenizer, encoder in _pairs(pipe, model):
                pipe.unload_textual_inversion(tokens=_all_tokens(tokenizer, state.tokens.values()),
                                              tokenizer=tokenizer, text_encoder=encoder)
            state.tokens = {}
        if keys and not state.own_tokenizers:
            _own_tokenizers(pipe, model)
            state.own_tokenizers = True
        for key, (ref, vectors) in keys.items():
            token = f"<emb-{key}>"
            for (tokenizer, encoder), tensor in zip(_pairs(pipe, model), vectors):
                encoder_dtype = encoder.get_input_embeddings().weight.dtype
                with _quiet_loaders():
                    pipe.load_textual_inversion(tensor.to(encoder_dtype), token=token, tokenizer=tokenizer,
                                                text_encoder=encoder)
            state.tokens[key] = token
    return {ref.name: state.tokens[_embedding_key(ref)] for ref, _ in wanted}


def _embedding_key(ref: EmbeddingRef) -> str:
    return (ref.sha256 or addon_files.file_hash(ref.path))[:16]


def _all_tokens(tokenizer: Any, tokens: Any) -> list[str]:
    """Each loaded token with its `_1`, `_2` ... siblings (multi-vector embeddings)."""
    added = set(tokenizer.get_added_vocab())
    result = []
    for token in tokens:
        result += [t for t in added if t == token or t.startswith(token + "_")]
    return result


def _own_tokenizers(pipe: Any, model: Any) -> None:
    """Tokenizers can be shared between pipelines (the bundled one is cached); adding tokens to a
    shared one would change another model's prompts, so the pipeline gets its own copies first."""
    for name in model.family_spec.text_encoders:
        attribute = "tokenizer" + name[len("text_encoder"):]
        setattr(pipe, attribute, copy.deepcopy(getattr(pipe, attribute)))


# -- LoRAs -----------------------------------------------------------------------------------------

def _apply_loras(pipe: Any, state: _Loaded, wanted: list[tuple[LoraRef, lora_files.LoraInfo]],
                 text_encoders: tuple[str, ...]) -> None:
    # Weight 0 is no LoRA: left out rather than multiplied by zero.
    active = {_adapter_name(ref): (ref, info) for ref, info in wanted if (ref.weight, ref.unet) != (0, 0)}
    if not active:
        if state.adapters:
            pipe.unload_lora_weights()
            state.adapters = {}
        return
    stale = [name for name in state.adapters if name not in active]
    if stale:
        pipe.delete_adapters(stale)
        for name in stale:
            del state.adapters[name]
    for name, (ref, info) in active.items():
        if name in state.adapters:
            continue
        try:
            with _quiet_loaders():
                pipe.load_lora_weights(str(info.path), adapter_name=name)
        except Exception as exc:  # PEFT and diffusers raise many kinds for files they cannot map
            _forget_partial(pipe, name)
            raise AddonError(f"The LoRA '{ref.name}' could not be applied to this model: {_first_line(exc)}",
                             "loras") from exc
        state.adapters[name] = ref.name
    parts = pipe.get_list_adapters()  # component -> adapters loaded into it
    pipe.set_adapters(list(active), adapter_weights=[_component_weights(name, ref, parts, text_encoders)
                                                     for name, (ref, _) in active.items()])


def _component_weights(adapter: str, ref: LoraRef, parts: dict[str, list[str]],
                       text_encoders: tuple[str, ...]) -> dict[str, float]:
    """diffusers' per-component weights: the UNet's, and the text-encoder weight for each encoder of
    the family. Only components the file has are named (diffusers warns about the others)."""
    weights = {"unet": float(ref.unet), **{encoder: float(ref.weight) for encoder in text_encoders}}
    return {part: weight for part, weight in weights.items() if adapter in parts.get(part, ())}


def _adapter_name(ref: LoraRef) -> str:
    return "lora_" + (ref.sha256 or addon_files.lora_hash(ref.path))[:16]


def _forget_partial(pipe: Any, name: str) -> None:
    """A load that failed half-way may have added the adapter to some components: take it out."""
    try:
        if name in {a for names in pipe.get_list_adapters().values() for a in names}:
            pipe.delete_adapters([name])
    except Exception:  # noqa: BLE001 - nothing was added, so there is nothing to take out
        pass


@contextmanager
def _quiet_loaders() -> Iterator[None]:
    """transformers reports every weight a LoRA does not carry (all of them but its own) as "MISSING"
    and shows a progress bar, and PEFT warns about "multiple adapters" for every LoRA after the first:
    noise for the artist, whose files loaded as intended."""
    import warnings

    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    levels = diffusers_logging.get_verbosity(), transformers_logging.get_verbosity()
    bar = transformers_logging.is_progress_bar_enabled()
    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Already found a `peft_config` attribute")
            yield
    finally:
        diffusers_logging.set_verbosity(levels[0])
        transformers_logging.set_verbosity(levels[1])
        if bar:
            transformers_logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."
