"""Building the files a fault probe plants: PNGs with any text chunks, results, gallery images."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aae_desktop.engine.events import GenerationResult, ImageResult
from aae_desktop.engine.request import ExciteSettings, GenerationRequest


def sample_request(**changes) -> GenerationRequest:
    base = GenerationRequest(model="tiny-random", prompt="a cat and a frog", seed=6141, steps=12, width=64,
                             height=64, excite=ExciteSettings(token_indices=(2, 5), max_iter_to_alter=6))
    return base.replace(**changes)


def result_of(request: GenerationRequest, n: int | None = None) -> GenerationResult:
    n = request.num_images if n is None else n
    images = [ImageResult(Image.new("RGB", (request.width, request.height), (40 * i % 256, 90, 160)),
                          request.seed + i, request.for_image(i)) for i in range(n)]
    return GenerationResult(request, images, elapsed=1.0, device="cpu")


def png_with_chunks(path: Path, chunks: dict[str, str], size: tuple[int, int] = (16, 16)) -> Path:
    """A valid PNG carrying exactly these text chunks (iTXt, so any text fits)."""
    info = PngInfo()
    for key, value in chunks.items():
        info.add_itxt(key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 30, 30)).save(path, pnginfo=info)
    return path


def gallery_images(root: Path, count: int = 2) -> list[Path]:
    """`count` images saved the app's way into the gallery folder `root` (index: the default one)."""
    from aae_desktop.gallery.store import GalleryStore

    store = GalleryStore(root)
    result = result_of(sample_request(num_images=count))
    return [saved.path for saved in store.save_result(result, when=datetime(2026, 5, 6, 7, 8, 9))]
