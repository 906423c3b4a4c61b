"""The run store: one SQLite file of run records, and a folder of artifacts per finished run beside it.

Layout of a store directory::

    runs.sqlite          records (schema version in PRAGMA user_version, migrated forward on open)
    runs/<id>/           artifacts of finished run <id>: arrays.npz, view.npz, view.json, preview.png, model/
    runs/.partial-<id>-<pid>/   a run's artifacts while they are written (renamed into place when complete)

Why it cannot be left half-written: SQLite commits are atomic, and a run's artifacts are written to a
partial folder first and renamed into place (an atomic rename) before the one commit that marks the
run finished. A writer killed at any point leaves either a finished run with all its artifacts or a
"running" record with no artifacts; the next open marks such records interrupted (when the process that
wrote them is gone) and removes stale partial folders.

The server and command-line runs can share a store: every operation opens its own connection, SQLite
serialises writers, and WAL mode lets readers go on while one writes.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import sys
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from core.experiment import ClusteringResult, RunConfig

STORE_ENV = "DEEP_CLUSTERING_HOME"
APP_DIR_NAME = "deep-clustering-explorer"
DB_NAME = "runs.sqlite"

RUNNING, FINISHED, CANCELLED, FAILED, INTERRUPTED = "running", "finished", "cancelled", "failed", "interrupted"
STATUSES = (RUNNING, FINISHED, CANCELLED, FAILED, INTERRUPTED)
INTERRUPTED_MESSAGE = ("The process running it stopped before the run finished (the server or command was "
                       "stopped or killed).")


class RunNotFound(KeyError):
    """No run with this id in the store (it may have been deleted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"


class DatasetInUse(ValueError):
    """A saved dataset cannot be removed while runs use it; the message names them."""


class StoreError(RuntimeError):
    """The store cannot be used (unreadable file, or a schema newer than this version of the code)."""


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


# -- schema ---------------------------------------------------------------------------------------
# Each entry migrates a store from version i to i + 1. Version 1 was the first release of the store;
# version 2 added tags and sweeps. Never edit a released step: append a new one.
MIGRATIONS = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        dataset TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        ended_at TEXT,
        n_samples INTEGER,
        n_clusters INTEGER,
        history TEXT NOT NULL DEFAULT '[]',
        metrics TEXT,
        timings TEXT NOT NULL DEFAULT '{}',
        versions TEXT NOT NULL DEFAULT '{}',
        estimator_params TEXT NOT NULL DEFAULT '{}',
        host TEXT NOT NULL,
        pid INTEGER NOT NULL
    );
    CREATE INDEX runs_status ON runs(status);
    """,
    """
    ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
    CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        base_config TEXT NOT NULL,
        axes TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX runs_sweep ON runs(sweep_id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json(value) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run record")


def config_to_dict(config: RunConfig) -> dict:
    return json.loads(_json(asdict(config)))


def config_from_dict(data: dict) -> RunConfig:
    """A RunConfig from its stored form; unknown keys (from a newer version) are ignored."""
    known = set(RunConfig.__dataclass_fields__)
    data = {k: v for k, v in data.items() if k in known}
    # JSON has no tuples; parameters such as hidden_units come back as lists, which the estimators accept.
    return RunConfig(**data)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass
class RunRecord:
    """One run as stored: what was asked, what happened, and the scores (no arrays: see artifacts)."""

    id: int
    name: str
    dataset: str
    algorithm: str
    config: RunConfig
    status: str
    message: str
    started_at: str
    ended_at: Optional[str]
    n_samples: Optional[int]
    n_clusters: Optional[int]
    history: list
    metrics: Optional[dict]       # MetricReport.to_record(); None until finished
    timings: dict
    versions: dict
    estimator_params: dict
    tags: list = field(default_factory=list)
    sweep_id: Optional[int] = None
    host: str = ""
    pid: int = 0

    @property
    def scores(self) -> dict:
        """Flat metric name -> value (None where undefined or not finished)."""
        from core.metrics import metric_report_from_record

        from core.vocabulary import METRICS

        if not self.metrics:
            return dict.fromkeys(METRICS)
        return metric_report_from_record(self.metrics).as_dict()

    @property
    def silhouette_space(self) -> str:
        """Where the silhouette was computed (inferred from the settings for records made before it was kept)."""
        from core.vocabulary import embedding_space

        recorded = ((self.metrics or {}).get("silhouette") or {}).get("space")
        return recorded or embedding_space(self.algorithm, self.config.params)

    @property
    def duration(self) -> Optional[float]:
        """Seconds the run took (None while running): its timed phases, else wall-clock start to end."""
        from core.vocabulary import run_seconds

        if not self.ended_at:
            return None
        if self.timings:
            return run_seconds(self.timings)
        return (datetime.fromisoformat(self.ended_at) - datetime.fromisoformat(self.started_at)).total_seconds()

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> "RunRecord":
        return cls(
            id=row["id"], name=row["name"], dataset=row["dataset"], algorithm=row["algorithm"],
            config=config_from_dict(json.loads(row["config"])), status=row["status"], message=row["message"],
            started_at=row["started_at"], ended_at=row["ended_at"], n_samples=row["n_samples"],
            n_clusters=row["n_clusters"], history=json.loads(row["history"]),
            metrics=json.loads(row["metrics"]) if row["metrics"] else None, timings=json.loads(row["timings"]),
            versions=json.loads(row["versions"]), estimator_params=json.loads(row["estimator_params"]),
            tags=json.loads(row["tags"]), sweep_id=row["sweep_id"], host=row["host"], pid=row["pid"],
        )


@dataclass
class SweepRecord:
    id: int
    name: str
    base_config: RunConfig
    axes: dict
    created_at: str


class RunStore:
    """Records and artifacts of clustering runs in `directory` (created if missing).

    Opening a store migrates it to the current schema and marks as interrupted the runs whose writing
    process on this machine is gone.
    """

    def __init__(self, directory: Optional[os.PathLike] = None):
        self.directory = Path(directory) if directory is not None else default_store_dir()
        self.artifacts_root = self.directory / "runs"
        try:
            self.artifacts_root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the run store in {self.directory}: {error}. Set {STORE_ENV} "
                             "to a writable folder.") from error
        self.path = self.directory / DB_NAME
        self._host = socket.gethostname()
        self._migrate()
        self.recover()

    # -- connections and schema --------------------------------------------------------------------
    @contextmanager
    def _connect(self):
        """A connection for one operation, committed on success and rolled back on error."""
        try:
            connection = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the run store {self.path}: {error}") from error
        connection.row_factory = sqlite3.Row
        with closing(connection):
            with connection:
                yield connection

    def _migrate(self) -> None:
        with self._connect() as db:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.DatabaseError as error:
                raise StoreError(f"{self.path} is not a readable run store ({error}).") from error
        if version > SCHEMA_VERSION:
            raise StoreError(f"the run store {self.path} was written by a newer version of this app (schema "
                             f"{version}, this version reads up to {SCHEMA_VERSION}); update the app.")
        if version == SCHEMA_VERSION:
            return
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        with closing(connection):
            # One transaction for all steps: a crash mid-migration leaves the old version intact.
            connection.execute("BEGIN IMMEDIATE")
            try:
                version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
                for step in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[step].split(";"):
                        if statement.strip():
                            connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        with self._connect() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    def recover(self) -> int:
        """Mark as interrupted the running runs whose process on this host is gone; drop stale partial
        artifact folders. Returns the number of runs marked."""
        with self._connect() as db:
            rows = db.execute("SELECT id, pid FROM runs WHERE status = ? AND host = ?",
                              (RUNNING, self._host)).fetchall()
            dead = [row["id"] for row in rows if not _pid_alive(row["pid"])]
            for run_id in dead:
                db.execute("UPDATE runs SET status = ?, message = ?, ended_at = COALESCE(ended_at, ?) "
                           "WHERE id = ? AND status = ?", (INTERRUPTED, INTERRUPTED_MESSAGE, _now(), run_id, RUNNING))
        for partial in self.artifacts_root.glob(".partial-*"):
            try:
                pid = int(partial.name.rsplit("-", 1)[1])
            except (IndexError, ValueError):
                pid = -1
            if not _pid_alive(pid):
                shutil.rmtree(partial, ignore_errors=True)
        return len(dead)

    # -- writing runs ------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise StoreError when this store cannot save a run (a read-only folder or database): called
        before training, so that no trained result is lost to it."""
        probe = self.artifacts_root / f".probe-{self._host}-{os.getpid()}"
        try:
            probe.mkdir(exist_ok=True)
            probe.rmdir()
            writable = os.access(self.path, os.W_OK) and os.access(self.directory, os.W_OK)
        except OSError:
            writable = False
        if not writable:
            raise StoreError(f"the run store {self.directory} is read-only: its runs can be listed and exported, "
                             f"but a new run could not be saved. Make it writable, or set {STORE_ENV} (or "
                             "--store) to a writable folder.")

    def start_run(self, config: RunConfig, *, name: Optional[str] = None, tags: Iterable[str] = (),
                  sweep_id: Optional[int] = None) -> int:
        """Record a run as running now, by this process; returns its id."""
        from core.algorithms import get_algorithm

        title = get_algorithm(config.algorithm).title
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (name, dataset, algorithm, config, status, started_at, n_samples, n_clusters, "
                "host, pid, tags, sweep_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name or "", config.dataset, config.algorithm, _json(config_to_dict(config)), RUNNING, _now(),
                 config.n_samples, config.n_clusters, self._host, os.getpid(), _json(sorted(set(tags))), sweep_id),
            )
            run_id = int(cursor.lastrowid)
            if not name:
                db.execute("UPDATE runs SET name = ? WHERE id = ?", (f"{title} on {config.dataset} #{run_id}", run_id))
        return run_id

    def finish_run(self, run_id: int, result: ClusteringResult, estimator=None) -> None:
        """Save `result`'s artifacts (and `estimator`'s model) and mark the run finished, atomically."""
        from core.runs.artifacts import write_artifacts

        partial = self.artifacts_root / f".partial-{run_id}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        try:
            write_artifacts(partial, result, estimator)
            final = self.run_dir(run_id)
            if final.exists():  # left by an earlier attempt that never committed
                shutil.rmtree(final)
            os.replace(partial, final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = ?, message = '', ended_at = ?, n_samples = ?, n_clusters = ?, "
                "history = ?, metrics = ?, timings = ?, versions = ?, estimator_params = ? WHERE id = ?",
                (FINISHED, _now(), int(result.dataset.n_samples), int(result.n_clusters), _json(result.history),
                 _json(result.metrics.to_record()), _json(result.timings), _json(result.versions),
                 _json(result.estimator_params), run_id),
            )

    def end_run(self, run_id: int, status: str, *, message: str = "", history: Optional[list] = None,
                timings: Optional[dict] = None) -> None:
        """Mark a run that did not finish: cancelled, failed (with its message) or interrupted."""
        if status not in (CANCELLED, FAILED, INTERRUPTED):
            raise ValueError(f"end_run takes cancelled, failed or interrupted, not {status!r}.")
        with self._connect() as db:
            db.execute("UPDATE runs SET status = ?, message = ?, ended_at = ?, history = ?, timings = ? "
                       "WHERE id = ? AND status = ?",
                       (status, message, _now(), _json(history or []), _json(timings or {}), run_id, RUNNING))

    # -- reading runs ------------------------------------------------------------------------------
    def get(self, run_id: int) -> RunRecord:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise RunNotFound(f"there is no run {run_id} in {self.directory}.")
        return RunRecord._from_row(row)

    def list_runs(self, *, status: Optional[str] = None, dataset: Optional[str] = None,
                  algorithm: Optional[str] = None, sweep_id: Optional[int] = None,
                  ids: Optional[Iterable[int]] = None, limit: Optional[int] = None) -> list[RunRecord]:
        """Runs matching every given filter, newest first (at most `limit` of them)."""
        clauses, values = [], []
        for column, value in (("status", status), ("dataset", dataset), ("algorithm", algorithm),
                              ("sweep_id", sweep_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if ids is not None:
            ids = [int(i) for i in ids]
            clauses.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
            values.extend(ids)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as db:
            order = " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
            rows = db.execute(f"SELECT * FROM runs{where}{order}", values).fetchall()
        return [RunRecord._from_row(row) for row in rows]

    def run_dir(self, run_id: int) -> Path:
        return self.artifacts_root / str(int(run_id))

    def load_result(self, run_id: int, dataset=None) -> ClusteringResult:
        """A finished run as a ClusteringResult, ready for the pages, without retraining.

        The images are not stored with the run: they come from the dataset named in its config (pass
        `dataset`, the full loaded dataset, to reuse one already in memory).

        Raises
        ------
        RunNotFound, ValueError (the run did not finish, or its artifacts are missing), DatasetUnavailable
        """
        from core.data import DATASETS
        from core.runs.artifacts import read_artifacts

        record = self.get(run_id)
        if record.status != FINISHED:
            raise ValueError(f"run {run_id} is {record.status}: only finished runs have results to show.")
        if dataset is None and record.dataset not in DATASETS and record.dataset in self.datasets:
            dataset = self.datasets.load(record.dataset)  # this store's own library, wherever it is
        return read_artifacts(self.run_dir(run_id), record, dataset)

    # -- editing -----------------------------------------------------------------------------------
    def rename(self, run_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a run's name cannot be empty.")
        self._update(run_id, "name", name)

    def set_tags(self, run_id: int, tags: Iterable[str]) -> None:
        clean = sorted({t.strip() for t in tags if t and t.strip()})
        self._update(run_id, "tags", _json(clean))

    def _update(self, run_id: int, column: str, value) -> None:
        with self._connect() as db:
            if db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, int(run_id))).rowcount == 0:
                raise RunNotFound(f"there is no run {run_id} in {self.directory}.")

    def delete(self, run_id: int) -> None:
        """Remove a run's record and its artifacts. A running run cannot be deleted (cancel it first)."""
        record = self.get(run_id)
        if record.status == RUNNING:
            raise ValueError(f"run {run_id} is still running: cancel it before deleting it.")
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def all_tags(self) -> list[str]:
        with self._connect() as db:
            rows = db.execute("SELECT tags FROM runs").fetchall()
        return sorted({tag for row in rows for tag in json.loads(row["tags"])})

    # -- the dataset library ----------------------------------------------------------------------
    @property
    def datasets(self):
        """The user's saved datasets, in ``datasets/`` beside the runs."""
        from core.data.library import DatasetLibrary

        return DatasetLibrary(self.directory / "datasets")

    def runs_using_dataset(self, name: str) -> list[RunRecord]:
        return self.list_runs(dataset=name)

    def remove_dataset(self, name: str) -> None:
        """Remove a saved dataset; refused while runs use it (naming them), so no run loses its images."""
        name = self.datasets.info(name).name
        users = self.runs_using_dataset(name)
        if users:
            listed = ", ".join(f"{r.id} ({r.name})" for r in users[:5]) + (
                f" and {len(users) - 5} more" if len(users) > 5 else "")
            raise DatasetInUse(f"The dataset {name!r} is used by {len(users)} run{'s' if len(users) > 1 else ''}: "
                               f"{listed}. Delete those runs first.")
        self.datasets.remove(name)

    def rename_dataset(self, old: str, new: str) -> str:
        """Rename a saved dataset and every run record that names it, in one transaction."""
        from core.data.library import builtin_names, validate_dataset_name

        old = self.datasets.info(old).name
        new = validate_dataset_name(new, reserved=builtin_names())
        with self._connect() as db:
            for row in db.execute("SELECT id, config FROM runs WHERE dataset = ?", (old,)).fetchall():
                config = json.loads(row["config"])
                config["dataset"] = new
                db.execute("UPDATE runs SET dataset = ?, config = ? WHERE id = ?", (new, _json(config), row["id"]))
            for row in db.execute("SELECT id, base_config FROM sweeps").fetchall():
                config = json.loads(row["base_config"])
                if config.get("dataset") == old:
                    config["dataset"] = new
                    db.execute("UPDATE sweeps SET base_config = ? WHERE id = ?", (_json(config), row["id"]))
            # The folder moves last, inside the transaction: if it cannot, the records stay as they were.
            new = self.datasets.rename(old, new)
        return new

    # -- sweeps ------------------------------------------------------------------------------------
    def create_sweep(self, base_config: RunConfig, axes: dict, *, name: Optional[str] = None) -> int:
        with self._connect() as db:
            cursor = db.execute("INSERT INTO sweeps (name, base_config, axes, created_at) VALUES (?, ?, ?, ?)",
                                (name or "", _json(config_to_dict(base_config)), _json(axes), _now()))
            sweep_id = int(cursor.lastrowid)
            if not name:
                label = " x ".join(axes) or "nothing"
                db.execute("UPDATE sweeps SET name = ? WHERE id = ?", (f"Sweep {sweep_id}: {label}", sweep_id))
        return sweep_id

    def list_sweeps(self) -> list[SweepRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM sweeps ORDER BY id DESC").fetchall()
        return [SweepRecord(row["id"], row["name"], config_from_dict(json.loads(row["base_config"])),
                            json.loads(row["axes"]), row["created_at"]) for row in rows]
