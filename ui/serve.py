"""Start the dashboard: ``python -m ui.serve [streamlit options]`` is ``streamlit run app.py [options]``
with two differences, both made in a background thread while the server starts so that a browser's
first visit does not wait for them: the training process is started (it imports TensorFlow), and the
modules the first page needs (scikit-learn, pandas, Plotly and the app's own, about a second of
imports on 2 cores) are imported. ``bash scripts/run_app.sh`` runs this.

app.py calls :func:`wait_for_preload` before its own imports, so a module is never imported by two
threads at once; under a plain ``streamlit run app.py`` nothing was started and it returns at once.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
PRELOAD = ("core", "core.runs", "core.algorithms", "core.viz.figures", "core.viz.images", "plotly.graph_objects",
           "pandas", "ui.cache", "ui.config_form", "ui.sidebar", "ui.state", "ui.access", "ui.progress", "ui.runs")
_preloading: threading.Thread | None = None
SESSION_HOURS_ENV = "DEEP_CLUSTERING_SESSION_HOURS"  # how long a signed-in session lasts (default 12)
TRUSTED_PROXY_ENV = "DEEP_CLUSTERING_TRUSTED_PROXY"  # the address of the user's HTTPS proxy in front of the gate


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


def take_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """(the value of Streamlit option `name` in `args`, written ``--name value`` or ``--name=value``, or None;
    `args` without it)."""
    value, rest, i = None, [], 0
    while i < len(args):
        if args[i] == f"--{name}" and i + 1 < len(args):
            value, i = args[i + 1], i + 2
            continue
        if args[i].startswith(f"--{name}="):
            value = args[i].split("=", 1)[1]
        else:
            rest.append(args[i])
        i += 1
    return value, rest


def _free_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def behind_gate(args: list[str]) -> list[str]:
    """With a password set, start the gate (ui.gate) on the address and port `args` (or the config) ask for,
    and return Streamlit's arguments moved to a private loopback port behind it; without one, `args` as
    they are (the app then answers this computer only, or shows how to set a password)."""
    from streamlit import config

    from ui.access import configured_password, configured_viewer_password
    from ui.gate import Guard, Limits, start_gate

    password = configured_password()
    if password is None:
        return args
    address, args = take_option(args, "server.address")
    port, args = take_option(args, "server.port")
    address = address or config.get_option("server.address") or "0.0.0.0"
    port = int(port or config.get_option("server.port") or 8501)
    hours = os.environ.get(SESSION_HOURS_ENV)
    limits = Limits(session_hours=float(hours)) if hours else Limits()
    upstream = _free_loopback_port()
    start_gate(Guard(password, configured_viewer_password(), limits=limits), address, port, upstream,
               trusted_proxy=os.environ.get(TRUSTED_PROXY_ENV) or None)
    print(f"  A password is set: the gate asks for it at http://{address}:{port}, in front of the app "
          f"(which listens on 127.0.0.1:{upstream}, reachable only through the gate).", flush=True)
    return [*args, "--server.address", "127.0.0.1", "--server.port", str(upstream), "--server.headless", "true",
            "--browser.serverAddress", "localhost" if address in ("0.0.0.0", "::") else address,
            "--browser.serverPort", str(port)]  # the address Streamlit prints is the gate's


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    # app.py routes with st.navigation: say so before the first visit, which may be a page's URL (a
    # bookmark); else Streamlit would guess the old pages/-folder mode from the folder's name (see ui/__init__).
    PagesManager.uses_pages_directory = False
    sys.modules.setdefault("ui.serve", sys.modules[__name__])  # run as __main__: app.py must find this thread
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args = behind_gate(args)
    except (OSError, ValueError) as error:  # the address is taken, or the two passwords are the same
        print(f"error: the gate cannot start: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    start_preload()
    sys.argv = ["streamlit", "run", str(APP), *args]
    cli.main()


if __name__ == "__main__":
    main()
