"""The benchmark history: every bench stored in one SQLite file, listed, filtered and fetched for comparison.

One row per run (``runs``) and one per candidate of the run (``candidates``: a candidate at one thread count,
with its statistics as columns and every sample as a JSON array). The device is stored with each run rather than
in a table of its own: an Android version, an SDK level or a CPU governor change between two runs of one phone,
and each run must keep what it was measured on. ``device_key`` says which runs come from the same device
(``host:<machine>:<cpu>:<cores>``, ``phone:<serial>``). The full schema and its reasons: docs/bench-history.md.

Where a run was measured (``device_kind``): ``host`` fills cpu/cores/machine; ``phone`` fills serial,
manufacturer, model, SoC id and name, Android version, SDK and ABI; ``emulated-arm64`` names its core profile.
``unit`` is the unit of samples and statistics: ``ms``, or ``instructions`` for an emulated-cost run; two runs
are only compared in one unit.

Robustness: the journal is WAL and every connection waits up to :data:`BUSY_TIMEOUT_S` for a lock, and a run
is written in one ``BEGIN IMMEDIATE`` transaction, so concurrent writers queue instead of failing and a reader
never sees half a run. Opening checks before anything is written (header, ``schema_version``,
``PRAGMA quick_check``): a file that fails is left byte for byte as it was and raises
:class:`HistoryUnusableError`, so the caller can keep the run elsewhere (:func:`side_path`).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from mobilesdk.bench.records import DEVICE_KINDS, UNITS, Device, StoredCandidate, StoredRun, run_of
from mobilesdk.bench.stats import Stats
from mobilesdk.errors import MobileSDKError

__all__ = ["History", "HistoryError", "HistoryUnusableError", "StoredRun", "default_path", "run_of", "store"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0  # a writer holds the lock for one run's INSERTs (milliseconds); 30 s is a stuck peer
SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    model TEXT NOT NULL,
    model_fingerprint TEXT,
    unit TEXT NOT NULL,
    mobilesdk_version TEXT NOT NULL,
    device_key TEXT NOT NULL,
    device_kind TEXT NOT NULL,
    device_label TEXT NOT NULL,
    cpu TEXT, cores INTEGER, machine TEXT,
    serial TEXT, manufacturer TEXT, device_model TEXT, soc_id TEXT, soc_name TEXT,
    android_version TEXT, sdk INTEGER, abi TEXT,
    device_extra TEXT NOT NULL DEFAULT '{}',
    plan TEXT NOT NULL DEFAULT '{}',
    freqs_before TEXT, freqs_after TEXT, temps_before TEXT, temps_after TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_by_model_device ON runs (model, device_key, id);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    runtime TEXT NOT NULL,
    runtime_version TEXT,
    recipe TEXT,
    file TEXT,
    artifact_sha256 TEXT,
    bytes INTEGER,
    threads INTEGER NOT NULL,
    core_mask TEXT,
    load_ms REAL,
    n INTEGER NOT NULL,
    -- NULL where a stock runner printed no such figure (benchmark_model: summary statistics only)
    min REAL, p10 REAL, p50 REAL NOT NULL, p90 REAL, p99 REAL,
    max REAL, mean REAL NOT NULL, trimmed_mean REAL, std REAL, cv REAL,
    samples TEXT NOT NULL,
    ratios TEXT NOT NULL DEFAULT '{}',
    stages TEXT
);
CREATE INDEX IF NOT EXISTS candidates_by_run ON candidates (run_id, position);
"""
_DEVICE_COLUMNS = {f.name: f.name for f in fields(Device) if f.name not in ("kind", "extra")}
_DEVICE_COLUMNS["model"] = "device_model"  # Device field -> runs column ("model" is the model id there)
_DEVICE_SEARCHED = ("device_label", "device_key", "device_model", "soc_id", "soc_name", "serial", "abi")
_RUN_PLAIN = ("created_at", "model", "model_fingerprint", "unit", "mobilesdk_version")
_RUN_JSON = ("plan", "freqs_before", "freqs_after", "temps_before", "temps_after", "notes", "extra")
_CANDIDATE_JSON = ("samples", "ratios", "stages")
_CANDIDATE_PLAIN = tuple(f.name for f in fields(StoredCandidate) if f.name not in ("stats", *_CANDIDATE_JSON))
_STATS = ("n", "min", "p10", "p50", "p90", "p99", "max", "mean", "trimmed_mean", "std", "cv")


class HistoryError(MobileSDKError):
    """The history cannot answer as asked (an unknown run, nothing to compare)."""


class HistoryUnusableError(HistoryError):
    """The history file cannot hold runs: corrupted, not a history, a newer schema, or locked for too long."""


