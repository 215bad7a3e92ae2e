"""Case 2: a gallery that cannot take images is refused before the run; one that fails during the run
sends the images to a fallback folder, and the user is told where."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from aae_desktop.gallery.paths import fallback_dir

from .conftest import PROMPT, assert_one_line, pngs_under
from .helpers import gallery_images, result_of, sample_request


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only. Root ignores permission bits, so there the refusal is injected where a
    real one would come from: creating a file in that folder."""
    made = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        made.append(folder)
        if os.geteuid() == 0:
            real_mkstemp, real_access = tempfile.mkstemp, os.access

            def refusing_mkstemp(*args, dir=None, **kwargs):
                if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
                    raise PermissionError(13, "Permission denied", str(dir))
                return real_mkstemp(*args, dir=dir, **kwargs)

            def access(path, mode, *args, **kwargs):
                if mode & os.W_OK and Path(path).resolve() == folder.resolve():
                    return False
                return real_access(path, mode, *args, **kwargs)

            monkeypatch.setattr(tempfile, "mkstemp", refusing_mkstemp)
            monkeypatch.setattr(os, "access", access)
        return folder

    yield make
    for folder in made:
        folder.chmod(0o755)


def render_into_gallery(tiny_model_dir, gallery, *extra):
    return ["render", "--model", tiny_model_dir, "--prompt", PROMPT, "--no-excite", "--gallery", gallery,
            "--steps", 2, "--width", 64, "--height", 64, "--seed", 3, *extra]


def test_a_gallery_path_that_is_a_file_is_refused_before_the_run(tmp_path, tiny_model_dir, cli, no_model_load):
    (tmp_path / "gallery").write_text("not a folder")
    result = cli(*render_into_gallery(tiny_model_dir, tmp_path / "gallery"))
    assert_one_line(result, 2, "--gallery", "not a file")
    result = cli(*render_into_gallery(tiny_model_dir, tmp_path / "gallery" / "inside"))
    assert_one_line(result, 2, "--gallery", "is a file, not a folder")


def test_a_read_only_gallery_is_refused_before_the_run(tmp_path, tiny_model_dir, cli, no_model_load, read_only):
    folder = read_only(tmp_path / "locked")
    result = cli(*render_into_gallery(tiny_model_dir, folder))
    assert_one_line(result, 2, "--gallery", "cannot take new images", str(folder), "Permission denied")


def test_the_default_gallery_is_checked_too(home, tiny_model_dir, cli, no_model_load):
    home.pictures.parent.mkdir(parents=True)
    home.pictures.write_text("a file where the gallery folder should be")
    result = cli("render", "--model", tiny_model_dir, "--prompt", PROMPT, "--no-excite", "--gallery")
    assert_one_line(result, 2, str(home.pictures), "not a file")


def test_a_gallery_that_fails_during_the_run_sends_images_to_the_fallback(home, tmp_path, tiny_model_dir, cli,
                                                                          monkeypatch):
    import aae_desktop.cli.gallery as cli_gallery

    gallery = tmp_path / "usb-stick"
    real_check = cli_gallery.check_gallery_option

    def check_then_unplug(value):
        real_check(value)  # fine when the run starts ...
        shutil.rmtree(gallery)  # ... then the drive goes away and something else takes its name
        gallery.write_text("")

    monkeypatch.setattr(cli_gallery, "check_gallery_option", check_then_unplug)
    result = cli(*render_into_gallery(tiny_model_dir, gallery, "--num-images", 2))
    assert "Traceback" not in result.err
    kept = [Path(line) for line in result.out.split("\n") if line.strip()]
    assert len(kept) == 2 and all(p.is_file() and p.is_relative_to(fallback_dir()) for p in kept)
    notes = [line for line in result.err_lines if "saved to" in line]
    assert len(notes) == 2 and str(gallery) in notes[0] and str(kept[0]) in notes[0]
    assert result.code == 1


@pytest.mark.parametrize("action", ["list", "rebuild"])
def test_gallery_commands_say_when_the_folder_is_unusable(tmp_path, cli, action, read_only):
    (tmp_path / "file").write_text("x")
    assert_one_line(cli("gallery", action, tmp_path / "file"), 2, "is a file, not a folder")
    images = gallery_images(tmp_path / "locked", 1)
    folder = read_only(tmp_path / "locked")
    result = cli("gallery", action, folder)
    assert result.code == 0
    assert len(result.err_lines) == 1 and "read-only" in result.err_lines[0] and str(folder) in result.err_lines[0]
    assert str(images[0].resolve()) in result.out or "Indexed 1 image" in result.out


def test_the_window_refuses_to_start_a_run_it_could_not_save(home, make_window, qtbot, fake_engine):
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    home.pictures.parent.mkdir(parents=True)
    home.pictures.write_text("a file where the gallery folder should be")
    window = make_window()
    install_gallery(window)
    window.prompt_editor.set_prompt(PROMPT, "", (2,))
    window._set_model_source("fake-model")
    window.generate()
    assert window.banner.kind == "error" and "Gallery folder" in window.banner.message()
    assert "not a folder" in window.banner.message() and "Folder…" in window.banner.message()
    assert not window.worker.busy and fake_engine.runs == []
    window.gallery.gallery.set_autosave(False)  # the artist chooses not to save: the run may go
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        window.generate()


def test_the_window_saves_to_the_fallback_when_the_folder_fails_mid_run(home, make_window, qtbot):
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    window = make_window()
    integration = install_gallery(window)
    integration.gallery.background.wait()
    shutil.rmtree(home.pictures, ignore_errors=True)
    home.pictures.parent.mkdir(parents=True, exist_ok=True)
    home.pictures.write_text("")  # the folder went away during the run
    window.image_ready.emit(result_of(sample_request()).images[0])
    qtbot.waitUntil(lambda: len(pngs_under(fallback_dir())) == 1, timeout=15000)
    qtbot.waitUntil(lambda: "saved to" in window.banner.message(), timeout=15000)
    assert str(pngs_under(fallback_dir())[0]) in window.banner.message()


def test_the_banner_names_every_image_sent_to_the_fallback_in_a_run(home, make_window, qtbot):
    """Image 2 and image 3 both go to the fallback: the banner must not show only the last one's path."""
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    window = make_window()
    integration = install_gallery(window)
    integration.gallery.background.wait()
    shutil.rmtree(home.pictures, ignore_errors=True)
    home.pictures.parent.mkdir(parents=True, exist_ok=True)
    home.pictures.write_text("")  # the folder went away during the run
    for item in result_of(sample_request(num_images=2)).images:
        window.image_ready.emit(item)
    qtbot.waitUntil(lambda: len(pngs_under(fallback_dir())) == 2, timeout=15000)
    integration.gallery.background.wait()
    qtbot.waitUntil(lambda: "2 images" in window.banner.message(), timeout=15000)
    message = window.banner.message()
    assert str(fallback_dir()) in message and str(home.pictures) in message
    assert all(p.name in message for p in pngs_under(fallback_dir())), message
