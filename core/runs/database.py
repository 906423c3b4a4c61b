"""The run store's SQLite file: one connection per operation, SQLite's errors as messages that say what
to do, and the schema migrated forward on open (core.runs.schema holds the steps)."""
from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path

from core.home import STORE_ENV
from core.runs.schema import MIGRATIONS, SCHEMA_VERSION

DB_NAME = "runs.sqlite"


class StoreError(RuntimeError):
    """The store cannot be used (unreadable file, or a schema newer than this version of the code)."""


class Database:
    """The SQLite file `directory`/runs.sqlite of a run store. Read-only stores are opened immutable:
    no locks or journal files are written to a folder that cannot take them."""

    def __init__(self, directory: Path, *, read_only: bool = False):
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.read_only = read_only

    @contextmanager
    def connect(self):
        """A connection for one operation, committed on success and rolled back on error; SQLite's own
        errors come out as StoreError saying what to do."""
        try:
            if self.read_only:  # nothing changes a read-only store
                connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?immutable=1", uri=True, timeout=30)
            else:
                connection = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as error:
            raise self.error(error) from error
        connection.row_factory = sqlite3.Row
        try:
            with closing(connection):
                with connection:
                    yield connection
        except sqlite3.Error as error:
            raise self.error(error) from error

    def error(self, error: sqlite3.Error) -> StoreError:
        """SQLite's `error` as a StoreError that tells the user what to do."""
        text = str(error)
        runs = self.directory / "runs"
        if "readonly" in text or "read-only" in text:
            return StoreError(f"the run store {self.directory} is read-only: its runs can be listed and exported, "
                              f"but nothing can be saved or changed. Make it writable, or set {STORE_ENV} (or "
                              "--store) to a writable folder.")
        if "locked" in text or "busy" in text:
            return StoreError(f"the run store {self.directory} is busy: another process has held it for 30 s. "
                              "Try again in a moment.")
        if any(word in text for word in ("malformed", "not a database", "disk I/O", "corrupt")):
            return StoreError(f"the run store's database {self.path} is damaged ({text}). The run folders in "
                              f"{runs} are untouched: move {DB_NAME} aside (rename it to "
                              f"{DB_NAME}.damaged) to start a new database; new runs are then numbered after "
                              "the existing folders.")
        if "unable to open" in text:
            return StoreError(f"cannot open the run store {self.path} ({text}). Check that the folder exists and "
                              f"can be read, or set {STORE_ENV} to another folder.")
        return StoreError(f"the run store {self.path} could not be used ({text}).")

    @property
    def schema_version(self) -> int:
        with self.connect() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, all steps in one transaction (a crash mid-way leaves the old
        version intact). StoreError for a schema newer than this code, or an old one that cannot be written."""
        with self.connect() as db:
            try:
                if not self.read_only:
                    db.execute("PRAGMA journal_mode=WAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.DatabaseError as error:
                raise StoreError(f"{self.path} is not a readable run store ({error}). The run folders in "
                                 f"{self.directory / 'runs'} are untouched: move {DB_NAME} aside to start a new "
                                 "database; new runs are then numbered after the existing folders.") from error
        if version > SCHEMA_VERSION:
            raise StoreError(f"the run store {self.path} was written by a newer version of this app (schema "
                             f"{version}, this version reads up to {SCHEMA_VERSION}); update the app.")
        if version == SCHEMA_VERSION:
            return
        if self.read_only:
            raise StoreError(f"the run store {self.directory} was written by an older version of this app and is "
                             "read-only, so it cannot be upgraded: open it once from a process that may write it.")
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as error:
            raise self.error(error) from error
        with closing(connection):
            try:
                connection.execute("BEGIN IMMEDIATE")
                version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
                for step in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[step].split(";"):
                        if statement.strip():
                            connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                connection.execute("COMMIT")
            except BaseException as error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise self.error(error) from error
                raise
