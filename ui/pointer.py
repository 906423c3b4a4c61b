"""Point at Explore's projection and see the image; click a point to open it.

Streamlit reports neither hover nor click for Plotly charts, so a small components-v2 component (no build
step: plain JavaScript in ui/components/, shipped with the app) finds the chart by its ``layout.meta`` and
listens to Plotly's own events. A click sends the point's row back, and `on_open` runs with it.

The hover picture is drawn in the browser from atlases of thumbnails, `CHUNK` images each, that the page
keeps once it has them (no round trip per hover). They travel through a second, tiny component in a
fragment of its own (`thumbnail_feed`): the browser asks for atlases one at a time, and only that fragment
reruns to send one, never the chart. Up to `PREFETCH` images it asks for every atlas in turn as soon as
the page opens (70,000 handwritten digits are 69 atlases of about 270 KB, 18 MB in all), and first for
the atlas of a point pointed at before its atlas came, whose text shows until then; past `PREFETCH` images
it asks only for what is pointed at, and keeps the last ones.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from core.viz.images import thumbnail_atlas

_JS = (Path(__file__).parent / "components" / "projection_pointer.js").read_text(encoding="utf-8")
_POINTER = st.components.v2.component("deep_clustering.projection_pointer", js=_JS)
HOVER_SIZE = 112     # px: the hover picture's longer side
MAX_TILE = 32        # px: the longest side of a thumbnail in an atlas (a hover picture needs no more)
CHUNK = 1024         # images per atlas: 32 x 32 thumbnails
PREFETCH = 80_000    # up to this many images every atlas is fetched, one after another, once the page opens


def _tile(shape) -> tuple[int, int]:
    """The thumbnail's (height, width) for images of `shape` (N, H, W, C): as `thumbnail_atlas` makes it."""
    h, w = shape[1:3]
    scale = min(1.0, MAX_TILE / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


@st.cache_data(max_entries=256, show_spinner=False)
def _atlas(images_key, chunk: int, _images: np.ndarray) -> tuple[str, int]:
    """Atlas `chunk` of `_images` (CHUNK images from chunk * CHUNK), kept by (`images_key`, `chunk`): hashing
    the images at every request would cost more than drawing them."""
    uri, columns, _ = thumbnail_atlas(_images[chunk * CHUNK:(chunk + 1) * CHUNK], max_tile=MAX_TILE)
    return uri, columns


def projection_pointer(meta: str, images, n_traces: int, on_open: Callable[[int], None], key: str,
                       images_key) -> None:
    """Hover pictures and click-to-open on the Plotly chart whose ``layout.meta`` is `meta`; `images` are the
    run's images in row order (None for a table: clicks still open rows); only the first `n_traces` traces
    are the run's points; `images_key` names the images (the same key, the same images). The pictures come
    from `thumbnail_feed`, which the page calls outside the chart's fragment."""
    n = 0 if images is None else len(images)
    tile = _tile(images.shape) if n else (1, 1)

    def opened() -> None:
        state = st.session_state.get(key)
        row = state.get("opened") if isinstance(state, dict) else getattr(state, "opened", None)
        if row is not None:
            on_open(int(row))

    _POINTER(key=key, data={"role": "pointer", "meta": meta, "images": str(images_key), "n": n,
                            "chunk": CHUNK, "tile": list(tile), "size": HOVER_SIZE, "traces": n_traces,
                            "prefetch": PREFETCH}, on_opened_change=opened)


@st.fragment
def thumbnail_feed(images, images_key, key: str) -> None:
    """The hover pictures' atlases, one at a time as the browser asks for them (its trigger "want" is an
    atlas's number). A fragment of its own, so a request reruns only this, not the chart."""
    state = st.session_state.get(key)
    want = state.get("want") if isinstance(state, dict) else getattr(state, "want", None)
    payload = {"role": "feed", "images": str(images_key)}
    n = 0 if images is None else len(images)
    if want is not None and 0 <= int(want) < -(-n // CHUNK):
        uri, columns = _atlas(images_key, int(want), images)
        payload.update(number=int(want), atlas=uri, columns=columns)
    _POINTER(key=key, data=payload, on_want_change=lambda: None)
