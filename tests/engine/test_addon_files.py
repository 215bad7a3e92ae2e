"""LoRA tags, embedding words, folders, A1111 hashes and family detection: the parts that need no model."""
from __future__ import annotations

import hashlib
import math

import pytest
import torch
from safetensors.torch import save_file

from aae_desktop.engine.addons import addon_files
from aae_desktop.engine.addons.addon_refs import AddonFolders, localize_addons, missing_sentence, resolve_addons
from aae_desktop.engine.addons.embedding_files import inspect_embedding, read_vectors
from aae_desktop.engine.errors import AddonError, InvalidRequest
from aae_desktop.engine.addons.lora_files import inspect_lora
from aae_desktop.engine.prompt_syntax import find_lora_tags, remove_tag, set_tag_weight, strip_lora_tags
from aae_desktop.engine.request import ExciteSettings, GenerationRequest, LoraRef
from aae_desktop.engine.tokens import tokenize_prompt
from tests.engine.addon_fixtures import write_embedding


def test_lora_tags_are_found_with_optional_weights_and_stripped_without_a_trace():
    prompt = "a cat, <lora:water color:0.8>, <LORA:ink> and <lora:x:abc> <lora:y:0.5:0.2>"
    tags = find_lora_tags(prompt)
    assert [(t.name, t.weight) for t in tags][:2] == [("water color", 0.8), ("ink", 1.0)]
    assert math.isnan(tags[2].weight) and (tags[3].name, tags[3].weight) == ("y", 0.5)
    clean, kept = strip_lora_tags("a <lora:x:1>cat")
    assert clean == "a cat" and [kept[i] for i in range(len(clean))] == [0, 1, 12, 13, 14]


def test_tag_weights_are_edited_added_and_removed_as_an_artist_would():
    assert set_tag_weight("a cat, <lora:ink:0.8>", "INK", 0.55) == "a cat, <lora:ink:0.55>"
    assert set_tag_weight("a cat", "ink", 1) == "a cat <lora:ink:1>"  # the words CLIP reads stay "a cat"
    assert set_tag_weight("a cat,", "ink", 0.5) == "a cat, <lora:ink:0.5>"
    assert remove_tag("a cat, <lora:ink:0.8>, frog", "ink") == "a cat, frog"
    assert remove_tag("a cat, <lora:ink:0.8>", "ink") == "a cat"
    assert remove_tag("<lora:ink:0.8>", "ink") == ""


def test_tags_never_become_words_and_embedding_words_are_one_chip_with_all_their_vectors(tokenizer):
    prompt = "a cat <lora:ink:0.5> and EasyNegative, bad_hands-v2 easynegatives"
    parsed = tokenize_prompt(tokenizer, prompt, {"easynegative": 3, "bad_hands-v2": 2})
    words = [(w.text, w.token_indices) for w in parsed.words]
    assert ("lora", ()) not in words and all("ink" not in w for w, _ in words)
    assert ("EasyNegative", (4, 5, 6)) in words and ("bad_hands-v2", (8, 9)) in words
    assert words[-1][0] == "easynegatives" and len(words[-1][1]) >= 1  # a longer word is not the embedding
    emb = next(w for w in parsed.words if w.text == "EasyNegative")
    assert prompt[emb.start:emb.end] == "EasyNegative"  # spans refer to the prompt as typed
    plain = tokenize_prompt(tokenizer, "a cat and EasyNegative, bad_hands-v2 easynegatives")
    assert plain.eot_index < parsed.eot_index or plain.total_word_tokens != parsed.total_word_tokens
    assert tokenize_prompt(tokenizer, "a cat <lora:ink:1>").total_word_tokens == 2  # the count ignores tags


def test_folders_are_searched_below_and_hashed_as_a1111_does(tmp_path):
    nested = tmp_path / "styles" / "ink.safetensors"
    nested.parent.mkdir()
    save_file({"lora_unet_x.lora_down.weight": torch.ones(2, 2)}, str(nested), metadata={"ss_output_name": "ink"})
    (tmp_path / "notes.txt").write_text("not a LoRA")
    files = addon_files.find_loras(tmp_path)
    assert [f.name for f in files] == ["ink"]
    data = nested.read_bytes()
    header = int.from_bytes(data[:8], "little")
    assert addon_files.lora_hash(nested) == hashlib.sha256(data[8 + header:]).hexdigest()  # "AutoV3": tensors only
    assert addon_files.file_hash(nested) == hashlib.sha256(data).hexdigest()
    assert addon_files.find_loras(tmp_path / "missing") == []


def _fake_lora(path, width, te_keys=(), metadata=None):
    tensors = {"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight":
               torch.zeros(4, width)} if width else {}
    for key in te_keys:
        tensors[f"{key}_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"] = torch.zeros(4, 8)
    save_file(tensors, str(path), metadata=metadata)
    return path


