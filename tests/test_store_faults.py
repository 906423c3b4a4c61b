"""The store never loses or mislabels a run: a replaced database, runs whose process is gone, damaged run
folders, read-only and corrupt stores, other machines' partial folders, control characters, and moving a
run between stores. Each through `core` and, where a user meets it, the command line (one line, exit 2)."""
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from core.experiment import RunConfig
from core.runs import FINISHED, INTERRUPTED, RUNNING, RunStore, StoreError
from core.runs.artifacts import DamagedRun
from tests.conftest import ROOT

SYNTHETIC = {"n_samples": 120, "n_clusters": 3, "image_size": 8, "seed": 2}


def quick(store, name="quick run", **settings):
    from core.runs.runner import record_run

    config = RunConfig(dataset="synthetic", algorithm="kmeans", projection="pca", dataset_options=SYNTHETIC,
                       **settings)
    return record_run(config, store, name=name)


def cli(store_dir, *args):
    """`python -m core --store STORE ARGS...`, in this process (its entry point, exit code and output)."""
    import contextlib
    import types

    from core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--store", str(store_dir), *args])
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def one_line_error(done, *fragments):
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


def test_an_emptied_database_never_overwrites_the_runs_it_forgot(tmp_path):
    store = RunStore(tmp_path)
    first, second = quick(store).run_id, quick(store).run_id
    saved = {i: (store.run_dir(i) / "arrays.npz").read_bytes() for i in (first, second)}
    (tmp_path / "runs.sqlite").write_bytes(b"")  # emptied (or replaced by a fresh one)
    for extra in ("runs.sqlite-wal", "runs.sqlite-shm"):
        (tmp_path / extra).unlink(missing_ok=True)

    reopened = RunStore(tmp_path)
    assert reopened.unknown_folders == [first, second]
    assert "2 run folders" in reopened.unknown_folders_note() and "kept" in reopened.unknown_folders_note()
    third = quick(reopened).run_id
    assert third > second
    assert {i: (store.run_dir(i) / "arrays.npz").read_bytes() for i in (first, second)} == saved
    listed = cli(tmp_path, "runs")
    assert listed.returncode == 0 and "2 run folders" in listed.stderr and "Traceback" not in listed.stderr


def _running_record(store, **columns):
    run_id = store.start_run(RunConfig(dataset="digits", algorithm="kmeans"), name="ghost")
    with sqlite3.connect(store.path) as db:
        for column, value in columns.items():
            db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))
    return run_id


def test_runs_whose_process_is_gone_are_marked_interrupted_even_when_their_pid_lives_again(tmp_path):
    store = RunStore(tmp_path)
    alive = store.start_run(RunConfig(dataset="digits", algorithm="kmeans"), name="alive")
    reused_pid = _running_record(store, pid=1, process_token="another-boot:42")      # pid 1 of an old container
    reused_mine = _running_record(store, process_token="another-boot:43")            # this pid, an older process
    moved_host = _running_record(store, host="renamed-host", heartbeat="2026-01-01T00:00:00+00:00")
    elsewhere_live = _running_record(store, host="other-machine")                    # beating just now
    store.recover()
    status = {r.id: r.status for r in store.list_runs()}
    assert status[alive] == RUNNING and status[elsewhere_live] == RUNNING
    assert status[reused_pid] == status[reused_mine] == status[moved_host] == INTERRUPTED

    with pytest.raises(ValueError, match="still running"):
        store.delete(elsewhere_live)
    store.mark_interrupted(elsewhere_live)
    assert store.get(elsewhere_live).status == INTERRUPTED
    ghost = _running_record(store, host="other-machine")
    store.delete(ghost, force=True)
    assert ghost not in {r.id for r in store.list_runs()}


def test_a_command_line_run_killed_while_the_server_is_up_is_seen_at_the_next_look(tmp_path):
    server = RunStore(tmp_path)  # opened once, like the dashboard's store
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from core.experiment import RunConfig
        from core.runs import RunStore
        RunStore({str(tmp_path)!r}).start_run(RunConfig(dataset="digits", algorithm="kmeans"), name="killed")
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert server.list_runs()[0].status == RUNNING
    assert server.recover() == 1  # what the Runs page does each time it is drawn
    assert server.list_runs()[0].status == INTERRUPTED


