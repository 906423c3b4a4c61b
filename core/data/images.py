"""Pure image helpers beside the data: float images in [0, 1] as displayable uint8 pictures and montages
(used by the dataset library's thumbnails and by every view)."""
from __future__ import annotations

import numpy as np


def shape_text(shape) -> str:
    """An image shape (H, W[, C]) in words: "28x28 grayscale", "32x32 colour", "28x28 2-channel"."""
    h, w, c = (tuple(int(v) for v in shape) + (1,))[:3]
    kind = {1: "grayscale", 3: "colour"}.get(c, f"{c}-channel")
    return f"{h}x{w} {kind}"


def to_uint8(image: np.ndarray, size: int = 96) -> np.ndarray:
    """`image` (H, W, C) in [0, 1] as uint8, enlarged by whole pixels (nearest neighbour) to about `size`.

    Single-channel images come back as (H', W') so viewers render them in grey.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    factor = max(1, int(round(size / max(image.shape[:2]))))
    enlarged = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    return (np.clip(enlarged, 0, 1) * 255).round().astype(np.uint8)


def image_grid(images: np.ndarray, n_cols: int = 10, size: int = 48, gap: int = 2) -> np.ndarray:
    """A montage of `images` (N, H, W, C) in rows of `n_cols`, each enlarged to about `size` pixels."""
    tiles = [to_uint8(img, size) for img in images]
    if not tiles:
        raise ValueError("no images to show.")
    tile_h, tile_w = tiles[0].shape[:2]
    n_rows = int(np.ceil(len(tiles) / n_cols))
    cols = min(n_cols, len(tiles))
    shape = (n_rows * (tile_h + gap) - gap, cols * (tile_w + gap) - gap) + tiles[0].shape[2:]
    grid = np.full(shape, 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, n_cols)
        grid[r * (tile_h + gap):r * (tile_h + gap) + tile_h, c * (tile_w + gap):c * (tile_w + gap) + tile_w] = tile
    return grid


def colour_images(images, network: str) -> np.ndarray:
    """Images (N, H, W, C) in [0, 1] as a pretrained image network takes them: float32, three channels
    (grey repeated, a fourth dropped), values clipped to [0, 1] by a rule that does not depend on the batch.
    ValueError, naming `network`, for data that are not images (a table, or images under 4x4 pixels)."""
    X = np.asarray(images, dtype=np.float32)
    if X.ndim == 3:
        X = X[..., np.newaxis]
    if X.ndim != 4 or min(X.shape[1], X.shape[2]) < 4:
        raise ValueError(f"{network} needs images (at least 4x4 pixels); this data is not images: cluster it "
                         "in its own features or an autoencoder's embedding instead.")
    if X.shape[-1] == 1:
        X = np.repeat(X, 3, axis=-1)
    return np.clip(X[..., :3], 0.0, 1.0)
