"""Moving a finished run between stores (another machine, a colleague's dashboard): one zip holding its
record and its saved files, imported under a new id.

Layout of the archive::

    run.json            {"format": "deep-clustering-run", "version": 1, "record": {...}}
    files/arrays.npz    the run folder's files, as saved (arrays.npz, view.npz, view.json, preview.png,
    files/...           model/), read back with allow_pickle=False before anything is recorded

An archive is treated as hostile until checked: member names stay inside the run folder, sizes are
bounded, the arrays are plain numbers, the record names a known algorithm and a dataset this store has.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
import zlib
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import numpy as np

from core.data import DATASETS, DatasetUnavailable
from core.data.arrays import UnreadableArrays
from core.experiment import check_config, check_settings
from core.runs.artifacts import DamagedRun, check_saved_arrays, read_saved_arrays
from core.runs.liveness import partial_name
from core.runs.status import FINISHED
from core.runs.records import InvalidRecord, clean_text, config_from_dict, config_to_dict, finished_fields

FORMAT, VERSION = "deep-clustering-run", 1
MAX_ARCHIVE_MB = 1024          # expanded; a run's folder is a few MB, its model tens
MAX_MEMBERS = 2000
RECORD_FIELDS = ("name", "dataset", "algorithm", "config", "started_at", "ended_at", "n_samples", "n_clusters",
                 "history", "metrics", "timings", "versions", "estimator_params", "tags")


class InvalidRunArchive(ValueError):
    """The file is not a run exported by this app, or it is damaged; the message says which."""


def run_archive(store, run_id: int) -> bytes:
    """Finished run `run_id` of `store` as a zip that :func:`import_run` reads on another machine."""
    record = store.get(run_id)
    if record.status != FINISHED:
        raise ValueError(f"run {run_id} is {record.status}: only finished runs can be exported whole.")
    folder = store.run_dir(run_id)
    if not folder.is_dir():
        raise ValueError(f"run {run_id} has no saved files to export.")
    fields = asdict(record)
    fields["config"] = config_to_dict(record.config)
    document = {"format": FORMAT, "version": VERSION, "record": {k: fields[k] for k in RECORD_FIELDS},
                "exported_from": {"run": record.id, "host": record.host}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("run.json", json.dumps(document, indent=1, default=str))
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"files/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def import_run(store, data: bytes, *, name: str | None = None) -> int:
    """Add the run in archive `data` (from :func:`run_archive`) to `store` under a new id; returns it.

    Raises InvalidRunArchive (nothing is added) when the archive is not a run, is damaged, reaches outside
    its folder, or its dataset is not in this store; StoreError when the store cannot be written.
    """
    store.check_writable()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise InvalidRunArchive(f"this is not a readable zip file ({error}); export the run again.") from None
    with archive:
        files = _checked_members(members)
        try:
            document = json.loads(archive.read("run.json"))
        except KeyError:
            raise InvalidRunArchive("this zip holds no run.json: it is not a run exported by this app (the "
                                    "Runs page's \"Whole run\" download, or `python -m core export --what run`).") from None
        except (ValueError, zipfile.BadZipFile, OSError, EOFError) as error:
            raise InvalidRunArchive(f"run.json cannot be read ({type(error).__name__}).") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise InvalidRunArchive("run.json is not a run exported by this app.")
        if document.get("version") != VERSION:
            raise InvalidRunArchive(f"this run was exported in format {document.get('version')!r}; this version of "
                                    f"the app reads format {VERSION}. Update the app that imports it.")
        record = document.get("record")
        if not isinstance(record, dict) or any(key not in record for key in RECORD_FIELDS):
            raise InvalidRunArchive("run.json lacks parts of the run's record.")
        config, n_features = _checked_record(store, record)
        partial = store.artifacts_root / partial_name(f"import{os.urandom(4).hex()}", store.host)
        partial.mkdir()
        try:
            for member, relative in files:
                target = partial / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(member) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                except (zlib.error, zipfile.BadZipFile, EOFError, NotImplementedError) as error:  # a damaged member
                    raise InvalidRunArchive(f"the archive is damaged: {relative.as_posix()} cannot be read "
                                            f"({type(error).__name__}); export the run again.") from None
            try:
                check_saved_arrays(partial, n_samples=record["n_samples"], n_features=n_features)
            except UnreadableArrays as error:
                raise InvalidRunArchive(f"the run's saved arrays are not ones this app makes: {error}.") from None
            try:
                read_saved_arrays(partial, 0)  # plain arrays only, never pickles: else nothing is added
            except DamagedRun as error:
                raise InvalidRunArchive(str(error).replace("run 0", "the imported run")) from None
            run_id = _insert(store, record, config, name, partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return run_id


def _checked_record(store, record: dict) -> tuple:
    """(config, values per image of its dataset or None) of an archive's record, checked by the code that
    checks a run made here: its settings as a new run's (:func:`core.experiment.check_config`, against the
    data when this machine has it), its results as a finished run's (:func:`finished_fields`). Raises
    InvalidRunArchive naming what is wrong."""
    dataset_name = record["config"].get("dataset") if isinstance(record["config"], dict) else None
    if not isinstance(dataset_name, str):
        raise InvalidRunArchive("the run's settings name no dataset.")
    if dataset_name not in DATASETS and dataset_name not in store.datasets:
        raise InvalidRunArchive(f"the run was made on the dataset {dataset_name!r}, which this store does "
                                "not have: add that dataset on the Datasets page, under that name, then import "
                                "the run again.")
    try:
        if not isinstance(record["config"], dict):
            raise ValueError("not a table of settings")
        config = config_from_dict(record["config"])
        check_settings(config)
    except (TypeError, KeyError, ValueError) as error:
        raise InvalidRunArchive(f"the run's settings cannot be used: {error.args[0] if error.args else error}") from None
    try:
        finished_fields(**{key: record[key] for key in ("n_samples", "n_clusters", "history", "metrics", "timings",
                                                         "versions", "estimator_params", "started_at", "ended_at")})
    except InvalidRecord as error:
        raise InvalidRunArchive(f"the run's record is not one this app makes: {error}") from None
    try:
        dataset = (store.datasets.load(config.dataset) if config.dataset in store.datasets
                   else DATASETS[config.dataset].loader(**config.dataset_options))
    except DatasetUnavailable:
        return config, None   # a download that fails here: the record is kept, its images wait for the data
    try:
        check_config(config, dataset)
    except (ValueError, KeyError) as error:
        raise InvalidRunArchive(f"the run's settings cannot be used here: {error.args[0] if error.args else error}") from None
    expected = dataset.n_samples if config.n_samples is None else config.n_samples
    if record["n_samples"] != expected:
        raise InvalidRunArchive(f"the run's record counts {record['n_samples']!r} images where its settings give "
                                f"{expected:,}.")
    return config, int(np.prod(dataset.images.shape[1:]))


def _checked_members(members) -> list:
    """(member, relative path inside the run folder) of the archive's files; refuses names that reach
    outside the folder, links, and archives too large once expanded."""
    if len(members) > MAX_MEMBERS:
        raise InvalidRunArchive(f"the zip holds {len(members):,} entries; a run has far fewer.")
    total, files = 0, []
    for member in members:
        total += member.file_size
        if total > MAX_ARCHIVE_MB * 2**20:
            raise InvalidRunArchive(f"the zip expands to more than {MAX_ARCHIVE_MB} MB; a run is far smaller.")
        if member.is_dir() or member.filename == "run.json":
            continue
        path = PurePosixPath(member.filename.replace("\\", "/"))
        is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
        if (path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] != "files"
                or len(path.parts) < 2 or is_link or ":" in member.filename):
            raise InvalidRunArchive(f"the zip holds {member.filename!r}, outside a run's files: refused.")
        files.append((member, Path(*path.parts[1:])))
    return files


def _insert(store, record: dict, config, name, partial: Path) -> int:
    """Record the run and move its files into place (the store does both in one transaction)."""
    tags = [t for t in record.get("tags") or [] if isinstance(t, str)]
    title = clean_text(name or record.get("name") or "").strip() or f"{config.algorithm} on {config.dataset}"
    try:
        return store.add_finished_run(record, config, partial, name=title, tags=tags,
                                      message=f"Imported on {datetime.now(timezone.utc).date().isoformat()}.")
    except FileExistsError as error:
        raise InvalidRunArchive(f"{error}; nothing was imported.") from None
    except InvalidRecord as error:   # checked before, by the same code: only a change in between gets here
        raise InvalidRunArchive(f"the run's record is not one this app makes: {error}") from None