def default_path(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/mobilesdk/history.sqlite``, else ``~/.local/share/mobilesdk/history.sqlite`` (the XDG
    spec ignores a relative ``XDG_DATA_HOME``)."""
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path("~/.local/share").expanduser()
    return root / "mobilesdk" / "history.sqlite"


def side_path(path: Path, created_at: str) -> Path:
    """A fresh file beside ``path`` for a run that could not be stored in it."""
    stamp = created_at.replace("-", "").replace(":", "")[:15]
    return Path(path).with_name(f"{Path(path).stem}.unsaved-{stamp}-{os.getpid()}.sqlite")


class History:
    """An open history database. ``History.open(path)`` checks it; use as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection | None):
        self.path = Path(path)
        self._conn = conn  # None: a history that does not exist yet, opened for reading

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> History:
        """``create``: make the file (and its folder) when missing; otherwise a missing file reads as empty."""
        path = Path(path)
        exists = path.exists()
        if not exists and not create:
            return cls(path, None)
        _check_header(path)
        if not exists:
            path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite answers "database is locked" at once, without its busy timeout, where waiting could deadlock:
        # a connection holding a read lock that needs the write lock (switching to WAL, creating the schema)
        # while another process writes, e.g. two benches storing into a new file at once. Such an open is
        # retried from the start until the same deadline.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            except sqlite3.Error as exc:
                raise HistoryUnusableError(f"{path}: cannot open ({exc})") from None
            try:
                version = _checked_version(path, conn)  # reads only: a bad file is left as it was
                if version is None and not create:
                    conn.close()
                    return cls(path, None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                if version is None:
                    _create(conn)
                conn.row_factory = sqlite3.Row
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(random.uniform(0.01, 0.05))
                    continue
                raise _unusable(path, exc) from None
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise _unusable(path, exc) from None
            except BaseException:
                conn.close()
                raise
            return cls(path, conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- writing ---------------------------------------------------------------------------------------

    def add(self, run: StoredRun) -> int:
        """Store ``run`` in one transaction; returns its id (also set on ``run``)."""
        if run.unit not in UNITS:
            raise HistoryError(f"unit '{run.unit}': choose from {', '.join(UNITS)}")
        if run.device.kind not in DEVICE_KINDS:
            raise HistoryError(f"device kind '{run.device.kind}': choose from {', '.join(DEVICE_KINDS)}")
        conn = self._require()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                run_id = self._insert(conn, run)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise _unusable(self.path, exc) from None
        run.id = run_id
        return run_id

    @staticmethod
    def _insert(conn: sqlite3.Connection, run: StoredRun) -> int:
        d = run.device
        row = {k: getattr(run, k) for k in _RUN_PLAIN}
        row |= {
            "device_key": d.key,
            "device_kind": d.kind,
            "device_label": d.label,
            "device_extra": _dumps(d.extra),
        }
        row |= {column: getattr(d, name) for name, column in _DEVICE_COLUMNS.items()}
        row |= {k: _dumps(getattr(run, k)) for k in _RUN_JSON}
        run_id = _insert_row(conn, "runs", row)
        for position, c in enumerate(run.candidates):
            crow = {"run_id": run_id, "position": position, **{k: getattr(c, k) for k in _CANDIDATE_PLAIN}}
            crow |= {k: getattr(c.stats, k) for k in _STATS}
            crow |= {k: _dumps(getattr(c, k)) for k in _CANDIDATE_JSON}
            _insert_row(conn, "candidates", crow)
        return run_id

    # ---- reading ---------------------------------------------------------------------------------------

    def runs(
        self, *, model: str | None = None, device: str | None = None, limit: int | None = None
    ) -> list[StoredRun]:
        """Newest first. ``model``: exact id; ``device``: a case-insensitive part of the device's label, key,
        model, SoC id or name, serial or ABI (``host``, ``SM8650``, ``Pixel 8``); ``limit``: at most that many
        (None or 0: all)."""
        where, args = self._filters(model, device)
        sql = f"SELECT * FROM runs{where} ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return self._load(sql, args)

    def count(self, *, model: str | None = None, device: str | None = None) -> int:
        if self._conn is None:
            return 0
        where, args = self._filters(model, device)
        return int(self._query(f"SELECT count(*) FROM runs{where}", args)[0][0])

    def run(self, run_id: int) -> StoredRun:
        found = self._load("SELECT * FROM runs WHERE id = ?", [run_id])
        if not found:
            raise HistoryError(self._unknown(run_id))
        return found[0]

    def previous(self, run: StoredRun) -> StoredRun | None:
        """The newest run before ``run`` of the same model, on the same device, in the same unit."""
        found = self._load(
            "SELECT * FROM runs WHERE model = ? AND device_key = ? AND unit = ? AND id < ? ORDER BY id DESC LIMIT 1",
            [run.model, run.device.key, run.unit, run.id],
        )
        return found[0] if found else None

    def _unknown(self, run_id: int) -> str:
        span = self._query("SELECT min(id), max(id), count(*) FROM runs", []) if self._conn else [(0, 0, 0)]
        lo, hi, n = span[0]
        held = f"it holds runs {lo} to {hi}" if n else "it holds no runs"
        return f"run {run_id} is not in {self.path} ({held}; `mobilesdk bench history` lists them)"

    @staticmethod
    def _filters(model: str | None, device: str | None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if model:
            clauses.append("model = ?")
            args.append(model)
        if device:
            haystack = " || ' | ' || ".join(f"coalesce({c}, '')" for c in _DEVICE_SEARCHED)
            clauses.append(f"instr(lower({haystack}), lower(?)) > 0")
            args.append(device)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def _query(self, sql: str, args: Sequence[Any]) -> list[sqlite3.Row]:
        conn = self._conn
        if conn is None:
            return []
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _unusable(self.path, exc) from None

    def _load(self, sql: str, args: Sequence[Any]) -> list[StoredRun]:
        if self._conn is None:
            return []
        try:
            self._conn.execute("BEGIN")  # one snapshot for the runs and their candidates
            try:
                rows = self._query(sql, args)
                cands: dict[int, list[StoredCandidate]] = {}
                chosen = f"SELECT * FROM candidates WHERE run_id IN (SELECT id FROM ({sql})) ORDER BY run_id, position"
                for c in self._query(chosen, args) if rows else []:
                    cands.setdefault(c["run_id"], []).append(_candidate(c))
            finally:
                self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise _unusable(self.path, exc) from None
        return [_run(r, cands.get(r["id"], [])) for r in rows]

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"{self.path}: the history is closed")
        return self._conn


def store(path: Path, run: StoredRun) -> int:
    """Open (creating) the history at ``path``, add ``run``, close; returns the run's id."""
    with History.open(path) as history:
        return history.add(run)


# ---- checks ----------------------------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    """An existing non-empty file must start like an SQLite database (an empty file is a new database)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise HistoryUnusableError(f"{path}: is a directory, not a history file: pass --db FILE") from None
    if head and head != SQLITE_MAGIC:
        raise _unusable(path, "not an SQLite database")


def _checked_version(path: Path, conn: sqlite3.Connection) -> int | None:
    """The schema version of an intact history; None for an empty database. Reads only."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return None
    if "schema_version" not in tables:
        raise HistoryUnusableError(
            f"{path}: an SQLite database but not a mobilesdk history (no schema_version table); "
            "left untouched: pass --db for a history file"
        )
    rows = conn.execute("SELECT version FROM schema_version").fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise _unusable(path, f"schema_version holds {[r[0] for r in rows]}")
    version = rows[0][0]
    if version > SCHEMA_VERSION:
        raise HistoryUnusableError(
            f"{path}: history schema version {version} is newer than this mobilesdk knows ({SCHEMA_VERSION}); "
            "left untouched: upgrade mobilesdk, or pass --db for another file"
        )
    problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise _unusable(path, problems[0])
    if version < SCHEMA_VERSION:  # no older schema exists yet; migrations go here, one step per version
        raise _unusable(path, f"unknown schema version {version}")
    return version


def _create(conn: sqlite3.Connection) -> None:
    """Create the schema; concurrent creators serialise on the write lock, and the first one wins."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        if conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _unusable(path: Path, detail: sqlite3.Error | str) -> HistoryUnusableError:
    """``detail``: SQLite's error, or what a check found (a corruption)."""
    code = getattr(detail, "sqlite_errorname", "") or ""
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return HistoryUnusableError(
            f"{path}: the history stayed locked by another process for {BUSY_TIMEOUT_S:g} s ({detail}); "
            "try again, or pass --db for another file"
        )
    if isinstance(detail, str) or code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return HistoryUnusableError(
            f"{path}: corrupted history database ({detail}); left untouched: move it aside "
            "(or pass --db NEW) to start a new history"
        )
    return HistoryUnusableError(f"{path}: cannot use the history ({detail}); pass --db for another file")


# ---- rows <-> records ------------------------------------------------------------------------------------


def _insert_row(conn: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> int:
    sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
    return int(conn.execute(sql, list(row.values())).lastrowid)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _candidate(row: sqlite3.Row) -> StoredCandidate:
    stats = Stats(**{k: float("nan") if row[k] is None else row[k] for k in _STATS})  # NaN is stored as NULL
    return StoredCandidate(
        stats=stats,
        **{k: row[k] for k in _CANDIDATE_PLAIN},
        **{k: _loads(row[k]) for k in _CANDIDATE_JSON},
    )


def _run(row: sqlite3.Row, candidates: list[StoredCandidate]) -> StoredRun:
    device = Device(
        row["device_kind"],
        extra=_loads(row["device_extra"]),
        **{name: row[column] for name, column in _DEVICE_COLUMNS.items()},
    )
    return StoredRun(
        id=row["id"],
        device=device,
        candidates=candidates,
        **{k: row[k] for k in _RUN_PLAIN},
        **{k: _loads(row[k]) for k in _RUN_JSON},
    )
