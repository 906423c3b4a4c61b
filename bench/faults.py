"""Try bad inputs and faults against the command line and the run store, and print what each gave.

    .venv/bin/python bench/faults.py [--only WORD]

Every scenario runs `python -m core ...` in a fresh temporary store (never the user's) and is classed:

  clean       the expected outcome: one line on stderr and exit code 2 for a refusal, or the right
              result for a fault the store should absorb (a replaced database, a lost process)
  traceback   a Python traceback reached the user
  wrong       it "worked" but gave a wrong result (a junk run recorded, a run mislabelled)
  lost        a saved run's files or record were destroyed or overwritten

The closing table counts each class; the goal is 0 tracebacks, 0 wrong, 0 lost. About 3 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ["--dataset", "synthetic", "--dataset-option", "n_samples=120", "--projection", "none", "--quiet"]


def cli(store: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "--store", str(store), *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def refused(done: subprocess.CompletedProcess) -> str:
    """How a command that must be refused went."""
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        return "traceback"
    if done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1:
        return "clean"
    return "wrong"


def run_count(store: Path) -> int:
    """Runs recorded in `store` (-1 when the store itself cannot be opened: the scenario is about that)."""
    from core.runs import RunStore, StoreError

    try:
        return len(RunStore(store).list_runs()) if (store / "runs.sqlite").exists() else 0
    except StoreError:
        return -1


def finished_run(store: Path) -> int:
    done = cli(store, "train", *DATA, "--algorithm", "kmeans", "--name", "kept")
    assert done.returncode == 0, done.stderr
    from core.runs import RunStore

    return RunStore(store).list_runs()[0].id


# -- scenarios: each takes a fresh store folder and returns (class, detail) -------------------------
def refusal(*args: str, records_nothing: bool = True):
    def scenario(store: Path):
        before = run_count(store)
        done = cli(store, *args)
        outcome = refused(done)
        if outcome == "clean" and records_nothing and run_count(store) != before:
            return "wrong", "a run was recorded for a refused command"
        return outcome, (done.stderr or done.stdout).strip().splitlines()[-1][:110] if (done.stderr or done.stdout) else ""
    return scenario


def damaged(change):
    def scenario(store: Path):
        run_id = finished_run(store)
        change(store / "runs" / str(run_id))
        done = cli(store, "export", str(run_id), "--what", "labels", "--out", str(store / "out"))
        outcome = refused(done)
        if "allow_pickle" in done.stderr:
            return "wrong", "suggests allow_pickle"
        listed = cli(store, "runs")
        if listed.returncode != 0:
            return refused(listed), "listing the runs failed too"
        return outcome, done.stderr.strip()[:110]
    return scenario


def pickled_arrays(folder: Path):
    np.savez(folder / "arrays.npz", labels=np.array([{"x": 1}], dtype=object))


def export_onto_a_file(store: Path):
    run_id = finished_run(store)
    target = store / "a file"
    target.write_text("keep")
    done = cli(store, "export", str(run_id), "--out", str(target))
    if target.read_text() != "keep":
        return "lost", "the file was overwritten"
    return refused(done), done.stderr.strip()[:110]


def export_under_a_file(store: Path):
    run_id = finished_run(store)
    (store / "a file").write_text("keep")
    done = cli(store, "export", str(run_id), "--out", str(store / "a file" / "inside"))
    return refused(done), done.stderr.strip()[:110]


def emptied_database(store: Path):
    run_id = finished_run(store)
    saved = (store / "runs" / str(run_id) / "arrays.npz").read_bytes()
    (store / "runs.sqlite").write_bytes(b"")
    for extra in ("runs.sqlite-wal", "runs.sqlite-shm"):
        (store / extra).unlink(missing_ok=True)
    done = cli(store, "train", *DATA, "--algorithm", "kmeans")
    if done.returncode != 0:
        return refused(done), done.stderr.strip()[:110]
    if (store / "runs" / str(run_id) / "arrays.npz").read_bytes() != saved:
        return "lost", f"run {run_id}'s files were overwritten"
    listed = cli(store, "runs")
    return ("clean" if "no record" in listed.stderr else "wrong"), listed.stderr.strip()[:110]


def corrupt_pages(store: Path):
    finished_run(store)
    with sqlite3.connect(store / "runs.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray((store / "runs.sqlite").read_bytes())
    data[size:] = b"\xde\xad" * ((len(data) - size) // 2)
    (store / "runs.sqlite").write_bytes(bytes(data))
    done = cli(store, "runs")
    if not (store / "runs" / "1").is_dir():
        return "lost", "the run folder went"
    return refused(done), done.stderr.strip()[:110]


def newer_schema(store: Path):
    store.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(store / "runs.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    return refusal("runs")(store)


def not_a_database(store: Path):
    store.mkdir(parents=True, exist_ok=True)
    (store / "runs.sqlite").write_bytes(b"hello" * 200)
    return refusal("runs")(store)


def stale_records(change: dict):
    def scenario(store: Path):
        from core.experiment import RunConfig
        from core.runs import RunStore

        run_id = RunStore(store).start_run(RunConfig(dataset="digits", algorithm="kmeans"), name="ghost")
        with sqlite3.connect(store / "runs.sqlite") as db:
            for column, value in change.items():
                db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))
        status = RunStore(store).get(run_id).status
        deleted = cli(store, "runs")
        if deleted.returncode != 0:
            return refused(deleted), deleted.stderr.strip()[:110]
        return ("clean" if status == "interrupted" else "wrong"), f"recorded as {status}"
    return scenario


def other_hosts_partial(store: Path):
    from core.runs import RunStore

    RunStore(store)
    folder = store / "runs" / ".partial-5-another-machine-4242"
    folder.mkdir()
    RunStore(store)
    return ("clean" if folder.exists() else "lost"), "another machine's save in progress " + (
        "kept" if folder.exists() else "deleted")


def control_characters(store: Path):
    done = cli(store, "train", *DATA, "--algorithm", "kmeans", "--name", "evil\x1b[2J\x07name")
    listed = cli(store, "runs")
    if "\x1b" in listed.stdout:
        return "wrong", "a terminal escape reached the listing"
    return ("clean" if done.returncode == 0 else refused(done)), "escapes stripped from the name"


def hostile_upload(content: bytes, suffix: str):
    def scenario(store: Path):
        path = store.parent / f"upload{suffix}"
        path.write_bytes(content)
        return refusal("datasets", "add", str(path), records_nothing=False)(store)
    return scenario


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def hostile_import(make):
    def scenario(store: Path):
        from core.runs.transfer import run_archive
        from core.runs import RunStore

        source = store.parent / "source"
        run_id = finished_run(source)
        data = make(run_archive(RunStore(source), run_id))
        path = store.parent / "run.zip"
        path.write_bytes(data)
        RunStore(store)
        return refusal("import", str(path))(store)
    return scenario


def rewrite(data: bytes, edit=None, extra=None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            content = edit(item.filename, content) if edit else content
            if content is not None:
                target.writestr(item.filename, content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return buffer.getvalue()


def _edited_record(name, content):
    if name != "run.json":
        return content
    document = json.loads(content)
    document["record"]["n_clusters"] = "ten"
    return json.dumps(document).encode()


SCENARIOS = {
    "train --n-clusters 0": refusal("train", *DATA, "--algorithm", "kmeans", "--n-clusters", "0"),
    "train --n-clusters 1": refusal("train", *DATA, "--algorithm", "kmeans", "--n-clusters", "1"),
    "train --n-clusters -3": refusal("train", *DATA, "--algorithm", "kmeans", "--n-clusters", "-3"),
    "train --n-clusters 10000": refusal("train", *DATA, "--algorithm", "kmeans", "--n-clusters", "10000"),
    "train --n-clusters 10**20": refusal("train", *DATA, "--algorithm", "kmeans", "--n-clusters", str(10**20)),
    "train --samples 0": refusal("train", *DATA, "--algorithm", "kmeans", "--samples", "0"),
    "train --samples -5": refusal("train", *DATA, "--algorithm", "kmeans", "--samples", "-5"),
    "train --samples beyond the data": refusal("train", *DATA, "--algorithm", "kmeans", "--samples", "5000"),
    "train --seed -1": refusal("train", *DATA, "--algorithm", "kmeans", "--seed", "-1"),
    "train --seed 2**40": refusal("train", *DATA, "--algorithm", "kmeans", "--seed", str(2**40)),
    "--set eps=-1": refusal("train", *DATA, "--algorithm", "dbscan", "--set", "eps=-1"),
    "--set eps=nan": refusal("train", *DATA, "--algorithm", "dbscan", "--set", "eps=nan"),
    "--set eps=inf": refusal("train", *DATA, "--algorithm", "dbscan", "--set", "eps=inf"),
    "--set eps=0": refusal("train", *DATA, "--algorithm", "dbscan", "--set", "eps=0"),
    "--set input_dropout=nan": refusal("train", *DATA, "--set", "input_dropout=nan"),
    "--set latent_dim=abc": refusal("train", *DATA, "--set", "latent_dim=abc"),
    "--set latent_dim=1000": refusal("train", *DATA, "--set", "latent_dim=1000"),
    "latent size not below the input (digits, 64)": refusal("train", "--dataset", "digits", "--projection", "none",
                                                            "--set", "latent_dim=64"),
    "--set epochs=0": refusal("train", *DATA, "--set", "epochs=0"),
    "--set epochs=-4": refusal("train", *DATA, "--set", "epochs=-4"),
    "--set unknown=3": refusal("train", *DATA, "--set", "unknown=3"),
    "--set n_clusters=4 (a run setting)": refusal("train", *DATA, "--set", "n_clusters=4"),
    "--dataset-option noise=nan": refusal("train", *DATA, "--dataset-option", "noise=nan"),
    "--dataset-option n_samples=abc": refusal("train", *DATA, "--dataset-option", "n_samples=abc"),
    "--dataset nope": refusal("train", "--dataset", "nope"),
    "--algorithm nope": refusal("train", *DATA, "--algorithm", "nope"),
    "som grid smaller than the clusters": refusal("train", *DATA, "--algorithm", "som", "--set", "grid_rows=2",
                                                  "--set", "grid_cols=2", "--n-clusters", "5"),
    "sweep --vary n_clusters=1,2": refusal("sweep", *DATA, "--algorithm", "kmeans", "--vary", "n_clusters=1,2"),
    "sweep --vary eps=1,2 on ae_kmeans": refusal("sweep", *DATA, "--vary", "eps=1,2"),
    "sweep --vary seed=0,0": refusal("sweep", *DATA, "--algorithm", "kmeans", "--vary", "seed=0,0"),
    "sweep --from-sweep 99": refusal("sweep", "--from-sweep", "99"),
    "sweep with a bad base": refusal("sweep", *DATA, "--algorithm", "kmeans", "--n-clusters", "0",
                                     "--vary", "seed=0,1"),
    "export 99": refusal("export", "99"),
    "export onto a file": export_onto_a_file,
    "export under a file": export_under_a_file,
    "export a run without view.npz": damaged(lambda folder: (folder / "view.npz").unlink()),
    "export a run with truncated arrays.npz": damaged(
        lambda folder: (folder / "arrays.npz").write_bytes((folder / "arrays.npz").read_bytes()[:100])),
    "export a run whose arrays.npz holds objects": damaged(pickled_arrays),
    "export a run whose folder is gone": damaged(shutil.rmtree),
    "datasets add: empty file": hostile_upload(b"", ".zip"),
    "datasets add: text named .zip": hostile_upload(b"just text", ".zip"),
    "datasets add: npz of objects": hostile_upload(npz_bytes(x=np.array([{"a": 1}] * 20, dtype=object)), ".npz"),
    "datasets add: x of rank 1": hostile_upload(npz_bytes(x=np.zeros(50)), ".npz"),
    "datasets add: NaN images": hostile_upload(npz_bytes(x=np.full((20, 8, 8), np.nan)), ".npz"),
    "datasets add: a missing path": refusal("datasets", "add", "/no/such/file.zip", records_nothing=False),
    "datasets remove: unknown": refusal("datasets", "remove", "nope", records_nothing=False),
    "datasets rename: unknown": refusal("datasets", "rename", "nope", "new", records_nothing=False),
    "import: not a zip": hostile_import(lambda data: b"not a zip"),
    "import: a path outside the run": hostile_import(lambda data: rewrite(data, extra={"../../x.txt": b"x"})),
    "import: pickled arrays": hostile_import(lambda data: rewrite(data, lambda n, c: npz_bytes(
        labels=np.array([{"x": 1}], dtype=object)) if n == "files/arrays.npz" else c)),
    "import: record edited by hand": hostile_import(lambda data: rewrite(data, _edited_record)),
    "import: unknown dataset": hostile_import(lambda data: rewrite(data, lambda n, c: c.replace(
        b'"dataset": "synthetic"', b'"dataset": "elsewhere"') if n == "run.json" else c)),
    "an emptied runs.sqlite, then a new run": emptied_database,
    "a store whose pages are corrupt": corrupt_pages,
    "a store of a newer schema": newer_schema,
    "runs.sqlite that is not a database": not_a_database,
    "a running run of a dead pid": stale_records({"pid": 999999}),
    "a running run whose pid is alive again (pid 1)": stale_records({"pid": 1, "process_token": "old-boot:1"}),
    "a running run from a renamed host": stale_records({"host": "old-name", "heartbeat": "2026-01-01T00:00:00+00:00"}),
    "another machine's partial folder": other_hosts_partial,
    "control characters in a name": control_characters,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run the scenarios whose name contains this")
    args = parser.parse_args()
    counts = {"clean": 0, "traceback": 0, "wrong": 0, "lost": 0}
    print(f"host {socket.gethostname()}, {len(SCENARIOS)} scenarios\n")
    for name, scenario in SCENARIOS.items():
        if args.only not in name:
            continue
        folder = Path(tempfile.mkdtemp(prefix="faults-"))
        try:
            outcome, detail = scenario(folder / "store")
        except Exception as error:  # the bench itself must not hide a fault: count it as a traceback
            outcome, detail = "traceback", f"{type(error).__name__}: {error}"[:110]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        counts[outcome] += 1
        print(f"{outcome:<10} {name:<48} {detail}", flush=True)
    print("\n" + "  ".join(f"{k}: {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
