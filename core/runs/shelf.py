"""Keyed folders kept in the run store for reuse: what the libraries of pretrained autoencoders and of
backbone features share.

Each entry is ``<directory>/<key>/`` with ``info.json`` (what it is, when it was last used, how often)
and the files its library writes. An entry is written to a temporary folder and renamed into place, so a
killed writer never leaves a half-written one and two processes keeping the same key keep the first.
Past the shelf's size limit the least recently used entries are deleted. A store that cannot be written
still reads what it has and simply keeps nothing new.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.home import folder_size
from core.runs.records import utc_now

INFO = "info.json"
KEY_CHARACTERS = set("0123456789abcdef")


@dataclass
class ShelfEntry:
    """One kept entry: its key, what it is (`info`) and its size on disk."""

    key: str
    info: dict = field(default_factory=dict)
    size_bytes: int = 0

    @property
    def history(self) -> list:
        return list(self.info.get("history", []))

    def describe(self) -> str:
        """What it is, as the Runs page lists it: "convolutional, latent 10, 75 epochs, on digits (1,797
        images)" for an autoencoder, "DINOv2 ViT-S/14 features, on pets (300 images)" for features."""
        info = self.info
        where = f", on {info['dataset']}" if info.get("dataset") else ""
        count = f" ({info['n_samples']:,} images)" if info.get("n_samples") else ""
        if "backbone" in info:
            return f"{info['backbone']} features{where}{count}"
        return (f"{info.get('architecture', '?')}, latent {info.get('latent_dim', '?')}, "
                f"{info.get('epochs', '?')} epochs{where}{count}")


class Shelf:
    """Entries kept under `directory`, at most `max_bytes` in all (the least recently used go first)."""

    def __init__(self, directory: os.PathLike, max_bytes: Callable[[], int], what: str = "kept entry"):
        self.directory = Path(directory)
        self.max_bytes = max_bytes  # read when evicting, so that a module's limit can be changed
        self.what = what            # what an entry is, as messages name it

    def folder(self, key: str) -> Path:
        if not key or set(key) - KEY_CHARACTERS:
            raise ValueError(f"not a {self.what}'s key: {key!r}.")
        return self.directory / key

    def read(self, key: str, reader: Callable[[Path], object]):
        """(`reader(folder)`, info) of the entry kept under `key`, recorded as used once more; None when
        there is none, or it cannot be read (then it is deleted, and the caller computes it again)."""
        folder = self.folder(key)
        if not folder.is_dir():
            return None
        try:
            info = json.loads((folder / INFO).read_text())
            value = reader(folder)
        except Exception:  # damaged (a truncated file) or not what the reader expects: made again and kept anew
            shutil.rmtree(folder, ignore_errors=True)
            return None
        try:
            info["last_used"], info["used_at"] = utc_now(), time.time()
            info["uses"] = int(info.get("uses", 0)) + 1
            (folder / INFO).write_text(json.dumps(info))
        except OSError:  # a read-only store still reads
            pass
        return value, info

    def keep(self, key: str, writer: Callable[[Path], None], info: dict) -> bool:
        """Write a new entry under `key` (`writer(folder)` writes its files) with `info`. Returns whether it
        was kept (False on a read-only store, or when another process kept it first)."""
        folder = self.folder(key)
        if folder.exists():
            return False
        partial = self.directory / f".partial-{key}-{socket.gethostname()}-{os.getpid()}"
        try:
            partial.mkdir(parents=True, exist_ok=True)
            writer(partial)
            now = utc_now()
            (partial / INFO).write_text(json.dumps({**info, "created": now, "last_used": now,
                                                    "used_at": time.time(), "uses": 0}, default=str))
            partial.rename(folder)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
            return False
        self.evict(keep=key)
        return True

    def evict(self, keep: str) -> None:
        """Delete the least recently used entries (never `keep`) while all of them take more than the limit."""
        total, limit = 0, self.max_bytes()
        for entry in self.entries():  # most recently used first
            total += entry.size_bytes
            if total > limit and entry.key != keep:
                shutil.rmtree(self.directory / entry.key, ignore_errors=True)

    def entries(self) -> list[ShelfEntry]:
        """Every entry, the most recently used first (damaged ones listed with what could be read, so that
        they can be removed)."""
        if not self.directory.is_dir():
            return []
        found = []
        for folder in self.directory.iterdir():
            if not folder.is_dir() or folder.name.startswith(".") or set(folder.name) - KEY_CHARACTERS:
                continue
            try:
                info = json.loads((folder / INFO).read_text())
            except (OSError, ValueError):
                info = {"damaged": True}
            found.append(ShelfEntry(folder.name, info, folder_size(folder)))
        return sorted(found, key=lambda e: float(e.info.get("used_at", 0.0)), reverse=True)

    def total_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self.entries())

    def remove(self, key: str) -> None:
        folder = self.folder(key)
        if not folder.is_dir():
            raise KeyError(f"no {self.what} {key}.")
        shutil.rmtree(folder)

    def clear(self) -> int:
        """Delete every entry; returns how many."""
        entries = self.entries()
        for entry in entries:
            shutil.rmtree(self.directory / entry.key, ignore_errors=True)
        return len(entries)