def test_a_long_run_keeps_its_heartbeat(tmp_path, monkeypatch):
    import core.runs.runner as runner

    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.001)
    store = RunStore(tmp_path)
    beats = []
    original = store.beat
    monkeypatch.setattr(store, "beat", lambda run_id: (beats.append(run_id), original(run_id)))
    run = quick(store)
    assert beats and set(beats) == {run.run_id}


@pytest.mark.parametrize("damage, expected", [
    (lambda folder: (folder / "view.npz").unlink(), "view.npz is missing"),
    (lambda folder: (folder / "arrays.npz").write_bytes((folder / "arrays.npz").read_bytes()[:200]),
     "arrays.npz cannot be read"),
    (lambda folder: np.savez(folder / "arrays.npz", labels=np.array([{"a": 1}], dtype=object)),
     "arrays.npz cannot be read (it holds Python objects)"),
    (lambda folder: (folder / "view.json").write_text("{not json"), "view.json cannot be read"),
    (lambda folder: shutil.rmtree(folder), "is missing"),
])
def test_a_damaged_run_says_so_and_the_others_stay_usable(tmp_path, damage, expected):
    store = RunStore(tmp_path)
    good, bad = quick(store, name="good").run_id, quick(store, name="bad").run_id
    damage(store.run_dir(bad))
    with pytest.raises(DamagedRun, match=re.escape(expected)) as error:
        store.load_result(bad)
    assert "allow_pickle" not in str(error.value) and "delete the run" in str(error.value)
    assert len(store.load_result(good).labels) == 120
    exported = cli(tmp_path, "export", str(bad), "--what", "labels", "--out", str(tmp_path / "out"))
    one_line_error(exported, f"the saved files of run {bad} are damaged")
    listed = cli(tmp_path, "runs")
    assert listed.returncode == 0 and "bad" in listed.stdout


@pytest.fixture
def app_store():
    """The app's own store (the server caches one per process, at conftest's temporary home), left as this
    test found it: the runs a test adds are deleted afterwards, so other tests' listings are unchanged."""
    store = RunStore()
    before = {r.id for r in store.list_runs()}
    yield store
    for record in store.list_runs():
        if record.id not in before:
            store.delete(record.id, force=True)


def test_the_runs_page_names_a_damaged_run_and_keeps_working(app_store):
    from streamlit.testing.v1 import AppTest

    store = app_store
    quick(store, name="good")
    bad = quick(store, name="bad").run_id
    (store.run_dir(bad) / "view.npz").write_bytes(b"PK\x03\x04 truncated")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["run"] = str(bad)
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert f"the saved files of run {bad} are damaged: view.npz cannot be read" in errors, errors
    assert "allow_pickle" not in errors
    [picker] = [s for s in at.selectbox if s.label == "Run"]
    picker.set_value(bad - 1).run()
    assert not at.exception and not at.error


def test_an_imported_records_text_is_shown_as_text_never_as_links_or_images(app_store, tmp_path):
    """Versions, the silhouette space and the start time of an imported record are drawn as typed: an archive
    made by hand put a live link and a remote image on the Runs page."""
    from streamlit.testing.v1 import AppTest

    from core.runs.transfer import import_run, run_archive

    here = RunStore(tmp_path / "here")
    data = run_archive(here, quick(here, name="from elsewhere").run_id)
    source = zipfile.ZipFile(io.BytesIO(data))
    document = json.loads(source.read("run.json"))
    record = document["record"]
    record["versions"] = {"numpy": "[click me](http://evil.example/)"}
    record["metrics"]["silhouette"]["space"] = "![tracker](http://evil.example/pixel.png)"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item.filename, json.dumps(document) if item.filename == "run.json" else source.read(item))
    run_id = import_run(app_store, buffer.getvalue())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/runs.py").run()
    [picker] = [s for s in at.selectbox if s.label == "Run"]
    picker.set_value(run_id).run()
    assert not at.exception, at.exception
    shown = [e.value for e in (*at.caption, *at.markdown)]
    assert any("evil" in text for text in shown)  # shown, with its link syntax escaped
    assert not [text for text in shown if "](http" in text], [t for t in shown if "evil" in t]


