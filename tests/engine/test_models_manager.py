"""Model switching keeps the previous model on failure; the recent list and per-file family memory persist."""
from __future__ import annotations

import pytest

from aae_desktop.engine.errors import ModelLoadError, OutOfMemory
from aae_desktop.engine.model_library import MAX_RECENT, ModelLibrary
from aae_desktop.engine.model_manager import ModelManager
from aae_desktop.engine.models import LoadedModel, LoadOptions, load_model

CPU = LoadOptions(device="cpu", precision="fp32")


@pytest.fixture
def library(tmp_path):
    return ModelLibrary(tmp_path / "models.json")


def test_a_broken_model_leaves_the_previous_one_loaded(tiny_model_dir, tmp_path, library):
    calls = []

    def counting_loader(source, options):
        calls.append(source)
        return load_model(source, options)

    manager = ModelManager(counting_loader, library)
    first = manager.load(str(tiny_model_dir), CPU)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    for bad, why in ((str(broken), "not a readable"), (str(tmp_path / "gone.ckpt"), "not found"),
                     ("nobody/nothing", "not in the Hugging Face cache")):
        with pytest.raises(ModelLoadError, match=why):
            manager.load(bad, CPU)
        assert manager.current is first
        assert manager.current_key == (str(tiny_model_dir), CPU)
    # The kept model still works.
    assert first.pipe.unet is not None and first.pipe.tokenizer("a cat").input_ids[0] == 49406
    # Asking for the same model again does not reload it.
    assert manager.load(str(tiny_model_dir), CPU) is first
    assert calls.count(str(tiny_model_dir)) == 1
    assert [r.source for r in library.recent()] == [str(tiny_model_dir)]
    assert library.recent()[0].kind == "diffusers folder"


def _fake(name):
    return LoadedModel(pipe=object(), source=name, name=name, device="cpu")


def test_out_of_memory_releases_the_old_model_and_retries(library):
    attempts = []

    def loader(source, options):
        attempts.append((source, manager.current is not None))
        if source == "big" and manager.current is not None:
            raise OutOfMemory("cuda")
        return _fake(source)

    manager = ModelManager(loader, library)
    manager.load("small", CPU)
    model = manager.load("big", CPU)
    assert model.name == "big" and manager.current is model
    assert attempts == [("small", False), ("big", True), ("big", False)]


def test_out_of_memory_without_a_previous_model_is_reported(library):
    def loader(source, options):
        raise OutOfMemory("cuda")

    with pytest.raises(OutOfMemory):
        ModelManager(loader, library).load("big", CPU)


def test_the_remembered_family_is_used_for_auto(tmp_path, library):
    seen = []
    checkpoint = tmp_path / "mystery.safetensors"
    checkpoint.write_bytes(b"12345")
    library.remember_family(checkpoint, "sd2v")
    manager = ModelManager(lambda s, o: seen.append(o.family) or _fake(s), library)
    manager.load(str(checkpoint), CPU)
    manager.load(str(checkpoint), LoadOptions(device="cpu", family="sd2"))  # an explicit choice wins
    assert seen == ["sd2v", "sd2"]
    checkpoint.write_bytes(b"a different file now")  # same name, other content: ask again
    assert library.family_for(checkpoint) is None


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
