"""What opening a store repairs: runs left "running" by a process that is gone are marked interrupted,
stale partial artifact folders are removed, and new runs are numbered after every run folder on disk
(so a replaced or emptied database never overwrites a run's files)."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from core.runs.database import Database
from core.runs.liveness import STALE_SECONDS, partial_owner, pid_alive, process_token, safe_host
from core.runs.records import utc_now
from core.runs.status import INTERRUPTED, RUNNING

INTERRUPTED_MESSAGE = ("The process running it stopped before the run finished (the server or command was "
                       "stopped or killed).")


def still_running(row, host: str, now: datetime) -> bool:
    """Whether the running run in record `row` still has a live process, seen from machine `host`.

    On this host, it does while its process id is alive and still the same process (its start token
    matches: pid 1 in a new container is not the old one). From any host, a run not touched for
    STALE_SECONDS is gone (its machine was switched off, or its host name changed)."""
    last = row["heartbeat"] or row["started_at"]
    try:
        silent = (now - datetime.fromisoformat(last)).total_seconds()
    except (TypeError, ValueError):
        silent = float("inf")
    if row["host"] != host:
        return silent < STALE_SECONDS
    if not pid_alive(row["pid"]):
        return False
    token = process_token(row["pid"])
    if row["process_token"] and token:
        return token == row["process_token"]
    return silent < STALE_SECONDS  # no token to compare: the heartbeat decides


def recover(database: Database, artifacts_root: Path, host: str) -> int:
    """Mark as interrupted the running runs whose process is gone, and drop `host`'s stale partial
    artifact folders. Returns the number of runs marked."""
    now = datetime.now(timezone.utc)
    with database.connect() as db:
        rows = db.execute("SELECT id, host, pid, process_token, heartbeat, started_at FROM runs WHERE status = ?",
                          (RUNNING,)).fetchall()
        dead = [row["id"] for row in rows if not still_running(row, host, now)]
        for run_id in dead:
            db.execute("UPDATE runs SET status = ?, message = ?, ended_at = COALESCE(ended_at, ?) "
                       "WHERE id = ? AND status = ?", (INTERRUPTED, INTERRUPTED_MESSAGE, utc_now(), run_id, RUNNING))
    for partial in artifacts_root.glob(".partial-*"):
        owner, pid = partial_owner(partial.name)
        if pid > 0 and owner in (None, safe_host(host)) and not pid_alive(pid):  # an unknown owner: left alone
            shutil.rmtree(partial, ignore_errors=True)
    return len(dead)


def number_after_folders(database: Database, artifacts_root: Path) -> list[int]:
    """Make the next run id larger than every run folder; returns the folders without a record."""
    try:
        folders = {int(p.name) for p in artifacts_root.iterdir() if p.name.isdigit() and p.is_dir()}
    except OSError:
        return []
    if not folders:
        return []
    with database.connect() as db:
        known = {row[0] for row in db.execute("SELECT id FROM runs")}
        highest = max(folders)
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
        if row is None:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('runs', ?)", (highest,))
        elif row[0] < highest:
            db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'runs'", (highest,))
    return sorted(folders - known)