def test_an_archive_with_a_damaged_member_is_refused_in_one_line(tmp_path):
    from core.runs.transfer import run_archive

    here = RunStore(tmp_path / "here")
    data = bytearray(run_archive(here, quick(here, name="damaged on the way").run_id))
    member = next(m for m in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist() if m.filename == "files/arrays.npz")
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    for i in range(start + 20, start + min(member.compress_size, 400), 7):  # the deflate stream, scrambled
        data[i] ^= 0x5A
    archive = tmp_path / "damaged-run.zip"
    archive.write_bytes(bytes(data))
    imported = cli(tmp_path / "there", "import", str(archive))
    one_line_error(imported, "the archive is damaged: arrays.npz cannot be read")
    assert "unexpected" not in imported.stderr and not RunStore(tmp_path / "there").list_runs()


def test_export_onto_a_file_or_an_unwritable_path_is_one_line(tmp_path):
    store = RunStore(tmp_path / "store")
    run_id = quick(store).run_id
    a_file = tmp_path / "a file.txt"
    a_file.write_text("keep me")
    one_line_error(cli(store.directory, "export", str(run_id), "--out", str(a_file)), "is a file; give a folder")
    assert a_file.read_text() == "keep me"
    one_line_error(cli(store.directory, "export", str(run_id), "--out", str(a_file / "inside")), "cannot make the folder")
    first = cli(store.directory, "export", str(run_id), "--what", "labels", "--out", str(tmp_path / "out"))
    again = cli(store.directory, "export", str(run_id), "--what", "labels", "--out", str(tmp_path / "out"))
    assert first.returncode == again.returncode == 0 and "replaced" in again.stdout


def test_a_store_with_corrupt_pages_is_refused_with_what_to_do(tmp_path):
    store = RunStore(tmp_path)
    for _ in range(3):
        quick(store)
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(store.path.read_bytes())
    data[page_size:] = b"\xde\xad" * ((len(data) - page_size) // 2)  # every page after the header's
    store.path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="move runs.sqlite aside"):
        RunStore(tmp_path).list_runs()
    one_line_error(cli(tmp_path, "runs"), "move runs.sqlite aside")
    assert sorted(p.name for p in store.artifacts_root.iterdir() if p.name.isdigit()) == ["1", "2", "3"]


def test_a_read_only_store_lists_and_exports_and_refuses_to_train_before_training(tmp_path, capsys, monkeypatch):
    from core.cli import main

    store = RunStore(tmp_path / "store")
    run_id = quick(store, name="kept").run_id
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out = tmp_path / "out"
    out.mkdir()
    for path in [store.directory, *store.directory.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() == 0:  # root ignores permission bits: the store is denied as it would be to anyone else
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if (
            mode & os.W_OK and str(path).startswith(str(store.directory))) else real_access(path, mode, **kw))
    try:
        assert RunStore(store.directory).read_only
        assert main(["--store", str(store.directory), "runs"]) == 0
        assert "kept" in capsys.readouterr().out
        assert main(["--store", str(store.directory), "export", str(run_id), "--what", "labels", "--out", str(out)]) == 0
        assert list(out.glob("*-labels.csv"))
        capsys.readouterr()
        code = main(["--store", str(store.directory), "train", "--dataset", "synthetic", "--dataset-option",
                     "n_samples=120", "--algorithm", "ae_kmeans", "--set", "epochs=300"])
        captured = capsys.readouterr()
        assert code == 2 and "is read-only" in captured.err and captured.err.count("\n") == 1, captured.err
        assert "epoch" not in captured.out  # refused before any training
        with pytest.raises(StoreError, match="read-only"):
            RunStore(store.directory).rename(run_id, "new name")
        assert main(["--store", str(store.directory), "datasets", "list"]) == 0
    finally:
        for path in [store.directory, *store.directory.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_recovery_leaves_other_machines_partial_folders_alone(tmp_path):
    store = RunStore(tmp_path)
    theirs = store.artifacts_root / ".partial-7-other-machine-12345"
    mine_dead = store.artifacts_root / f".partial-8-{store.host.replace('-', '_')}-999999"
    for folder in (theirs, mine_dead):
        folder.mkdir()
    RunStore(tmp_path)
    assert theirs.exists() and not mine_dead.exists()


def test_an_import_in_progress_survives_the_store_being_opened_meanwhile(tmp_path):
    """Opening a store (a command, the server starting, the worker restarting) drops only the partial folders
    of processes that are gone: an import writing its files keeps them (its folder's pid was read from its
    random suffix, so every opening deleted it: 4 of 4 imports failed in a race)."""
    import threading

    from core.runs.transfer import import_run, run_archive

    here = RunStore(tmp_path / "here")
    data = run_archive(here, quick(here, name="travelling").run_id)
    there = tmp_path / "there"
    RunStore(there)
    done, errors, ids = threading.Event(), [], []

    def imports():
        try:
            for _ in range(6):
                ids.append(import_run(RunStore(there), data))
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=imports)
    thread.start()
    opened = 0
    while not done.is_set():
        RunStore(there)
        opened += 1
    thread.join()
    assert not errors and len(ids) == 6 and opened > 6, (errors, opened)
    assert not list(RunStore(there).artifacts_root.glob(".partial-*"))


