"""The run store: one SQLite file of run records, and a folder of artifacts per finished run beside it.

Layout of a store directory::

    runs.sqlite          records (schema version in PRAGMA user_version, migrated forward on open)
    runs/<id>/           artifacts of finished run <id>: arrays.npz, view.npz, view.json, preview.png, model/
    runs/.partial-<id>-<pid>/   a run's artifacts while they are written (renamed into place when complete)
    datasets/<name>/     the user's saved datasets (core.data.library)
    autoencoders/<key>/  pretrained autoencoders kept for reuse (core.runs.autoencoders)

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
from dataclasses import replace
import os
import shutil
import socket
from datetime import datetime
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from core.algorithms import get_algorithm
from core.data import DATASETS
from core.data.library import DatasetLibrary
from core.experiment import ClusteringResult, RunConfig
from core.home import STORE_ENV, default_store_dir, folder_size
from core.runs.artifacts import add_saved_projection, read_artifacts, read_saved_arrays, write_artifacts
from core.runs.autoencoders import AutoencoderLibrary
from core.runs.database import DB_NAME, Database, StoreError
from core.runs.liveness import partial_name, process_token, safe_host
from core.runs.records import (RunRecord, SweepRecord, clean_text, config_to_dict, finished_fields, to_json,
                               utc_now)
from core.runs.recovery import number_after_folders, recover
from core.runs.status import CANCELLED, FAILED, FINISHED, INTERRUPTED, RUNNING
from core.corrections import MAX_NAME
from core.runs.drafts import Drafts
from core.runs.sweeps import Sweeps

__all__ = ["DB_NAME", "STORE_ENV", "RunNotFound", "RunRecord", "RunStore", "StoreError", "SweepRecord",
           "default_store_dir"]


class RunNotFound(KeyError):
    """No run with this id in the store (it may have been deleted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"


class RunStore:
    """Records and artifacts of clustering runs in `directory` (created if missing).

    Opening a store migrates it to the current schema, marks as interrupted the runs whose process is
    gone, and numbers new runs above every run folder already there (so a replaced or emptied database
    never overwrites a run's files). A store in a folder this process cannot write is opened read-only:
    its runs can be listed, shown and exported, and saving a new one raises StoreError.
    """

    def __init__(self, directory: Optional[os.PathLike] = None):
        self.directory = Path(directory) if directory is not None else default_store_dir()
        self.artifacts_root = self.directory / "runs"
        self.path = self.directory / DB_NAME
        self._host = socket.gethostname()
        self.unknown_folders: list[int] = []   # run folders the database has no record of (kept, never reused)
        self.read_only = self.path.exists() and self.artifacts_root.is_dir() and not self._writable()
        if not self.read_only:
            try:
                self.artifacts_root.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"cannot create the run store in {self.directory}: {error.strerror or error}. "
                                 f"Set {STORE_ENV} to a writable folder.") from error
        self.database = Database(self.directory, read_only=self.read_only)
        self.database.migrate()
        self.sweeps = Sweeps(self.database)
        self.drafts = Drafts(self.database)
        if not self.read_only:
            self.recover()
            self.unknown_folders = number_after_folders(self.database, self.artifacts_root)

    def _writable(self) -> bool:
        return (os.access(self.directory, os.W_OK) and os.access(self.artifacts_root, os.W_OK)
                and os.access(self.path, os.W_OK))

    def unknown_folders_note(self) -> str:
        """What to tell the user about run folders without a record ("" when there are none)."""
        if not self.unknown_folders:
            return ""
        shown = ", ".join(map(str, self.unknown_folders[:8])) + (" ..." if len(self.unknown_folders) > 8 else "")
        return (f"{len(self.unknown_folders)} run folder{'s' if len(self.unknown_folders) > 1 else ''} in "
                f"{self.artifacts_root} {'have' if len(self.unknown_folders) > 1 else 'has'} no record in {DB_NAME} "
                f"(run {shown}), for example after the database was replaced. They are kept, and new runs are "
                "numbered after them.")

    @property
    def schema_version(self) -> int:
        return self.database.schema_version

    def recover(self) -> int:
        """Mark as interrupted the running runs whose process is gone, and drop this host's stale partial
        artifact folders (core.runs.recovery). Returns the number of runs marked."""
        return 0 if self.read_only else recover(self.database, self.artifacts_root, self._host)

    def beat(self, run_id: int) -> None:
        """Touch running run `run_id`'s record: its process is alive (record_run does this every
        HEARTBEAT_SECONDS)."""
        with self.database.connect() as db:
            db.execute("UPDATE runs SET heartbeat = ? WHERE id = ? AND status = ?", (utc_now(), int(run_id), RUNNING))

    def mark_interrupted(self, run_id: int, message: str = "Marked interrupted by the user.") -> None:
        """End a run that shows as running but is not (its process was lost some way recovery cannot see)."""
        with self.database.connect() as db:
            changed = db.execute("UPDATE runs SET status = ?, message = ?, ended_at = ? WHERE id = ? AND status = ?",
                                 (INTERRUPTED, message, utc_now(), int(run_id), RUNNING)).rowcount
        if not changed:
            raise ValueError(f"run {run_id} is {self.get(run_id).status}, not running.")

    # -- writing runs ------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise StoreError when this store cannot save a run (a read-only folder or database): called
        before training, so that no trained result is lost to it."""
        probe = self.artifacts_root / f".probe-{safe_host(self._host)}-{os.getpid()}"
        try:
            probe.mkdir(exist_ok=True)
            probe.rmdir()
            writable = not self.read_only and self._writable()
        except OSError:
            writable = False
        if not writable:
            raise StoreError(f"the run store {self.directory} is read-only: its runs can be listed and exported, "
                             f"but a new run could not be saved. Make it writable, or set {STORE_ENV} (or "
                             "--store) to a writable folder.")

    def own_dataset_name(self, config: RunConfig) -> RunConfig:
        """`config` naming its saved dataset as the library spells it ("PHOTOS" or " photos " find "photos"):
        a run records the name that removing or renaming the dataset looks for."""
        if config.dataset in DATASETS or config.dataset not in self.datasets:
            return config
        return replace(config, dataset=self.datasets.info(config.dataset).name)

    def start_run(self, config: RunConfig, *, name: Optional[str] = None, tags: Iterable[str] = (),
                  sweep_id: Optional[int] = None) -> int:
        """Record a run as running now, by this process; returns its id."""
        config = self.own_dataset_name(config)
        title = get_algorithm(config.algorithm).title
        name = clean_text(name or "").strip()
        tags = sorted({clean_text(t).strip() for t in tags if t and clean_text(t).strip()})
        for count in (config.n_samples, config.n_clusters):
            if count is not None and not 0 < count < 2**62:
                raise ValueError(f"a count of {count} cannot be recorded; check the run's settings first.")
        now = utc_now()
        with self.database.connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (name, dataset, algorithm, config, status, started_at, n_samples, n_clusters, "
                "host, pid, tags, sweep_id, heartbeat, process_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, config.dataset, config.algorithm, to_json(config_to_dict(config)), RUNNING, now,
                 config.n_samples, config.n_clusters, self._host, os.getpid(), to_json(tags), sweep_id, now,
                 process_token(os.getpid())),
            )
            run_id = int(cursor.lastrowid)
            if not name:
                db.execute("UPDATE runs SET name = ? WHERE id = ?", (f"{title} on {config.dataset} #{run_id}", run_id))
        return run_id

    def finish_run(self, run_id: int, result: ClusteringResult, estimator=None) -> None:
        """Save `result`'s artifacts (and `estimator`'s model) and mark the run finished, atomically."""
        self.get(run_id)  # RunNotFound if it was deleted while it ran: nothing to save it under
        # The host is in the name: on a store shared between machines, recovery removes only its own.
        partial = self.artifacts_root / partial_name(str(run_id), self._host)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        try:
            write_artifacts(partial, result, estimator)
            final = self.run_dir(run_id)
            if final.exists():  # never overwrite a folder: set it aside, under a name that says why
                os.replace(final, self.artifacts_root / f".displaced-{run_id}-{datetime.now():%Y%m%d%H%M%S}")
            os.replace(partial, final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        fields = finished_fields(n_samples=result.dataset.n_samples, n_clusters=result.n_clusters,
                                 history=result.history, metrics=result.metrics.to_record(), timings=result.timings,
                                 versions=result.versions, estimator_params=result.estimator_params)
        with self.database.connect() as db:
            db.execute(
                "UPDATE runs SET status = ?, message = '', ended_at = ?, n_samples = ?, n_clusters = ?, "
                "history = ?, metrics = ?, timings = ?, versions = ?, estimator_params = ? WHERE id = ?",
                (FINISHED, utc_now(), *(fields[key] for key in ("n_samples", "n_clusters", "history", "metrics",
                                                                 "timings", "versions", "estimator_params")), run_id),
            )

    def end_run(self, run_id: int, status: str, *, message: str = "", history: Optional[list] = None,
                timings: Optional[dict] = None, keep_history: bool = False) -> None:
        """Mark a run that did not finish: cancelled, failed (with its message) or interrupted.

        `keep_history` keeps what the run recorded (for the server ending a run its dead worker left):
        then a run already marked interrupted by a recovery is given this status and message instead."""
        if status not in (CANCELLED, FAILED, INTERRUPTED):
            raise ValueError(f"end_run takes cancelled, failed or interrupted, not {status!r}.")
        with self.database.connect() as db:
            if keep_history:
                db.execute("UPDATE runs SET status = ?, message = ?, ended_at = COALESCE(ended_at, ?) "
                           "WHERE id = ? AND status IN (?, ?)", (status, message, utc_now(), run_id, RUNNING, INTERRUPTED))
                return
            db.execute("UPDATE runs SET status = ?, message = ?, ended_at = ?, history = ?, timings = ? "
                       "WHERE id = ? AND status = ?",
                       (status, message, utc_now(), to_json(history or []), to_json(timings or {}), run_id, RUNNING))

    # -- reading runs ------------------------------------------------------------------------------
    def get(self, run_id: int) -> RunRecord:
        with self.database.connect() as db:
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
        with self.database.connect() as db:
            order = " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
            rows = db.execute(f"SELECT * FROM runs{where}{order}", values).fetchall()
        return [RunRecord._from_row(row) for row in rows]

    def run_dir(self, run_id: int) -> Path:
        return self.artifacts_root / str(int(run_id))

    @property
    def host(self) -> str:
        """This machine's name, as run records say where a run was made."""
        return self._host

    def add_finished_run(self, record: dict, config: RunConfig, folder: Path, *, name: str, tags: Iterable[str],
                         message: str) -> int:
        """Record a finished run made elsewhere (an imported archive, checked by the caller) and move its
        files, `folder`, into place, in one transaction: a failed move adds nothing. `record` holds the
        run's fields as an export writes them; returns the new run's id. Raises FileExistsError when a
        folder for that id is already there, InvalidRecord when a field is one a run made here could never
        have (:func:`finished_fields`, the check every finished run passes)."""
        config = self.own_dataset_name(config)
        now = utc_now()
        fields = finished_fields(**{key: record.get(key) for key in (
            "n_samples", "n_clusters", "history", "metrics", "timings", "versions", "estimator_params")},
            started_at=record.get("started_at") or now, ended_at=record.get("ended_at") or now)
        with self.database.connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (name, dataset, algorithm, config, status, message, started_at, ended_at, n_samples, "
                "n_clusters, history, metrics, timings, versions, estimator_params, host, pid, tags) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (clean_text(name), config.dataset, config.algorithm, to_json(config_to_dict(config)), FINISHED,
                 message, *(fields[key] for key in ("started_at", "ended_at", "n_samples", "n_clusters", "history",
                                                    "metrics", "timings", "versions", "estimator_params")),
                 self._host, os.getpid(),
                 to_json(sorted({clean_text(t).strip() for t in tags if clean_text(t).strip()}))),
            )
            run_id = int(cursor.lastrowid)
            final = self.run_dir(run_id)
            if final.exists():
                raise FileExistsError(f"a folder for run {run_id} already exists")
            os.replace(folder, final)
        return run_id

    def add_derived_run(self, parent_id: int, result: ClusteringResult, *, changes: Iterable[str],
                        name: Optional[str] = None) -> int:
        """Record `result`, a correction of finished run `parent_id` (its labels, scores and cluster names
        changed by hand), as a new finished run derived from it; the parent is left as it was. The new run has
        the parent's settings, embedding and projections, and no model of its own (its labels were not made by
        one). Returns its id."""
        self.check_writable()
        parent = self.get(parent_id)
        if parent.status != FINISHED:
            raise ValueError(f"run {parent_id} is {parent.status}: only a finished run can be corrected.")
        changes = [clean_text(c)[:200] for c in changes][:500]
        names = {int(k): clean_text(v).strip()[:MAX_NAME] for k, v in (result.cluster_names or {}).items()
                 if clean_text(v).strip()}
        title = clean_text(name or "").strip() or f"{parent.name} (corrected)"
        run_id = self.start_run(parent.config, name=title, tags=parent.tags)
        with self.database.connect() as db:
            db.execute("UPDATE runs SET parent_id = ?, changes = ?, cluster_names = ?, pid = 0 WHERE id = ?",
                       (parent_id, to_json(changes), to_json({str(k): v for k, v in names.items()}), run_id))
        try:
            self.finish_run(run_id, result)
        except BaseException as error:
            self.end_run(run_id, FAILED, message=f"the corrected run could not be saved: {error}")
            raise
        return run_id

    def embedding(self, run_id: int) -> np.ndarray:
        """The embedding finished run `run_id` was clustered in, read from its folder (DamagedRun when
        its arrays cannot be read)."""
        return read_saved_arrays(self.run_dir(run_id), run_id)[0]["embedding"]

    def labelling(self, run_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, indices) of finished run `run_id`: its clusters and the dataset positions of the images
        they label, read from its folder without the images (DamagedRun when they cannot be read)."""
        arrays = read_saved_arrays(self.run_dir(run_id), run_id)[0]
        return arrays["labels"], arrays["indices"]

    def load_result(self, run_id: int, dataset=None) -> ClusteringResult:
        """A finished run as a ClusteringResult, ready for the pages, without retraining.

        The images are not stored with the run: they come from the dataset named in its config (pass
        `dataset`, the full loaded dataset, to reuse one already in memory).

        Raises
        ------
        RunNotFound, ValueError (the run did not finish, or its artifacts are missing), DatasetUnavailable
        """
        record = self.get(run_id)
        if record.status != FINISHED:
            raise ValueError(f"run {run_id} is {record.status}: only finished runs have results to show.")
        if dataset is None and record.dataset not in DATASETS and record.dataset in self.datasets:
            dataset = self.datasets.load(record.dataset)  # this store's own library, wherever it is
        return read_artifacts(self.run_dir(run_id), record, dataset)

    def add_projection(self, run_id: int, method: str, points) -> None:
        """Keep a projection computed after run `run_id` finished (see core.runs.projections) with its
        saved arrays, so it is not computed again."""
        self.check_writable()
        record = self.get(run_id)
        if record.status != FINISHED:
            raise ValueError(f"run {run_id} is {record.status}: only finished runs keep projections.")
        add_saved_projection(self.run_dir(run_id), run_id, method, points)

    # -- editing -----------------------------------------------------------------------------------
    def rename(self, run_id: int, name: str) -> None:
        name = clean_text(name).strip()
        if not name:
            raise ValueError("a run's name cannot be empty.")
        self._update(run_id, "name", name)

    def note(self, run_id: int, message: str) -> None:
        """Set the line of explanation shown with a run ("Stopped early by the user ...")."""
        self._update(run_id, "message", clean_text(message).strip())

    def set_tags(self, run_id: int, tags: Iterable[str]) -> None:
        clean = sorted({clean_text(t).strip() for t in tags if t and clean_text(t).strip()})
        self._update(run_id, "tags", to_json(clean))

    def _update(self, run_id: int, column: str, value) -> None:
        with self.database.connect() as db:
            if db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, int(run_id))).rowcount == 0:
                raise RunNotFound(f"there is no run {run_id} in {self.directory}.")

    def delete(self, run_id: int, *, force: bool = False) -> None:
        """Remove a run's record and its artifacts. A running run is deleted only with `force` (for one
        that shows as running but whose process is lost); otherwise cancel it first."""
        with self.database.connect() as db:  # the raw row: a record too damaged to read can still go
            row = db.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is None:
                raise RunNotFound(f"there is no run {run_id} in {self.directory}.")
            if row["status"] == RUNNING and not force:
                raise ValueError(f"run {run_id} is still running: cancel it before deleting it.")
            db.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def delete_many(self, run_ids: Iterable[int]) -> list[int]:
        """Delete several runs (those not running); returns the ids deleted."""
        deleted = []
        for run_id in run_ids:
            with self.database.connect() as db:
                row = db.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is not None and row["status"] != RUNNING:
                self.delete(run_id)
                deleted.append(int(run_id))
        return deleted

    def disk_usage(self, run_id: int) -> int:
        """Bytes run `run_id`'s folder takes (0 when it has none)."""
        return folder_size(self.run_dir(run_id))

    def all_tags(self) -> list[str]:
        with self.database.connect() as db:
            rows = db.execute("SELECT tags FROM runs").fetchall()
        return sorted({tag for row in rows for tag in json.loads(row["tags"])})

    @property
    def autoencoders(self):
        """The pretrained autoencoders kept for reuse, in ``autoencoders/`` beside the runs."""
        return AutoencoderLibrary(self.directory / "autoencoders")

    @property
    def datasets(self):
        """The user's saved datasets, in ``datasets/`` beside the runs."""
        return DatasetLibrary(self.directory / "datasets")