@pytest.mark.parametrize("width,te_keys,metadata,family", [
    (768, ("lora_te",), None, "sd1"), (1024, ("lora_te",), None, "sd2"), (2048, ("lora_te1", "lora_te2"), None, "sdxl"),
    (None, ("lora_te1", "lora_te2"), None, "sdxl"), (32, ("lora_te",), {"ss_base_model_version": "sd_v1"}, "sd1"),
    (32, (), {"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}, "sdxl"), (32, (), None, None),
])
def test_a_loras_family_is_read_from_its_widths_markers_or_metadata(tmp_path, width, te_keys, metadata, family):
    info = inspect_lora(_fake_lora(tmp_path / "x.safetensors", width, te_keys, metadata))
    assert info.family == family and info.layout == "kohya"


def test_files_that_are_not_loras_get_one_sentence(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(AddonError, match=r"^The LoRA file broken.safetensors cannot be read"):
        inspect_lora(broken)
    model_like = tmp_path / "model.safetensors"
    save_file({"model.diffusion_model.out.weight": torch.zeros(2)}, str(model_like))
    with pytest.raises(AddonError, match="is not a LoRA"):
        inspect_lora(model_like)


@pytest.mark.parametrize("name,widths,family", [("a.pt", (768,), "sd1"), ("b.safetensors", (1024,), "sd2"),
                                                ("c.bin", (768,), "sd1"), ("d.safetensors", (768, 1280), "sdxl")])
def test_embeddings_in_every_layout_give_their_vectors_and_family(tmp_path, name, widths, family):
    path = write_embedding(tmp_path / name, widths, vectors=3)
    info = inspect_embedding(path)
    assert (info.vectors, info.widths, info.family) == (3, widths, family)
    assert [tuple(t.shape) for t in read_vectors(path)] == [(3, w) for w in widths]


def test_an_embedding_that_would_run_code_is_refused(tmp_path):
    import pickle

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"string_to_param": {"*": print}}, protocol=2))  # as torch.save pickles
    with pytest.raises(AddonError, match=r"^evil.pt holds more than word vectors \(Python objects that could run"):
        read_vectors(path)


def test_requests_resolve_tags_and_words_to_files_and_restore_names_what_is_missing(tmp_path):
    loras, embeddings = tmp_path / "loras", tmp_path / "embeddings"
    loras.mkdir()
    _fake_lora(loras / "ink.safetensors", 32)
    write_embedding(embeddings / "easyneg.pt", (32,), vectors=2)
    folders = AddonFolders(loras, embeddings)
    request = GenerationRequest(model="m", prompt="a cat <lora:INK:0.6>", negative_prompt="EasyNeg, blurry",
                                excite=ExciteSettings(token_indices=(2,)))
    resolved = resolve_addons(request, folders, extra_loras=[("ink", 0.7)])
    assert resolved.prompt == "a cat <lora:INK:0.7>"
    assert [(r.name, r.weight) for r in resolved.loras] == [("ink", 0.7)]
    assert [(e.name, e.vectors) for e in resolved.embeddings] == [("easyneg", 2)]
    resolved.validate()
    again = GenerationRequest.from_dict(resolved.to_dict())
    assert again == resolved

    with pytest.raises(AddonError, match=r"^The LoRA 'inks' is not in the LoRA folder .* Did you mean ink\?"):
        resolve_addons(request.replace(prompt="a cat <lora:inks>"), folders)
    with pytest.raises(InvalidRequest, match="has weight 0.6 in the prompt but 0.7 in the LoRA list"):
        resolved.replace(prompt="a cat <lora:ink:0.6>").validate()

    elsewhere = resolved.replace(loras=(LoraRef("ink", 0.7, resolved.loras[0].sha256[:12], "/gone/ink.safetensors"),))
    local, missing = localize_addons(elsewhere, folders)
    assert not missing and local.loras[0].path == str(loras / "ink.safetensors")
    _, missing = localize_addons(elsewhere, AddonFolders(tmp_path / "empty", embeddings))
    assert missing_sentence(missing) == ("This image was made with files that are not on this computer: LoRA ink "
                                         f"(hash {resolved.loras[0].sha256[:12]}). Put them in the LoRA / embeddings "
                                         "folders to render it the same way.")


def test_a_lora_of_random_bytes_is_hashed_listed_and_refused_in_one_sentence(tmp_path):
    # A download cut off or a file that was never a LoRA: its first 8 bytes give an absurd header length.
    broken = tmp_path / "loras" / "broken.safetensors"
    broken.parent.mkdir()
    data = bytes(range(256)) * 12
    broken.write_bytes(b"\xff" * 8 + data)
    assert addon_files.lora_hash(broken) == hashlib.sha256(broken.read_bytes()).hexdigest()  # named, not a crash
    with pytest.raises(AddonError, match=r"^The LoRA file broken.safetensors cannot be read"):
        inspect_lora(broken)
    request = GenerationRequest(model="m", prompt="a cat <lora:broken:0.7>")
    with pytest.raises(AddonError, match=r"^The LoRA file broken.safetensors cannot be read"):
        resolve_addons(request, AddonFolders(broken.parent, None))  # refused before any run is sent


