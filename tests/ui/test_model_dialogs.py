"""The model dialogs on their own: device/memory options, SD 2.x family question, cache picker, download, first run."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from aae_desktop.engine.models.loading import LoadOptions
from tests.engine.test_models_download import REPO, FakeHub, repo_files, sdxl_repo_files
from tests.engine.test_models_hf_cache import SD1_UNET, SD2_UNET, add_repo, sd_files


def test_options_dialog_warns_on_cpu_and_round_trips(qtbot):
    from aae_desktop.ui.models.model_options_dialog import CPU_WARNING, ModelOptionsDialog

    no_gpu = {"auto": True, "cuda": False, "mps": False, "cpu": True}
    dialog = ModelOptionsDialog(LoadOptions(device="cuda", precision="fp16", vae_tiling=True, family="sd2v"),
                                available=no_gpu)
    qtbot.addWidget(dialog)
    dialog.show()
    # CUDA is not available here, so the saved choice falls back to automatic (= CPU) and the warning shows.
    assert dialog.device_combo.currentData() == "auto"
    assert dialog.cpu_warning.isVisible() and dialog.cpu_warning.text() == CPU_WARNING
    assert not dialog.cpu_offload.isEnabled()
    cuda_item = dialog.device_combo.model().item(dialog.device_combo.findData("cuda"))
    assert not cuda_item.isEnabled()
    dialog.attention_slicing.setChecked(True)
    options = dialog.options()
    assert (options.device, options.precision, options.attention_slicing, options.vae_tiling) == (
        "auto", "fp16", True, True)
    assert options.family == "sd2v"  # not this dialog's business: kept as it was
    # fp16 on the CPU: the dialog says it will run as fp32.
    assert dialog.device_note.isVisible() and "fp32" in dialog.device_note.text()

    gpu = dict(no_gpu, cuda=True)
    dialog2 = ModelOptionsDialog(LoadOptions(device="auto"), available=gpu)
    qtbot.addWidget(dialog2)
    dialog2.show()
    assert not dialog2.cpu_warning.isVisible() and dialog2.cpu_offload.isEnabled()
    dialog2.device_combo.setCurrentIndex(dialog2.device_combo.findData("cpu"))
    assert dialog2.cpu_warning.isVisible()


def test_options_dialog_offers_offload_only_for_cuda_and_no_vae_slicing(qtbot):
    from aae_desktop.ui.models.model_options_dialog import ModelOptionsDialog

    mac = {"auto": True, "cuda": False, "mps": True, "cpu": True}
    dialog = ModelOptionsDialog(LoadOptions(device="auto", precision="bf16", cpu_offload=True), available=mac)
    qtbot.addWidget(dialog)
    dialog.show()
    # Unified memory: offload would free nothing, so it is off and says why; attention slicing is offered.
    assert not dialog.cpu_offload.isEnabled() and "Apple GPU" in dialog.cpu_offload.toolTip()
    assert not dialog.options().cpu_offload
    assert dialog.attention_slicing.isEnabled() and "Macs" in dialog.attention_slicing.toolTip()
    assert "macOS 14" in dialog.device_note.text()
    assert not hasattr(dialog, "vae_slicing")  # splits a batch; images are decoded one at a time
    assert "large" in dialog.vae_tiling.text()


def test_family_dialog(qtbot):
    from aae_desktop.ui.models.model_family_dialog import FamilyDialog

    dialog = FamilyDialog("/models/mystery.safetensors")
    qtbot.addWidget(dialog)
    assert dialog.family() == "sd2"
    dialog.v_button.setChecked(True)
    assert dialog.family() == "sd2v"


def test_cache_picker_lists_and_chooses(qtbot, tmp_path):
    from aae_desktop.ui.models.model_cache_dialog import CachePickerDialog

    cache = tmp_path / "hub"
    add_repo(cache, "CompVis/stable-diffusion-v1-4", sd_files(SD1_UNET))
    add_repo(cache, "someone/partial", sd_files(SD2_UNET, weights=("vae",)), commit="b" * 40)
    dialog = CachePickerDialog(cache_dir=str(cache))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.scanned, timeout=10000) as scanned:
        dialog.show()
    assert scanned.args == [2]
    rows = {dialog.tree.topLevelItem(i).text(0): dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())}
    assert rows["CompVis/stable-diffusion-v1-4"].text(1) == "SD 1.x"
    assert "incomplete" in rows["someone/partial"].text(3)
    assert not rows["someone/partial"].flags() & rows["someone/partial"].flags().ItemIsEnabled
    with qtbot.waitSignal(dialog.chosen, timeout=2000) as chosen:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Open).click()
    assert chosen.args == ["CompVis/stable-diffusion-v1-4"]


def test_cache_picker_empty(qtbot, tmp_path):
    from aae_desktop.ui.models.model_cache_dialog import CachePickerDialog

    dialog = CachePickerDialog(cache_dir=str(tmp_path / "none"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.scanned, timeout=10000):
        dialog.show()
    assert "No Stable Diffusion" in dialog.status.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Open).isEnabled()


@pytest.fixture
def hub():
    server = FakeHub(repo_files())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    for gate in server.gates.values():
        gate.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _download_dialog(qtbot, tmp_path, hub):
    from aae_desktop.ui.models.model_download_dialog import DownloadDialog

    dialog = DownloadDialog(cache_dir=str(tmp_path / "hub"), endpoint=hub.endpoint)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.repo_combo.setEditText(REPO)
    with qtbot.waitSignal(dialog.planned, timeout=10000) as planned:
        dialog.check_button.click()
    return dialog, planned.args[0]


def test_download_dialog_shows_size_then_downloads(qtbot, tmp_path, hub):
    dialog, plan = _download_dialog(qtbot, tmp_path, hub)
    assert plan.repo_id == REPO and plan.remaining_bytes > 0
    assert dialog.size_label.text().startswith(f"{plan.remaining_bytes / 1024:.1f} KB to download")
    assert dialog.download_button.isEnabled()
    with qtbot.waitSignal(dialog.downloaded, timeout=20000) as done:
        dialog.download_button.click()
    assert done.args == [REPO]
    assert dialog.progress.value() == 1000
    snapshot = tmp_path / "hub" / "models--tester--tiny-sd" / "snapshots"
    assert any(snapshot.rglob("diffusion_pytorch_model.safetensors"))


def test_download_dialog_offers_sdxl_and_shows_its_size_first(qtbot, tmp_path, hub):
    from aae_desktop.ui.models.model_download_dialog import DownloadDialog

    dialog = DownloadDialog(cache_dir=str(tmp_path / "hub"), endpoint=hub.endpoint)
    qtbot.addWidget(dialog)
    offered = [dialog.repo_combo.itemText(i) for i in range(dialog.repo_combo.count())]
    assert "stabilityai/stable-diffusion-xl-base-1.0" in offered
    hub.files = sdxl_repo_files()
    dialog.repo_combo.setEditText(REPO)
    with qtbot.waitSignal(dialog.planned, timeout=10000) as planned:
        dialog.check_button.click()
    plan = planned.args[0]
    assert "text_encoder_2/model.safetensors" in {f.filename for f in plan.files}
    assert dialog.size_label.text().startswith(f"{plan.remaining_bytes / 1024:.1f} KB to download")
    assert not [entry for entry in hub.log if entry[0] == "GET"]


def test_download_dialog_cancel_keeps_the_app_responsive(qtbot, tmp_path, hub):
    dialog, plan = _download_dialog(qtbot, tmp_path, hub)
    gate = hub.gates["unet/diffusion_pytorch_model.safetensors"] = threading.Event()
    dialog.download_button.click()
    assert dialog.cancel_button.text() == "Cancel"
    qtbot.waitUntil(lambda: any(name.startswith("unet/diffusion") for _, name, _ in hub.log), timeout=10000)
    with qtbot.waitSignal(dialog.finished_state, timeout=20000) as finished:
        dialog.cancel_button.click()  # the UI thread is free while the download waits on the network
        gate.set()
    assert finished.args == ["cancelled"]
    assert "Cancelled" in dialog.size_label.text()
    assert not dialog.download_button.isEnabled()  # sizes changed: check again first
    assert dialog.isVisible()


def test_download_dialog_reports_unknown_repo(qtbot, tmp_path, hub):
    from aae_desktop.ui.models.model_download_dialog import DownloadDialog

    dialog = DownloadDialog(cache_dir=str(tmp_path / "hub"), endpoint=hub.endpoint)
    qtbot.addWidget(dialog)
    dialog.repo_combo.setEditText("nobody/nothing")
    with qtbot.waitSignal(dialog.planned, timeout=10000):
        dialog.check_button.click()
    assert "not found" in dialog.size_label.text()
    assert not dialog.download_button.isEnabled()


def test_first_run_dialog_offers_the_choices(qtbot, tmp_path):
    from aae_desktop.ui.models.model_dialog import FirstRunDialog

    empty = FirstRunDialog(cache_dir=str(tmp_path / "none"))
    qtbot.addWidget(empty)
    with qtbot.waitSignal(empty.cache_scanned, timeout=10000):
        empty.show()
    assert not empty.cache_button.isEnabled() and "None found" in empty.cache_note.text()

    cache = tmp_path / "hub"
    add_repo(cache, "CompVis/stable-diffusion-v1-4", sd_files(SD1_UNET))
    dialog = FirstRunDialog(cache_dir=str(cache))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.cache_scanned, timeout=10000):
        dialog.show()
    assert dialog.cache_button.isEnabled() and "CompVis/stable-diffusion-v1-4" in dialog.cache_note.text()
    dialog.pick_folder = lambda parent: ""  # the user closed the picker: nothing happens
    dialog.folder_button.click()
    assert dialog.isVisible()
    dialog.pick_checkpoint = lambda parent: "/models/dreamy.safetensors"
    with qtbot.waitSignal(dialog.source_chosen, timeout=2000) as chosen:
        dialog.file_button.click()
    assert chosen.args == ["/models/dreamy.safetensors"] and not dialog.isVisible()


def test_first_run_dialog_says_what_is_supported(qtbot, tmp_path):
    from aae_desktop.ui.models.model_dialog import FirstRunDialog

    dialog = FirstRunDialog(cache_dir=str(tmp_path / "none"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.cache_scanned, timeout=10000):
        dialog.show()
    intro = dialog.findChild(type(dialog.cache_note), "firstRunIntro").text()
    assert "1.x or 2.x model" not in intro
    assert "Stable Diffusion 1.x, 2.x and SDXL text-to-image models" in intro
    assert "SDXL refiners" in intro and "LoRAs" in intro  # what is not a model it can run
    assert "SDXL" in dialog.file_button.toolTip() and "SDXL" in dialog.download_button.toolTip()


def test_cache_picker_lists_sdxl_and_greys_what_it_cannot_run(qtbot, tmp_path):
    from aae_desktop.ui.models.model_cache_dialog import CachePickerDialog

    from tests.engine.test_models_unsupported_folders import pipeline_files

    cache = tmp_path / "hub"
    add_repo(cache, "stabilityai/stable-diffusion-xl-refiner-1.0",
             pipeline_files("StableDiffusionXLImg2ImgPipeline", requires_aesthetics_score=True), commit="2" * 40)
    add_repo(cache, "stabilityai/stable-diffusion-xl-base-1.0", pipeline_files("StableDiffusionXLPipeline"))
    dialog = CachePickerDialog(cache_dir=str(cache))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.scanned, timeout=10000) as scanned:
        dialog.show()
    assert scanned.args == [1]
    rows = [dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())]
    assert [r.text(0) for r in rows] == ["stabilityai/stable-diffusion-xl-base-1.0",
                                         "stabilityai/stable-diffusion-xl-refiner-1.0"]
    base, refiner = rows
    assert (base.text(1), base.text(3)) == ("SDXL", "ready")
    assert refiner.text(3) == "not supported: an SDXL refiner"
    assert refiner.toolTip(3).endswith("this app runs complete Stable Diffusion 1.x, 2.x and SDXL text-to-image models.")
    assert not refiner.flags() & refiner.flags().ItemIsEnabled
    assert dialog.tree.currentItem() is base
    assert dialog.status.text().startswith("1 Stable Diffusion model(s) in")


@pytest.mark.parametrize("device, variant", [("cuda", "fp16"), ("cpu", None), ("mps", None)])
def test_download_dialog_recommends_fp16_weights_for_a_cuda_gpu(qtbot, tmp_path, hub, device, variant):
    from aae_desktop.ui.models.model_download_dialog import DownloadDialog

    dialog = DownloadDialog(cache_dir=str(tmp_path / "hub"), endpoint=hub.endpoint, device=device)
    qtbot.addWidget(dialog)
    assert dialog.variant_combo.currentData() == variant
    assert "recommended" in dialog.variant_combo.currentText()
    dialog.repo_combo.setEditText(REPO)
    with qtbot.waitSignal(dialog.planned, timeout=10000) as planned:
        dialog.check_button.click()
    plan = planned.args[0]
    weights = [f.filename for f in plan.files if f.filename.endswith(".safetensors")]
    assert all((".fp16." in name) is (variant == "fp16") for name in weights) and len(weights) == 3
    assert dialog.size_label.text().startswith(f"{plan.remaining_bytes / 1024:.1f} KB to download")
