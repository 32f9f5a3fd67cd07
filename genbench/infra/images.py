"""Images as pictures: grids of examples (PNG bytes), enlarged so that small images stay visible.

What the sample grids, latent-space figures and the memorisation metric's gallery of near copies share.
Matplotlib runs on its non-interactive Agg backend (``genbench.infra.drawing``); nothing opens a window.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np

from genbench.infra.drawing import DPI, figure_png, pyplot

MIN_GRID_PIXELS = 384
"""Small images are enlarged by a whole factor (nearest neighbour) until the grid is this wide."""


def grid_array(images: np.ndarray, nrow: int = 8, padding: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """(N, C, H, W) in [0, 1] → one (3 or C, H', W') float32 picture of them, ``nrow`` to a row, ``padding``
    pixels of ``pad_value`` between and around them; grey images become three equal channels. What
    ``torchvision.utils.make_grid`` lays out (a single image comes back alone, unpadded), without torch."""
    images = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    if len(images) == 1:
        return images[0]
    columns = min(nrow, len(images))
    rows = math.ceil(len(images) / columns)
    height, width = images.shape[2] + padding, images.shape[3] + padding
    grid = np.full((images.shape[1], height * rows + padding, width * columns + padding), pad_value, np.float32)
    for k, image in enumerate(images):
        y, x = divmod(k, columns)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = image
    return grid


def image_grid_png(images: np.ndarray, nrow: int = 8) -> bytes:
    """(N, C, H, W) in [0, 1] → PNG bytes of a grid, enlarged so that small images stay visible."""
    from PIL import Image  # defers Pillow

    grid = grid_array(images, nrow)
    scale = max(1, -(-MIN_GRID_PIXELS // grid.shape[-1]))
    array = (grid.transpose(1, 2, 0) * 255).round().astype("uint8")
    image = Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_rows_png(images: np.ndarray, columns: int, title: str, row_labels: Sequence[str] | None = None,
                   column_labels: Sequence[str] | None = None) -> bytes:
    """Images (R·columns, C, H, W) in [0, 1] as R rows of ``columns``, a label left of each row, one under
    each column and a title above, enlarged (nearest neighbour) so that small images stay visible."""
    plt = pyplot()
    grid = grid_array(images, nrow=columns)
    rows = -(-len(images) // columns)
    height, width = grid.shape[1:]
    zoom = max(2.0, MIN_GRID_PIXELS / width) / DPI  # inches per grid pixel
    fig, ax = plt.subplots(figsize=(width * zoom + 1.2, height * zoom + 0.5 + 0.2 * bool(column_labels)))
    ax.imshow(grid.transpose(1, 2, 0), interpolation="nearest")
    row_size, column_size = (height - 1) / rows, (width - 1) / columns
    ax.set_yticks([1 + row_size * (i + 0.5) for i in range(rows)] if row_labels else [])
    if row_labels:
        ax.set_yticklabels(row_labels, fontsize=7)
    ax.set_xticks([1 + column_size * (j + 0.5) for j in range(columns)] if column_labels else [])
    if column_labels:
        ax.set_xticklabels(column_labels, fontsize=7)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=8)
    return figure_png(fig)
