"""Point at Explore's projection and see the image; click a point to open it.

Streamlit reports neither hover nor click for Plotly charts, so a small components-v2 component (no build
step: plain JavaScript in ui/components/, shipped with the app) finds the chart by its ``layout.meta`` and
listens to Plotly's own events. Hover is answered in the browser from one atlas of thumbnails sent with
the page (no round trip); a click sends the point's row back, and `on_open` runs with it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from core.viz.images import thumbnail_atlas

_JS = (Path(__file__).parent / "components" / "projection_pointer.js").read_text(encoding="utf-8")
_POINTER = st.components.v2.component("deep_clustering.projection_pointer", js=_JS)
HOVER_SIZE = 112          # px: the hover picture's longer side
MAX_ATLAS_IMAGES = 20_000  # past this the thumbnails would weigh megabytes: hover shows text only


@st.cache_data(max_entries=4, show_spinner=False)
def _atlas(key, _images: np.ndarray) -> tuple[str, int, tuple[int, int]]:
    """The atlas of `_images`, kept by `key` (hashing thousands of images at every rerun would cost more
    than the chart)."""
    return thumbnail_atlas(_images)


def projection_pointer(meta: str, images, n_traces: int, on_open: Callable[[int], None], key: str,
                       images_key) -> None:
    """Hover pictures and click-to-open on the Plotly chart whose ``layout.meta`` is `meta`; `images` are the
    run's images in row order (None for a table: clicks still open rows); only the first `n_traces` traces
    are the run's points; `images_key` names the images (the same key, the same images)."""
    if images is not None and len(images) <= MAX_ATLAS_IMAGES:
        uri, columns, tile = _atlas(images_key, images)
        n = len(images)
    else:
        uri, columns, tile, n = "", 1, (1, 1), 0

    def opened() -> None:
        state = st.session_state.get(key)
        row = state.get("opened") if isinstance(state, dict) else getattr(state, "opened", None)
        if row is not None:
            on_open(int(row))

    _POINTER(key=key, data={"meta": meta, "atlas": uri, "columns": columns, "tile": list(tile), "n": n,
                            "size": HOVER_SIZE, "traces": n_traces}, on_opened_change=opened)
