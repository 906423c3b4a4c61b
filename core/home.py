"""Where this app keeps what it saves: the run store's folder, which holds runs, saved datasets and
pretrained autoencoders. A bottom module, so that every layer can find the folder without importing
the store."""
from __future__ import annotations

import os
import sys
from pathlib import Path

STORE_ENV = "DEEP_CLUSTERING_HOME"
APP_DIR_NAME = "deep-clustering-explorer"


def default_store_dir() -> Path:
    """`$DEEP_CLUSTERING_HOME` when set, else this app's folder in the user's data directory."""
    override = os.environ.get(STORE_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_DIR_NAME


def folder_size(folder) -> int:
    """Bytes of the files under `folder` (0 when it is missing)."""
    total = 0
    for path in Path(folder).rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            pass
    return total
