"""Seed-sweep grids as one picture: cells labelled with their seed, saved into the gallery like any image."""
from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw

from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.metadata import png_info
from aae_desktop.gallery.store import GalleryStore, day_folder, prompt_slug, write_png_atomic

LABEL_HEIGHT = 18


def grid_columns(count: int) -> int:
    """As square as possible: 4 -> 2x2, 6 -> 3x2, 9 -> 3x3."""
    return max(1, math.ceil(math.sqrt(count)))


def compose_grid(images: list[Image.Image], labels: list[str], columns: int | None = None) -> Image.Image:
    if not images:
        raise ValueError("A grid needs at least one image.")
    columns = columns or grid_columns(len(images))
    rows = math.ceil(len(images) / columns)
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    sheet = Image.new("RGB", (columns * width, rows * (height + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(zip(images, labels)):
        x, y = (i % columns) * width, (i // columns) * (height + LABEL_HEIGHT)
        sheet.paste(image.convert("RGB"), (x, y))
        draw.text((x + 4, y + height + 3), label, fill="black")
    return sheet


def save_grid(store: GalleryStore, images: list[Image.Image], request: GenerationRequest,
              when: datetime | None = None) -> Path:
    """Save the sweep grid; its `aae` chunk holds the batch request (seed, num_images=N), so
    'Use all settings' on the grid sets up the same sweep again."""
    when = when or datetime.now()
    seeds = [request.seed + i for i in range(len(images))]
    sheet = compose_grid(images, [f"seed {s}" for s in seeds])
    stem = f"{when:%H%M%S}-grid-{seeds[0]}-{seeds[-1]}-{prompt_slug(request.prompt)}"
    info = png_info(request.replace(num_images=len(images)), {"grid_seeds": seeds})
    path = write_png_atomic(sheet, day_folder(store.root, when), stem, info)
    store.index.add(path)
    return path
