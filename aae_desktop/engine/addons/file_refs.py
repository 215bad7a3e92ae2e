"""The add-on files a request names: each LoRA and embedding by name, with the file it was (hash, path)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoraRef:
    """A LoRA the prompt names with `<lora:NAME:WEIGHT>` (or `<lora:NAME:TE:UNET>`), and which file that was."""

    name: str
    weight: float = 1.0  # the text encoders' multiplier, and the UNet's unless unet_weight is given
    sha256: str = ""  # A1111's LoRA hash (engine.addon_files.lora_hash): finds the same file elsewhere
    path: str = ""  # where it was when the request was made
    unet_weight: float | None = None  # A1111's separate UNet multiplier; None = weight (older files lack it)

    @property
    def unet(self) -> float:
        """The UNet's multiplier in effect."""
        return self.weight if self.unet_weight is None else self.unet_weight


@dataclass(frozen=True)
class EmbeddingRef:
    """A textual-inversion embedding a prompt word names, and which file that was."""

    name: str
    vectors: int = 1  # tokens the word becomes: token indices count them
    sha256: str = ""  # sha256 of the file (A1111's embedding hash)
    path: str = ""


MAX_LORA_WEIGHT = 10.0  # A1111 accepts anything; past a few the image is noise, past this it is a typo
