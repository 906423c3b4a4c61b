"""Turning float images in [0, 1] into displayable uint8 pictures."""
from __future__ import annotations

import numpy as np

from core.data.images import to_uint8


def displayable(images: np.ndarray) -> np.ndarray:
    """`images` (N, H, W, C) mapped into [0, 1] for display: as they are when already inside it
    (min-max preprocessing), otherwise each image rescaled by its own range (e.g. decoded
    standardized images)."""
    images = np.asarray(images, dtype=np.float32)
    if images.size == 0 or (images.min() >= -0.05 and images.max() <= 1.05):
        return np.clip(images, 0.0, 1.0)
    axes = tuple(range(1, images.ndim))
    low, high = images.min(axis=axes, keepdims=True), images.max(axis=axes, keepdims=True)
    return (images - low) / np.maximum(high - low, 1e-8)


def png_data_uri(image: np.ndarray) -> str:
    """`image` (H, W, C) in [0, 1] as a ``data:image/png;base64,...`` URI, at its own resolution."""
    import base64
    import io

    from PIL import Image

    with io.BytesIO() as buffer:
        Image.fromarray(to_uint8(image, size=1)).save(buffer, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_GALLERY_CSS = """<style>
.dc-gallery {{ display: grid; grid-template-columns: repeat(auto-fill, {tile}px); gap: 10px 8px;
  margin: 0 0 0.5rem 0; padding: 0; }}
.dc-gallery figure {{ margin: 0; width: {tile}px; }}
.dc-gallery img {{ display: block; width: {tile}px; height: {tile}px; object-fit: contain;
  image-rendering: pixelated; image-rendering: crisp-edges; background: #000; }}
.dc-gallery figcaption {{ font-size: 0.75rem; line-height: 1.3; color: #555; margin-top: 2px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
</style>"""


def gallery_html(images, captions=None, tile: int = 64, tooltips=None) -> str:
    """An HTML snippet showing `images` (N, H, W, C) in [0, 1] as a grid of `tile`-pixel tiles, each with a
    one-line caption (cut with an ellipsis; on hover, the full caption or its `tooltips` entry); for
    ``st.html`` and HTML reports.

    Images travel as PNG data URIs at their own resolution and are enlarged by the browser without
    smoothing; captions are HTML-escaped.
    """
    from html import escape

    captions = list(captions) if captions is not None else [""] * len(images)
    tooltips = list(tooltips) if tooltips is not None else captions
    if not len(captions) == len(tooltips) == len(images):
        raise ValueError(f"{len(images)} images but {len(captions)} captions and {len(tooltips)} tooltips.")
    tiles = []
    for image, caption, tooltip in zip(images, captions, tooltips):
        text, hover = escape(str(caption), quote=True), escape(str(tooltip), quote=True)
        tiles.append(f'<figure><img src="{png_data_uri(image)}" alt="{hover}" width="{tile}" height="{tile}">'
                     f'<figcaption title="{hover}">{text}</figcaption></figure>')
    return _GALLERY_CSS.format(tile=int(tile)) + f'<div class="dc-gallery">{"".join(tiles)}</div>'


def thumbnail_atlas(images: np.ndarray, max_tile: int = 32) -> tuple[str, int, tuple[int, int]]:
    """Every image of `images` (N, H, W, C) in [0, 1] side by side in one PNG (a sprite atlas), so a page
    can show any of them at once on hover without asking the server: (data URI, columns, (tile height,
    tile width)). Image i sits at column i % columns, row i // columns; images larger than `max_tile` are
    shrunk to fit it (a hover picture needs no more)."""
    import base64
    import io

    from PIL import Image

    images = displayable(images)
    n, h, w = images.shape[:3]
    scale = min(1.0, max_tile / max(h, w))
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    columns = max(1, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / columns))
    pictures = (images * 255).round().astype(np.uint8)  # displayable: already in [0, 1]
    mode = "L" if pictures.shape[-1] == 1 else "RGB"
    atlas = Image.new(mode, (columns * tw, rows * th))
    for i, picture in enumerate(pictures):
        tile = Image.fromarray(picture[..., 0] if mode == "L" else picture[..., :3], mode=mode)
        if (th, tw) != (h, w):
            tile = tile.resize((tw, th), Image.BILINEAR)
        atlas.paste(tile, ((i % columns) * tw, (i // columns) * th))
    with io.BytesIO() as buffer:
        atlas.save(buffer, format="PNG", optimize=False)
        uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return uri, columns, (th, tw)


_MAKEUP_CSS = """<style>
.dc-makeup { display: flex; gap: 18px; font: 13px sans-serif; color: #31333f; }
.dc-makeup section { flex: 1; min-width: 0; }
.dc-makeup h4 { font-size: 13px; font-weight: 600; margin: 0 0 4px 0; padding: 0; }
.dc-makeup .row { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.dc-makeup .name { flex: 0 0 40%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dc-makeup .bar { height: 12px; border-radius: 2px; min-width: 2px; }
.dc-makeup .n { color: #6b6f7b; font-variant-numeric: tabular-nums; }
</style>"""


def makeup_html(groups, max_rows: int = 12) -> str:
    """Small horizontal bar charts of what a selection holds, side by side, for ``st.html``: `groups` is
    [(title, [(name, count, colour)])], each list largest first; past `max_rows` the rest share one row
    ("12 more"). Plain HTML: it draws at once, where a chart would take a Plotly figure on each selection."""
    from html import escape

    sections = []
    for title, rows in groups:
        rows = list(rows)
        if len(rows) > max_rows:
            rest = rows[max_rows - 1:]
            rows = rows[:max_rows - 1] + [(f"{len(rest)} more", sum(r[1] for r in rest), "#bbb")]
        top = max((int(r[1]) for r in rows), default=1) or 1
        lines = "".join(
            f'<div class="row" title="{escape(str(name), quote=True)}: {int(count):,}">'
            f'<span class="name">{escape(str(name))}</span>'
            f'<span class="bar" style="width:{45 * int(count) / top:.1f}%;background:{escape(colour, quote=True)}"></span>'
            f'<span class="n">{int(count):,}</span></div>' for name, count, colour in rows)
        sections.append(f"<section><h4>{escape(title)}</h4>{lines}</section>")
    return _MAKEUP_CSS + f'<div class="dc-makeup">{"".join(sections)}</div>'
