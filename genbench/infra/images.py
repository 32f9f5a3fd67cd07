"""Images as pictures: grids of examples (PNG bytes), enlarged so that small images stay visible.

What the sample grids, latent-space figures and the memorisation metric's gallery of near copies share.
Matplotlib runs on its non-interactive Agg backend (``genbench.infra.drawing``); nothing opens a window.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import torch

from genbench.infra.drawing import DPI, figure_png, pyplot

MIN_GRID_PIXELS = 384
"""Small images are enlarged by a whole factor (nearest neighbour) until the grid is this wide."""


def image_grid_png(images: torch.Tensor, nrow: int = 8) -> bytes:
    """(N, C, H, W) in [0, 1] → PNG bytes of a grid, enlarged so that small images stay visible."""
    from PIL import Image
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=1, pad_value=1.0)
    scale = max(1, -(-MIN_GRID_PIXELS // grid.shape[-1]))
    array = (grid.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    image = Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_rows_png(images: torch.Tensor, columns: int, title: str, row_labels: Sequence[str] | None = None,
                   column_labels: Sequence[str] | None = None) -> bytes:
    """Images (R·columns, C, H, W) in [0, 1] as R rows of ``columns``, a label left of each row, one under
    each column and a title above, enlarged (nearest neighbour) so that small images stay visible."""
    from torchvision.utils import make_grid

    plt = pyplot()
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=columns, padding=1, pad_value=1.0)
    rows = -(-len(images) // columns)
    height, width = grid.shape[1:]
    zoom = max(2.0, MIN_GRID_PIXELS / width) / DPI  # inches per grid pixel
    fig, ax = plt.subplots(figsize=(width * zoom + 1.2, height * zoom + 0.5 + 0.2 * bool(column_labels)))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
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
