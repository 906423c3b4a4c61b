"""Start the dashboard: ``python -m ui.serve [streamlit options]`` is ``streamlit run app.py [options]``
with two differences, both made in a background thread while the server starts so that a browser's
first visit does not wait for them: the training process is started (it imports TensorFlow), and the
modules the first page needs (scikit-learn, pandas, Plotly and the app's own, about a second of
imports on 2 cores) are imported. ``bash scripts/run_app.sh`` runs this.

app.py calls :func:`wait_for_preload` before its own imports, so a module is never imported by two
threads at once; under a plain ``streamlit run app.py`` nothing was started and it returns at once.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
PRELOAD = ("core", "core.runs", "core.algorithms", "core.viz.figures", "core.viz.images", "plotly.graph_objects",
           "pandas", "ui.cache", "ui.config_form", "ui.sidebar", "ui.state", "ui.access", "ui.progress", "ui.runs")
_preloading: threading.Thread | None = None


def _preload() -> None:
    import importlib

    try:
        from core.runs import default_store_dir
        from ui.worker import prestart

        prestart(default_store_dir())  # the training process imports TensorFlow while nobody waits yet
        for name in PRELOAD:
            importlib.import_module(name)
    except Exception:  # a page does the same again and shows any error where it belongs
        return


def start_preload() -> None:
    global _preloading
    if _preloading is None:
        _preloading = threading.Thread(target=_preload, name="preload-app-modules", daemon=True)
        _preloading.start()


def wait_for_preload() -> None:
    """Block until the background imports are done (at once when none were started)."""
    if _preloading is not None:
        _preloading.join()


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    # app.py routes with st.navigation: say so before the first visit, which may be a page's URL (a
    # bookmark); else Streamlit would guess the old pages/-folder mode from the folder's name (see ui/__init__).
    PagesManager.uses_pages_directory = False
    sys.modules.setdefault("ui.serve", sys.modules[__name__])  # run as __main__: app.py must find this thread
    start_preload()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
