"""Where `render` puts its images, one by one as each finishes: the --out files, the gallery, and a
fallback folder when either of those fails, so a batch stopped at image 3 keeps images 1 and 2.

`--out` never replaces an existing file unless --overwrite is given: a taken name becomes
`name-2.png`, as in the gallery. Every path is printed on stdout the moment it is written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from aae_desktop.cli.progress import echo
from aae_desktop.engine.events import ImageResult


class RenderOutput:
    """The on_image callback of a CLI render: saves each image and reports where it went."""

    def __init__(self, model: Any, out_paths: list[Path], gallery: str | None, overwrite: bool = False,
                 say: Callable[[str], None] | None = None):
        from aae_desktop.gallery.store import GalleryStore

        self.model = model
        self.out_paths = out_paths
        self.overwrite = overwrite
        self.say = say or echo
        self.store = None
        if gallery is not None:
            from aae_desktop.cli.gallery import gallery_store

            self.store = gallery_store(gallery)
        self.hash = GalleryStore.model_hash(model.source)
        self.finished = 0  # images handed over by the engine
        self.written: list[Path] = []
        self.rescued: list[Path] = []  # written to the fallback folder because the place asked for failed

    def __call__(self, item: ImageResult) -> None:
        index = self.finished
        self.finished += 1
        if self.out_paths:
            self._write_out(item, self.out_paths[index])
        if self.store is not None:
            saved = self.store.save_image_result(item, hash_=self.hash)
            self._wrote(saved.path, saved.in_fallback)
            from aae_desktop.cli.gallery import print_notes

            print_notes(self.store)

    def _write_out(self, item: ImageResult, path: Path) -> None:
        from aae_desktop.gallery.metadata import bound_words, boxed_words, excited_words, png_info
        from aae_desktop.gallery.paths import fallback_dir
        from aae_desktop.gallery.png_files import write_png_atomic

        extra = {"model_name": self.model.name, "model_family": self.model.family}
        info = png_info(item.request, extra, model_name=self.model.name, model_hash=self.hash,
                        words=excited_words(item.request, self.model.pipe.tokenizer) or None,
                        scheduler_class=item.scheduler or None,
                        bind_words=bound_words(item.request, self.model.pipe.tokenizer),
                        box_words=boxed_words(item.request, self.model.pipe.tokenizer))
        try:
            written = write_png_atomic(item.image, path.parent, path.stem, info, replace=self.overwrite)
        except OSError as exc:
            written = write_png_atomic(item.image, fallback_dir(), path.stem, info)
            note(f"{path} could not be written ({exc.strerror or exc}); the image was saved to {written} instead.")
            self._wrote(written, True)
            return
        if written != path:
            note(f"{path.name} already exists; this image was saved as {written.name} (--overwrite replaces it).")
        self._wrote(written, False)

    def _wrote(self, path: Path, rescued: bool) -> None:
        self.written.append(path)
        if rescued:
            self.rescued.append(path)
        self.say(str(path))


def note(text: str) -> None:
    echo(f"aae-desktop: note: {text}", err=True)
