"""The two kinds of add-on file, LoRAs and textual-inversion embeddings, and what differs between
them: the file types, the folder, the setting and CLI flag that choose it, how A1111 hashes them.

Code that handles both (listing folders, resolving and localizing a request's files, checking a
file before a run, the CLI's folder flags, the settings' default folders) reads these records
instead of writing the same steps out twice. No torch or Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AddonKind:
    key: str  # the request field, the AddonFolders attribute and the field an AddonError names
    name: str  # in sentences: "The LoRA 'ink' ..."
    plural: str
    suffixes: tuple[str, ...]  # the files a folder listing takes
    folder: str  # the default folder's name below the app data folder
    folder_label: str  # what the window calls the folder
    setting: str  # the Settings attribute holding the chosen folder ("" = the default)
    flag: str  # the CLI option naming the folder
    flag_help: str
    # A1111 hashes a LoRA .safetensors without its header (AutoV3: editing its metadata keeps the
    # hash); embeddings, and LoRAs in other formats, over the whole file.
    hash_skips_header: bool


LORA = AddonKind(key="loras", name="LoRA", plural="LoRAs", suffixes=(".safetensors",), folder="loras",
                 folder_label="LoRA folder", setting="lora_dir", flag="--lora-dir",
                 flag_help="folder of LoRA .safetensors files, searched with its subfolders", hash_skips_header=True)
# .pt and .bin are read with torch's weights-only loader (embedding_files), so they cannot run code.
EMBEDDING = AddonKind(key="embeddings", name="embedding", plural="embeddings", suffixes=(".safetensors", ".pt", ".bin"),
                      folder="embeddings", folder_label="Embeddings folder", setting="embeddings_dir",
                      flag="--embeddings-dir", flag_help="folder of textual-inversion embeddings (.pt, .bin, .safetensors)",
                      hash_skips_header=False)
KINDS: tuple[AddonKind, ...] = (LORA, EMBEDDING)
