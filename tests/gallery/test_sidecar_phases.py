"""The sidecar keeps each loss record's phase, binding's and the boxes' too (they read as 'exciting'
before, so the loss curve of a bound or boxed image said it was excited)."""
from __future__ import annotations

import numpy as np

from aae_desktop.engine.events import LossRecord
from aae_desktop.gallery.sidecar import AttentionData, load_attention, save_attention


def test_every_objective_phase_survives_the_sidecar(tmp_path):
    image = tmp_path / "image.png"
    image.write_bytes(b"")
    history = [LossRecord(0, phase, 0.5, {}) for phase in ("exciting", "refining", "binding", "boxes")]
    save_attention(image, AttentionData({2: np.ones((4, 4), np.float32)}, history))
    assert [r.phase for r in load_attention(image).loss_history] == ["exciting", "refining", "binding", "boxes"]
