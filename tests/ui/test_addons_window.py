"""The window's LoRA list and embedding words: in sync with the prompt both ways, chips that count
every vector, runs that carry the files, restores that name what is missing."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from aae_desktop.engine.request import EmbeddingRef, GenerationRequest, LoraRef
from aae_desktop.settings import Settings


@pytest.fixture
def window(make_window, settings_store, tmp_path, qtbot):
    loras, embeddings = tmp_path / "loras", tmp_path / "embeddings"
    (loras / "styles").mkdir(parents=True)
    embeddings.mkdir()
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    for name, meta in (("ink", "sd_v1"), ("xl-glow", "sdxl_base_v1-0")):
        save_file({f"{key}.lora_down.weight": torch.zeros(2, 32), f"{key}.lora_up.weight": torch.zeros(32, 2)},
                  str(loras / "styles" / f"{name}.safetensors"), metadata={"ss_base_model_version": meta})
    save_file({"emb_params": torch.zeros(2, 32)}, str(embeddings / "EasyNeg.safetensors"))
    settings_store.save(Settings(lora_dir=str(loras), embeddings_dir=str(embeddings), last_model="/models/tiny"))
    win = make_window()
    qtbot.waitUntil(lambda: len(win.addons.scan.loras) == 2 and bool(win.addons.scan.embeddings), timeout=10000)
    return win


def _chips(win):
    return {c.text(): c for c in win.prompt_editor.token_selector.chips}


def test_tags_become_rows_not_chips_and_embedding_words_one_chip_of_all_vectors(window, qtbot, fake_engine):
    editor = window.prompt_editor
    editor.set_prompt("a cat and easyneg frog, <lora:ink:0.8>", "EasyNeg, blurry")
    assert set(_chips(window)) == {"a", "cat", "and", "easyneg", "frog"}
    assert editor.parsed.words[3].token_indices == (4, 5)
    assert "embedding EasyNeg (2 vectors" in _chips(window)["easyneg"].toolTip()
    assert window.addons.row_names() == ["ink"] and window.addons.row_weight("ink") == 0.8
    assert "EasyNeg (2 vectors)" in window.addons.embeddings_label.text()
    assert "7 / 75" in editor.token_count.text()  # a cat and (2) frog "," -- the tag is not counted

    _chips(window)["easyneg"].click()
    _chips(window)["frog"].click()
    assert editor.token_indices() == (4, 5, 6)
    window.addons._rows[0][1].setValue(0.55)  # the weight box writes the tag
    assert editor.prompt() == "a cat and easyneg frog, <lora:ink:0.55>"
    assert editor.token_indices() == (4, 5, 6)  # the chosen words stay chosen
    editor.replace_prompt_text(editor.prompt().replace("0.55", "0.7"))  # typing in the tag moves the box
    assert window.addons.row_weight("ink") == 0.7

    window.generate()
    qtbot.waitUntil(lambda: bool(fake_engine.runs) and not window.worker.busy, timeout=10000)
    request = fake_engine.runs[-1]
    assert [(r.name, r.weight) for r in request.loras] == [("ink", 0.7)] and request.loras[0].sha256
    assert [(e.name, e.vectors) for e in request.embeddings] == [("EasyNeg", 2)]
    assert request.excite.token_indices == (4, 5, 6)

    window.addons.remove_lora("ink")
    assert editor.prompt() == "a cat and easyneg frog" and window.addons.row_names() == []
    window.addons.add_lora("xl-glow")
    assert editor.prompt() == "a cat and easyneg frog <lora:xl-glow:1>"


def test_a_lora_not_in_the_folder_stops_the_run_with_a_banner(window, fake_engine):
    window.prompt_editor.set_prompt("a cat <lora:inky:1>")
    window.prompt_editor.set_word_selected(1, True)
    window.generate()
    assert not window.banner.isHidden()
    assert "The LoRA 'inky' is not in the LoRA folder" in window.banner.message()
    assert "Did you mean ink?" in window.banner.message()
    assert fake_engine.runs == []


def test_restoring_an_image_names_the_files_missing_on_this_computer(window):
    request = GenerationRequest(model="/models/tiny", prompt="a cat <lora:ink:0.5> <lora:gone:1> easyneg",
                                loras=(LoraRef("ink", 0.5, "", ""), LoraRef("gone", 1.0, "0123456789ab" * 2, "")),
                                embeddings=(EmbeddingRef("EasyNeg", 2, "ff" * 32, ""),))
    window.apply_request(request)
    text = window.banner.message()
    assert "LoRA gone (hash 0123456789ab)" in text
    assert "embedding EasyNeg (hash ffffffffffff): the file of that name here is a different one" in text
    assert "LoRA ink" not in text  # found here, and no hash to disagree with
    assert window.addons.row_names() == ["ink", "gone"]


def test_every_run_resolves_the_prompts_files_so_a_b_and_sweeps_carry_them_too(window):
    window.prompt_editor.set_prompt("a cat <lora:ink:0.5>", "easyneg")
    request = window.current_request(for_run=True)
    assert [(r.name, r.weight) for r in request.loras] == [("ink", 0.5)]
    assert [e.name for e in request.embeddings] == ["EasyNeg"]
    assert window.current_request().loras == ()  # the remembered setup stays text: files are looked up per run


def test_a_lora_for_another_family_than_the_loaded_models_is_refused_before_the_run_is_sent(window, qtbot,
                                                                                            fake_engine):
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        window.request_model_load("/models/tiny")  # the fake engine's SD 1.x model
    window.prompt_editor.set_prompt("a cat <lora:xl-glow:1>")
    window.prompt_editor.set_word_selected(1, True)
    window.generate()
    assert not window.banner.isHidden()
    assert ("The LoRA 'xl-glow' is for SDXL models, but the model is SD 1.x: choose an SD 1.x LoRA or switch "
            "models.") in window.banner.message()
    assert fake_engine.runs == []  # refused here, not by the engine after the run was sent


def test_a_two_weight_tags_row_edits_the_text_encoder_weight_and_keeps_the_unet_weight(window):
    editor, addons = window.prompt_editor, window.addons
    editor.set_prompt("a cat, <lora:ink:0.8:0.5>")
    assert addons.row_weight("ink") == 0.8 and addons.row_unet_text("ink") == "/ UNet 0.5"
    addons._rows[0][1].setValue(0.6)
    assert editor.prompt() == "a cat, <lora:ink:0.6:0.5>"
    editor.replace_prompt_text("a cat, <lora:ink:te=0.6:unet=0.25>")  # typing the UNet weight updates the row
    assert addons.row_weight("ink") == 0.6 and addons.row_unet_text("ink") == "/ UNet 0.25"
    editor.replace_prompt_text("a cat, <lora:ink:0.6>")
    assert addons.row_unet_text("ink") == ""  # one weight: nothing more to show
    editor.replace_prompt_text("a cat, <lora:ink:0.6:0.3>")
    request = window.current_request(for_run=True)
    assert [(r.name, r.weight, r.unet_weight) for r in request.loras] == [("ink", 0.6, 0.3)]


def test_a_tag_in_the_negative_prompt_gets_its_row_and_the_row_edits_that_tag(window):
    """The engine applies a LoRA tagged in the negative prompt (as A1111 does), so the list shows it;
    it had no row, and nothing said the LoRA was in use."""
    editor, addons = window.prompt_editor, window.addons
    editor.set_prompt("a cat and a frog", "blurry, <lora:ink:0.4>")
    assert addons.row_names() == ["ink"] and addons.row_weight("ink") == pytest.approx(0.4)
    assert "negative" in window.findChildren(type(addons.empty_label), "loraName")[0].text()
    assert addons.empty_label.isHidden()
    addons._rows[0][1].setValue(0.7)  # the row's box writes the negative prompt's tag, not the prompt's
    assert editor.negative_prompt() == "blurry, <lora:ink:0.7>" and editor.prompt() == "a cat and a frog"
    editor.negative_edit.setPlainText("blurry, <lora:ink:0.3>")  # typing there updates the row
    assert addons.row_weight("ink") == pytest.approx(0.3)
    request = window.current_request(for_run=True)
    assert [(r.name, r.weight) for r in request.loras] == [("ink", 0.3)]
    addons._rows[0][3].click()  # ✕ takes the tag out of the negative prompt
    assert editor.negative_prompt() == "blurry" and addons.row_names() == []
