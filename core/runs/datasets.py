"""Changes to a saved dataset that reach into the run records: a dataset in use is not removed, and a
rename renames it in every run and sweep that names it, in one transaction."""
from __future__ import annotations

import json

from core.data.library import builtin_names, validate_dataset_name
from core.runs.records import to_json
from core.runs.store import RunStore


class DatasetInUse(ValueError):
    """A saved dataset cannot be removed while runs use it; the message names them."""


def _same_name(a, b) -> bool:
    """Whether two spellings name one saved dataset: the library finds names without case or outer spaces."""
    return str(a).strip().casefold() == str(b).strip().casefold()


def _runs_naming(db, name: str) -> list:
    """The run rows (id, name, config) whose dataset is `name` however spelled ("PHOTOS", " photos "): runs
    recorded before runs kept the library's own spelling."""
    return [row for row in db.execute("SELECT id, name, dataset, config FROM runs").fetchall()
            if _same_name(row["dataset"], name)]


def remove_dataset(store: RunStore, name: str) -> None:
    """Remove saved dataset `name` from `store`'s library; refused while runs use it (naming them), so no
    run loses its images."""
    name = store.datasets.info(name).name
    with store.database.connect() as db:
        users = sorted(_runs_naming(db, name), key=lambda row: -row["id"])
    if users:
        listed = ", ".join(f"{r['id']} ({r['name']})" for r in users[:5]) + (
            f" and {len(users) - 5} more" if len(users) > 5 else "")
        raise DatasetInUse(f"The dataset {name!r} is used by {len(users)} run{'s' if len(users) > 1 else ''}: "
                           f"{listed}. Delete those runs first.")
    store.datasets.remove(name)


def rename_dataset(store: RunStore, old: str, new: str) -> str:
    """Rename saved dataset `old` to `new` and every run record and sweep that names it; returns the name
    given (validated). The folder moves last, inside the transaction: if it cannot, nothing changes."""
    old = store.datasets.info(old).name
    new = validate_dataset_name(new, reserved=builtin_names())
    with store.database.connect() as db:
        for row in _runs_naming(db, old):
            config = json.loads(row["config"])
            config["dataset"] = new
            db.execute("UPDATE runs SET dataset = ?, config = ? WHERE id = ?", (new, to_json(config), row["id"]))
        for row in db.execute("SELECT id, base_config FROM sweeps").fetchall():
            config = json.loads(row["base_config"])
            if isinstance(config.get("dataset"), str) and _same_name(config["dataset"], old):
                config["dataset"] = new
                db.execute("UPDATE sweeps SET base_config = ? WHERE id = ?", (to_json(config), row["id"]))
        new = store.datasets.rename(old, new)
    return new
