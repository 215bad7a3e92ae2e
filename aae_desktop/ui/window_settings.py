"""The main window's settings: restored at start (the last request, seed mode, model, geometry and
splitters) and saved after each run and at close. A mixin of MainWindow."""
from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import session_request_from_dict

log = logging.getLogger(__name__)


class WindowSettings:
    """Reads and writes `self.settings` through `self.store` (a SettingsStore)."""

    def _restore_settings(self) -> None:
        s = self.settings
        if self.store.load_problem:
            self.banner.show_info(self.store.load_problem)
        if s.last_request:
            try:
                self.apply_request(session_request_from_dict(s.last_request))
            except InvalidRequest as exc:
                self.banner.show_info(f"The last session's settings could not be restored: {exc}")
        self.parameters.set_seed_mode(s.seed_mode)
        if s.last_model:
            self._set_model_source(s.last_model)
        if s.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(s.window_geometry.encode()))
        else:
            self.resize(1400, 900)
        if s.window_state:
            self.restoreState(QByteArray.fromBase64(s.window_state.encode()))
        for splitter in (self.work_splitter, self.main_splitter):
            sizes = s.splitter_sizes.get(splitter.objectName())
            # A hand-edited file may hold anything here; only pixel sizes Qt can take are used.
            if (isinstance(sizes, list) and len(sizes) == splitter.count()
                    and all(type(v) is int and 0 <= v < 2**24 for v in sizes)):
                splitter.setSizes(sizes)

    def save_settings(self) -> None:
        s = self.settings
        s.last_model = self.session.model_source
        s.device, s.precision = self.session.load_options.device, self.session.load_options.precision
        s.seed_mode = self.parameters.seed_mode_key()
        try:
            s.last_request = self.current_request().to_dict()
        except InvalidRequest:
            pass  # unreadable thresholds text: keep the last good request rather than lose everything
        s.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        s.window_state = bytes(self.saveState().toBase64()).decode()
        s.splitter_sizes = {sp.objectName(): sp.sizes() for sp in (self.work_splitter, self.main_splitter)}
        try:
            self.store.save(s)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)
