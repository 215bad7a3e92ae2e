"""The model library: the recent list, per-file SD 2.x family answers and memory options persist."""
from __future__ import annotations

from aae_desktop.engine.models.model_library import MAX_RECENT, ModelLibrary


def test_library_persists_dedupes_and_caps(tmp_path):
    path = tmp_path / "cfg" / "models.json"
    library = ModelLibrary(path)
    for i in range(MAX_RECENT + 3):
        library.add_recent(f"/models/m{i}", kind="diffusers folder")
    library.add_recent("/models/m5", name="five")
    again = ModelLibrary(path)
    recent = again.recent()
    assert len(recent) == MAX_RECENT
    assert recent[0].source == "/models/m5" and recent[0].name == "five"
    assert [r.source for r in recent].count("/models/m5") == 1
    again.remove_recent("/models/m5")
    assert "/models/m5" not in [r.source for r in ModelLibrary(path).recent()]


def test_a_corrupt_library_file_starts_empty(tmp_path):
    path = tmp_path / "models.json"
    path.write_text("{not json")
    library = ModelLibrary(path)
    assert library.recent() == []
    library.add_recent("/m")
    assert [r.source for r in ModelLibrary(path).recent()] == ["/m"]


def test_family_answers_are_per_file_content(tmp_path):
    library = ModelLibrary(tmp_path / "models.json")
    checkpoint = tmp_path / "mystery.safetensors"
    checkpoint.write_bytes(b"12345")
    library.remember_family(checkpoint, "sd2v")
    assert ModelLibrary(tmp_path / "models.json").family_for(checkpoint) == "sd2v"
    checkpoint.write_bytes(b"a different file now")  # same name, other content: ask again
    assert library.family_for(checkpoint) is None
    assert library.family_for(tmp_path / "missing.safetensors") is None


def test_memory_options_persist(tmp_path):
    library = ModelLibrary(tmp_path / "models.json")
    assert library.load_options() == {}
    library.set_load_options({"vae_tiling": True, "cpu_offload": False})
    assert ModelLibrary(tmp_path / "models.json").load_options() == {"vae_tiling": True, "cpu_offload": False}
