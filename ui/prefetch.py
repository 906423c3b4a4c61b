"""Have the browser load Streamlit's Plotly chart code before a page needs it.

Streamlit loads each kind of element's code the first time a page shows one. Plotly's is 4.7 MB of
JavaScript: parsing it made the first chart of a browser session (the first visit to Explore after a
classical run, whose Train page shows no loss curve) take 1.5-2 s instead of 0.3-0.5 s. Before a chart
is needed, a dynamic ``import()`` of that same file has it fetched, compiled and run in the background
(a ``modulepreload`` link only fetches and compiles: 1.1 s was left); the first chart then finds the
module loaded, since a module is loaded once per URL. Nothing is shown.

It waits 6 s after the first page is drawn, then for the browser to be idle: run 1.5 s after the
first paint it held the browser's main thread while a person was still moving the first sliders, and
a browser test once lost a slider's last value to the page switch that followed.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

import streamlit as st

PREFETCH_DELAY_MS = 6000  # after the first page is drawn: a person's first clicks and slider moves come first
IDLE_TIMEOUT_MS = 2000  # then the import waits for the browser to be idle (no input, nothing to draw), at most this


@lru_cache(maxsize=1)
def plotly_chunk() -> Optional[str]:
    """The file name of Streamlit's Plotly chart chunk (hashed per Streamlit release), or None."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(folder.glob("PlotlyChart.*.js"))
    return found[0].name if found else None


def prefetch_chart_code() -> None:
    """Import, once per browser tab, Streamlit's Plotly chunk in the background (our own constant
    script: no user input reaches it)."""
    name = plotly_chunk()
    if name is None or not name.replace(".", "").replace("_", "").replace("-", "").isalnum():
        return
    st.html(f"""<script>
if (!window.dcChartCodeAsked) {{
  window.dcChartCodeAsked = true;
  var load = function () {{
    import(new URL("./static/js/{name}", document.baseURI).href).catch(function () {{}});
  }};
  setTimeout(function () {{
    if (window.requestIdleCallback) {{ window.requestIdleCallback(load, {{timeout: {IDLE_TIMEOUT_MS}}}); }}
    else {{ load(); }}
  }}, {PREFETCH_DELAY_MS});
}}
</script>""", unsafe_allow_javascript=True)