def test_exported_labels_never_start_a_spreadsheet_formula(tmp_path, monkeypatch):
    """File names, label names and names a person gave are text in the labels CSV: a cell that a spreadsheet
    would run as a formula ("=HYPERLINK(...)" from a folder name) starts with an apostrophe; numbers stay."""
    import csv

    from core.data.imports import ImportedData
    from core.runs.runner import record_run

    monkeypatch.setenv("DEEP_CLUSTERING_HOME", str(tmp_path))  # the run reads its dataset from this store
    store = RunStore(tmp_path)
    images = (np.random.default_rng(0).random((40, 8, 8, 1)) * 255).astype(np.uint8)
    names = ['=HYPERLINK("http://evil","x").png', "+1.png", "-2.png", "@SUM(A1).png"] + [f"ok{i}.png" for i in range(36)]
    store.datasets.add(ImportedData(kind="images", x=images, labels=np.arange(40) % 2, class_names=["=cmd|' /C calc'!A0", "b"],
                                    file_names=names, source="test"), "formulas")
    run = record_run(RunConfig(dataset="formulas", algorithm="kmeans", n_clusters=2, projection="pca"), store)
    exported = cli(tmp_path, "export", str(run.run_id), "--what", "labels", "--out", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    [written] = (tmp_path / "out").glob("*labels.csv")
    rows = list(csv.DictReader(written.open(encoding="utf-8")))
    cells = [row[column] for row in rows for column in ("file", "true_label")]
    assert not [c for c in cells if c[:1] in "=+-@"], cells[:8]
    by_index = {int(row["index"]): row for row in rows}
    assert by_index[0]["file"] == "\'=HYPERLINK(\"http://evil\",\"x\").png" and by_index[2]["file"] == "\'-2.png"
    assert {row["true_label"] for row in rows} == {"\'=cmd|\' /C calc\'!A0", "b"}
    assert {row["cluster"] for row in rows} <= {"0", "1"}  # numbers are not text


def test_the_command_line_deletes_a_run_even_one_too_damaged_to_read(tmp_path):
    store = RunStore(tmp_path)
    keep, damaged = quick(store, name="keep").run_id, quick(store, name="damaged").run_id
    with sqlite3.connect(store.path) as db:  # a record no run made here could have
        db.execute("UPDATE runs SET started_at = 'yesterday', timings = '{}', metrics = '{\"accuracy\": \"high\"}' "
                   "WHERE id = ?", (damaged,))
    deleted = cli(tmp_path, "delete", str(damaged))
    assert deleted.returncode == 0 and f"deleted run {damaged}" in deleted.stdout, deleted.stderr
    assert [r.id for r in RunStore(tmp_path).list_runs()] == [keep] and not store.run_dir(damaged).exists()
    one_line_error(cli(tmp_path, "delete", "999"), "there is no run 999")


def test_a_dataset_spelled_another_way_is_never_removed_from_under_its_runs(tmp_path, monkeypatch):
    """The library finds "PHOTOS" and " photos " as "photos": a run records the library's own spelling, and
    removing or renaming the dataset sees runs recorded in another spelling before that."""
    from core.data.imports import ImportedData
    from core.runs.runner import record_run

    monkeypatch.setenv("DEEP_CLUSTERING_HOME", str(tmp_path))
    store = RunStore(tmp_path)
    images = (np.random.default_rng(0).random((30, 8, 8, 1)) * 255).astype(np.uint8)
    store.datasets.add(ImportedData(kind="images", x=images, labels=None, class_names=None,
                                    file_names=[f"{i}.png" for i in range(30)], source="test"), "photos")
    settings = dict(algorithm="kmeans", n_clusters=2, projection="pca")
    new = record_run(RunConfig(dataset=" PHOTOS ", **settings), store).run_id
    assert store.get(new).dataset == "photos"
    old = record_run(RunConfig(dataset="photos", **settings), store).run_id
    with sqlite3.connect(store.path) as db:  # recorded before runs kept the library's spelling
        config = json.loads(db.execute("SELECT config FROM runs WHERE id = ?", (old,)).fetchone()[0])
        db.execute("UPDATE runs SET dataset = 'PHOTOS', config = ? WHERE id = ?",
                   (json.dumps({**config, "dataset": "PHOTOS"}), old))
    one_line_error(cli(tmp_path, "datasets", "remove", "photos"), "is used by 2 runs")
    renamed = cli(tmp_path, "datasets", "rename", "photos", "pictures")
    assert renamed.returncode == 0, renamed.stderr
    assert {store.get(i).dataset for i in (new, old)} == {"pictures"}
    assert len(RunStore(tmp_path).load_result(old).labels) == 30  # the run still opens


def test_a_dataset_named_in_four_byte_characters_is_removed_like_any_other(tmp_path):
    from core.data.imports import ImportedData

    store = RunStore(tmp_path)
    name = "\U0001d400" * 60  # 60 letters of 4 bytes: 240 bytes, a folder name the system takes
    images = np.zeros((4, 8, 8, 1), dtype=np.uint8)
    store.datasets.add(ImportedData(kind="images", x=images, labels=None, class_names=None,
                                    file_names=[f"{i}.png" for i in range(4)], source="test"), name)
    removed = cli(tmp_path, "datasets", "remove", name)
    assert removed.returncode == 0, removed.stderr
    assert name not in RunStore(tmp_path).datasets and not list(store.datasets.root.iterdir())


def test_a_table_with_a_label_of_megabytes_is_refused_before_it_is_kept(tmp_path):
    rows = ["a,b,label"] + [f"{i},{i % 3},{'x' * 5_000_000 if i == 7 else 'short'}" for i in range(20)]
    table = tmp_path / "long-label.csv"
    table.write_text("\n".join(rows))
    added = cli(tmp_path, "datasets", "add", str(table), "--label-column", "label")
    one_line_error(added, "holds a label of 5,000,000 characters", "at most 200")
    assert not RunStore(tmp_path).datasets.names()


def test_control_characters_never_reach_a_terminal(tmp_path):
    store = RunStore(tmp_path)
    run_id = quick(store, name="evil\x1b[31m red\x07\u202e").run_id
    assert store.get(run_id).name == "evil[31m red"
    store.rename(run_id, "plain\x1b]0;title\x07 name")
    store.set_tags(run_id, ["t\x1bag"])
    assert (store.get(run_id).name, store.get(run_id).tags) == ("plain]0;title name", ["tag"])
    with sqlite3.connect(store.path) as db:  # a record written before names were cleaned
        db.execute("UPDATE runs SET name = ? WHERE id = ?", ("old\x1b[2Jname", run_id))
    listed = cli(tmp_path, "runs")
    assert listed.returncode == 0 and "\x1b" not in listed.stdout and "old[2Jname" in listed.stdout


def test_a_run_moves_to_another_store_and_hostile_archives_add_nothing(tmp_path):
    from core.runs.transfer import InvalidRunArchive, import_run, run_archive

    here, there = RunStore(tmp_path / "here"), RunStore(tmp_path / "there")
    result = quick(here, name="travelling")
    data = run_archive(here, result.run_id)
    new_id = import_run(there, data)
    moved = there.load_result(new_id)
    assert np.array_equal(moved.labels, result.labels) and there.get(new_id).name == "travelling"
    assert there.get(new_id).status == FINISHED and moved.metrics.as_dict() == result.metrics.as_dict()

    def rebuilt(edit=None, extra=None):
        source = zipfile.ZipFile(io.BytesIO(data))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as target:
            for item in source.infolist():
                content = source.read(item)
                if edit is not None:
                    content = edit(item.filename, content)
                if content is not None:
                    target.writestr(item.filename, content)
            for name, content in (extra or {}).items():
                target.writestr(name, content)
        return buffer.getvalue()

    def pickled(name, content):
        if name != "files/arrays.npz":
            return content
        buffer = io.BytesIO()
        np.savez(buffer, labels=np.array([{"x": 1}], dtype=object), embedding=np.zeros(1), indices=np.zeros(1))
        return buffer.getvalue()

    def other_dataset(name, content):
        if name != "run.json":
            return content
        document = json.loads(content)
        document["record"]["config"]["dataset"] = "holiday photos"
        return json.dumps(document).encode()

    hostile = [
        (b"", "not a readable zip"),
        (b"PK\x03\x04 cut short", "not a readable zip"),
        (rebuilt(lambda name, content: None if name == "run.json" else content), "holds no run.json"),
        (rebuilt(extra={"../../escape.txt": b"x"}), "outside a run's files"),
        (rebuilt(extra={"/etc/passwd": b"x"}), "outside a run's files"),
        (rebuilt(pickled), "holds Python objects"),
        (rebuilt(other_dataset), "dataset 'holiday photos', which this store does not have"),
        (rebuilt(lambda name, content: b"{" if name == "run.json" else content), "run.json cannot be read"),
    ]
    before = [r.id for r in there.list_runs()]
    for archive, message in hostile:
        with pytest.raises(InvalidRunArchive, match=message):
            import_run(there, archive)
    assert [r.id for r in there.list_runs()] == before
    assert not list(there.artifacts_root.glob(".partial-*"))

    archive = tmp_path / "run.zip"
    archive.write_bytes(data)
    imported = cli(there.directory, "import", str(archive), "--name", "from the command line")
    assert imported.returncode == 0 and "imported run.zip as run" in imported.stdout, imported.stderr
    archive.write_bytes(hostile[3][0])
    one_line_error(cli(there.directory, "import", str(archive)), "outside a run's files")


def _edited_archive(data: bytes, *, record=None, arrays=None, view=None) -> bytes:
    """The run archive `data` with its record edited by `record(dict)`, or arrays.npz / view.npz replaced."""
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "run.json" and record is not None:
                document = json.loads(content)
                record(document["record"])
                content = json.dumps(document).encode()
            content = {"files/arrays.npz": arrays, "files/view.npz": view}.get(item.filename) or content
            target.writestr(item, content)
    return buffer.getvalue()


def _npz(**members) -> bytes:
    """An .npz whose members are arrays, or (shape, dtype) declared in a header and streamed as zeros (a
    member that expands to hundreds of megabytes from a few hundred kilobytes, never held in memory here)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                if isinstance(value, np.ndarray):
                    np.lib.format.write_array(member, value, allow_pickle=False)
                    continue
                shape, dtype = value
                np.lib.format.write_array_header_1_0(member, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                              "shape": shape})
                left, chunk = int(np.prod(shape)) * np.dtype(dtype).itemsize, bytes(2**22)
                while left > 0:
                    member.write(chunk[:min(left, len(chunk))])
                    left -= len(chunk)
    return buffer.getvalue()


def _edit(path, value):
    def change(record):
        *parents, last = path
        for key in parents:
            record = record[key]
        record[last] = value
    return change


N = SYNTHETIC["n_samples"]
HOSTILE_ARCHIVES = {
    "image size of 100,000": (dict(record=_edit(["config", "dataset_options", "image_size"], 100_000)),
                              "Image side (pixels) must be from 8"),
    "unknown dataset option": (dict(record=_edit(["config", "dataset_options", "evil"], 1)),
                               "synthetic has no option 'evil'"),
    "n_samples all": (dict(record=_edit(["config", "n_samples"], "all")), "Sample size must be a whole number"),
    "unknown parameter": (dict(record=_edit(["config", "params", "evil"], 1)), "has no setting evil"),
    "negative seed": (dict(record=_edit(["config", "seed"], -5)), "Seed must be from 0"),
    "a cluster per image": (dict(record=_edit(["config", "n_clusters"], N)),
                            f"Number of clusters must be less than {N}"),
    "started yesterday": (dict(record=_edit(["started_at"], "yesterday")), "started_at must be a date and time"),
    "accuracy high": (dict(record=_edit(["metrics", "accuracy"], "high")), "accuracy must be a number from -1 to 1"),
    "a long history": (dict(record=_edit(["history"], [{"epoch": i, "loss": 0.1} for i in range(6_000)])),
                       "history must be a list of at most 5,000 rows"),
    "timings in words": (dict(record=_edit(["timings"], {"fit": "slow"})), "timings must be a few named durations"),
    "a count unlike its settings": (dict(record=_edit(["n_samples"], N - 1)),
                                    f"counts {N - 1} images where its settings give {N}"),
    "labels as text": (dict(arrays=lambda: _npz(labels=np.array([str(i % 3) for i in range(N)]),
                                                embedding=np.zeros((N, 4), np.float32), indices=np.arange(N))),
                       "array 'labels' holds <U1 values, not plain numbers"),
    "an embedding of 380 MB": (dict(arrays=lambda: _npz(labels=np.zeros(N, np.int64), indices=np.arange(N),
                                                        embedding=((N, 400_000), "<f8"))),
                               f"array 'embedding' is ({N}, 400000) float64"),
    "view arrays of 763 MB": (dict(view=lambda: _npz(centers=((2_000, 50_000), "<f8"))), "its arrays declare 763 MB"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from core.runs.transfer import run_archive

    here = RunStore(tmp_path_factory.mktemp("exporting"))
    return run_archive(here, quick(here, name="original").run_id)


@pytest.mark.parametrize("case", HOSTILE_ARCHIVES)
def test_an_archive_holding_what_no_run_made_here_could_is_refused_before_it_costs(exported, tmp_path, case):
    """A run archive is checked by the code that checks a run made here: its settings as a new run's, its
    record's fields as a finished run's, its arrays' shapes and sizes from their headers before any is read."""
    import tracemalloc

    from core.runs.transfer import InvalidRunArchive, import_run

    parts, message = HOSTILE_ARCHIVES[case]
    archive = _edited_archive(exported, **{k: v() if callable(v) and k != "record" else v for k, v in parts.items()})
    there = RunStore(tmp_path / "there")
    tracemalloc.start()
    try:
        with pytest.raises(InvalidRunArchive, match=re.escape(message)):
            import_run(there, archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(archive) * 4 + 32 * 2**20, peak   # refused from the headers: nothing was expanded
    assert not there.list_runs() and not list(there.artifacts_root.glob(".partial-*"))
    (tmp_path / "hostile.zip").write_bytes(archive)
    one_line_error(cli(there.directory, "import", str(tmp_path / "hostile.zip")), message)
    listed = cli(there.directory, "runs")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed


def test_the_runs_page_marks_a_lost_run_interrupted_deletes_several_and_imports_a_run(tmp_path, app_store):
    from streamlit.testing.v1 import AppTest

    from core.runs.transfer import run_archive

    store = app_store
    runs = [quick(store, name=f"run {i}").run_id for i in range(3)]
    lost = _running_record(store, host="laptop-that-was-closed")
    elsewhere = RunStore(tmp_path / "elsewhere")
    travelling = quick(elsewhere, name="from a colleague").run_id

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["run"] = str(lost)
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    assert any("from another process" in i.value and "laptop" in i.value for i in at.info)
    at.button(key="runs_mark_interrupted").click().run()
    assert store.get(lost).status == INTERRUPTED

    assert any("Runs take" in m.value and "MB" in m.value for m in at.markdown)
    at.multiselect(key="runs_bulk").set_value(runs[:2]).run()
    at.button(key="runs_bulk_delete").click().run()
    at.button(key="runs_bulk_yes").click().run()
    assert not at.exception, at.exception
    remaining = {r.id for r in store.list_runs()}
    assert runs[2] in remaining and lost in remaining and not {runs[0], runs[1]} & remaining
    assert not store.run_dir(runs[0]).exists() and not store.run_dir(runs[1]).exists()

    uploader = at.get("file_uploader")[0]
    uploader.set_value(("shared-run.zip", run_archive(elsewhere, travelling), "application/zip")).run()
    at.button(key="runs_import_go").click().run()
    assert not at.exception, at.exception
    imported = store.list_runs()[0]
    assert imported.name == "from a colleague" and imported.status == FINISHED
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("not-a-run.zip", b"PK\x03\x04 nothing", "application/zip")).run()
    at.button(key="runs_import_go").click().run()
    assert not at.exception and any("not a readable zip" in e.value for e in at.error)