def test_an_a1111_pngs_lora_and_ti_hashes_restore_the_files_here_and_name_the_others(tmp_path):
    from aae_desktop.gallery.a1111 import request_from_parameters

    loras, embeddings = tmp_path / "loras", tmp_path / "embeddings"
    loras.mkdir()
    ink = _fake_lora(loras / "ink.safetensors", 32)
    easyneg = write_embedding(embeddings / "EasyNegative.pt", (32,), vectors=3)
    ink_hash, neg_hash = addon_files.lora_hash(ink)[:12], addon_files.file_hash(easyneg)[:12]
    text = ("a cat, <lora:ink:0.6>, <lora:watercolor>\nNegative prompt: easynegative, bad-hands\n"
            "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, Model: dreamshaper, "
            f'Lora hashes: "ink: {ink_hash}, watercolor: 0123456789ab", '
            f'TI hashes: "easynegative: {neg_hash}, bad-hands: abcdefabcdef", Version: v1.6.0')
    request = request_from_parameters(text)
    assert [(r.name, r.weight, r.sha256) for r in request.loras] == [("ink", 0.6, ink_hash),
                                                                     ("watercolor", 1.0, "0123456789ab")]
    local, missing = localize_addons(request, AddonFolders(loras, embeddings))
    assert local.loras[0].path == str(ink) and local.loras[0].sha256 == addon_files.lora_hash(ink)
    assert [(e.name, e.vectors, e.path) for e in local.embeddings][0] == ("EasyNegative", 3, str(easyneg))
    assert [m.describe() for m in missing] == ["LoRA watercolor (hash 0123456789ab)",
                                               "embedding bad-hands (hash abcdefabcdef)"]


def test_an_incomplete_download_is_refused_from_its_header_before_the_model_loads(tmp_path):
    # The most common damaged file: the header arrived whole, the tensors after it only in part.
    whole = _fake_lora(tmp_path / "whole.safetensors", 768, ("lora_te",))
    data = whole.read_bytes()
    cut = tmp_path / "halfdone.safetensors"
    cut.write_bytes(data[:len(data) - 64])
    assert inspect_lora(whole).family == "sd1"
    with pytest.raises(AddonError, match=r"^The LoRA file halfdone.safetensors cannot be read \(damaged or "
                                         r"incomplete download\?\)\.$"):
        inspect_lora(cut)
    emb = write_embedding(tmp_path / "emb.safetensors", (32,), vectors=2)
    emb_cut = tmp_path / "emb-cut.safetensors"
    emb_cut.write_bytes(emb.read_bytes()[:-8])
    assert inspect_embedding(emb).vectors == 2
    with pytest.raises(AddonError, match=r"^The embedding file emb-cut.safetensors cannot be read"):
        inspect_embedding(emb_cut)


def test_an_embedding_of_random_bytes_is_called_damaged_not_dangerous(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"garbage " * 64)  # torch's safe loader rejects it as an "unsupported operand"
    with pytest.raises(AddonError, match=r"^The embedding file junk.bin cannot be read \(damaged or incomplete "
                                         r"download\?\)\.$"):
        read_vectors(junk)


def test_a_prompt_word_naming_an_unusable_embedding_stops_the_run_instead_of_being_a_plain_word(tmp_path):
    embeddings = tmp_path / "embeddings"
    embeddings.mkdir()
    (embeddings / "glowzq.bin").write_bytes(b"garbage " * 64)
    write_embedding(embeddings / "easyneg.pt", (32,), vectors=2)
    folders = AddonFolders(None, embeddings)
    request = GenerationRequest(model="m", prompt="a glowzq cat", negative_prompt="easyneg")
    with pytest.raises(AddonError, match=r"^The prompt word 'glowzq' names an embedding that cannot be used: "
                                         r"The embedding file glowzq.bin cannot be read"):
        resolve_addons(request, folders)
    with pytest.raises(AddonError, match="The prompt word 'GlowZQ'"):
        resolve_addons(request.replace(prompt="a cat", negative_prompt="GlowZQ, blurry"), folders)
    assert [e.name for e in resolve_addons(request.replace(prompt="a glowzqs cat"), folders).embeddings] == ["easyneg"]


@pytest.mark.parametrize("suffixes,kind", [(("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"), "LoHa"),
                                           (("lokr_w1", "lokr_w2"), "LoKr")])
def test_lycoris_loha_and_lokr_files_are_named_as_such_from_their_header(tmp_path, suffixes, kind):
    # Common in A1111 LoRA folders; diffusers' loader has no SD/SDXL path for them, so they are refused
    # from the header with a reason, not after the model loaded with the loader's own error.
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    path = tmp_path / "lyco.safetensors"
    save_file({f"{key}.{s}": torch.zeros(4, 768) for s in suffixes} | {f"{key}.alpha": torch.tensor(4.0)},
              str(path))
    with pytest.raises(AddonError, match=rf"^The LoRA 'lyco' is a LyCORIS {kind} file: only LoRA \(and LoCon\) "
                                         "files can be applied"):
        inspect_lora(path)
