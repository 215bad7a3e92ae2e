"""`render --lora`, LoRA tags and embedding words on the command line; `loras` and `embeddings` listings."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from aae_desktop.cli import run
from aae_desktop.engine.request import GenerationRequest
from tests.engine.addon_fixtures import write_embedding, write_lora

QUICK = ["--steps", "2", "--width", "64", "--height", "64", "--max-iter-to-alter", "1", "--thresholds", "0:0.05",
         "--refinement-cap", "1", "--seed", "3"]


@pytest.fixture(scope="module")
def addon_dirs(tmp_path_factory):
    from aae_desktop.engine.models.tiny_model import tiny_pipeline, tiny_sdxl_pipeline

    root = tmp_path_factory.mktemp("addons")
    loras, embeddings = root / "loras", root / "embeddings"
    write_lora(loras / "styles" / "ink.safetensors", tiny_pipeline(0), "kohya", seed=1)
    write_lora(loras / "xl-style.safetensors", tiny_sdxl_pipeline(0), "diffusers", seed=2)
    write_embedding(embeddings / "shinyzq.pt", (32,), vectors=2)
    (loras / "broken.safetensors").write_bytes(b"\x9a\x3f\x01\x77\xd2\x08\xee\x51" + bytes(range(256)) * 4)
    return loras, embeddings


@pytest.fixture
def folders(addon_dirs, tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("AAE_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    loras, embeddings = addon_dirs
    return ["--lora-dir", str(loras), "--embeddings-dir", str(embeddings)]


def test_render_with_tags_flags_and_an_embedding_word_records_them_all(tiny_model_dir, tmp_path, folders, capsys):
    out = tmp_path / "x.png"
    code = run(["render", "--model", str(tiny_model_dir), "--prompt", "a shinyzq cat and a frog",
                "--negative", "Shinyzq", "--lora", "ink:0.5", "--tokens", "shinyzq,frog", "--out", str(out),
                *QUICK, *folders])
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as img:
        text, request = img.text["parameters"], GenerationRequest.from_dict(json.loads(img.text["aae"]))
    assert request.prompt == "a shinyzq cat and a frog <lora:ink:0.5>"
    assert [(r.name, r.weight) for r in request.loras] == [("ink", 0.5)]
    assert [(e.name, e.vectors) for e in request.embeddings] == [("shinyzq", 2)]
    assert request.excite.token_indices == (2, 3, 7)  # the embedding's two vectors, then "frog"
    lora_hash, ti_hash = request.loras[0].sha256[:12], request.embeddings[0].sha256[:12]
    assert f'Lora hashes: "ink: {lora_hash}"' in text and f"TI hashes: shinyzq: {ti_hash}" not in text
    assert f'TI hashes: "shinyzq: {ti_hash}"' in text


@pytest.mark.parametrize("args, message", [
    (["--prompt", "a cat <lora:xl-style:1>"], "The LoRA 'xl-style' is for SDXL models, but the model is SD 1.x: "
                                               "choose an SD 1.x LoRA or switch models."),
    (["--prompt", "a cat <lora:broken:0.7>"], "The LoRA file broken.safetensors cannot be read (damaged or "
                                              "incomplete download?)."),
    (["--prompt", "a cat", "--lora", "inky"], "The LoRA 'inky' is not in the LoRA folder"),
    (["--prompt", "a cat", "--lora", "ink:lots"], "--lora ink:lots: the weight after ':' must be a number"),
    (["--prompt", "a cat <lora:ink:1> <lora:ink:0.5>"], "The LoRA 'ink' is in the prompt twice"),
])
def test_bad_loras_get_one_line_and_exit_2_before_the_model_loads(tiny_model_dir, tmp_path, folders, capsys,
                                                                  args, message):
    code = run(["render", "--model", str(tiny_model_dir), "--tokens", "cat", "--out", str(tmp_path / "x.png"),
                *args, *QUICK, *folders])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_loras_and_embeddings_are_listed_with_family_and_hash(folders, capsys):
    assert run(["loras", *folders, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["family"]) for r in rows] == [("broken", "unusable"), ("ink", "unknown family"),
                                                        ("xl-style", "SDXL")]
    assert "cannot be read" in rows[0]["problem"]
    assert all(len(r["hash"]) == 12 for r in rows)
    assert run(["embeddings", *folders]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("shinyzq\tunknown family\t") and "\t2 vectors\t" in line


def test_tokens_leave_tags_out_and_show_every_vector_of_an_embedding(folders, capsys):
    # the same folder flags as render, so a command line can be turned into the other
    assert run(["tokens", "--prompt", "a shinyzq cat <lora:ink:0.5>", *folders]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [["1", "a", "a"], ["2", "shinyzq", "shinyzq"], ["3", "shinyzq_1", "shinyzq"], ["4", "cat", "cat"]]
