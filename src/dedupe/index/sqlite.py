"""The embedded index backend: one SQLite file in WAL mode, one transaction per batch.

Tables:

* ``meta(key, value)``: the recorded settings (JSON).
* ``docs``: one row per document; arrays as raw bytes, the cleaned text, and the LSH band keys
  the document was filed under (so that replacing or removing it finds its entries).
* ``bands(band, key, doc)``: ``WITHOUT ROWID`` with primary key ``(band, key, doc)``: an LSH
  bucket is a range of that B-tree, so a lookup reads only the buckets of the query, never the
  whole index. Bands ``0..b1-1`` belong to the shingle LSH, ``b1..b1+b2-1`` to the content LSH;
  a key is a 64-bit hash of the band's ``r`` MinHash values (datasketch keeps the raw bytes; a
  64-bit hash is smaller and collides with negligible probability, and a collision only adds a
  candidate that verification then rejects).

Writers take the write lock with ``BEGIN IMMEDIATE`` and wait for each other (busy timeout), so
several processes can add to one file; readers are never blocked (WAL). A process killed mid-batch
leaves the previous batches committed and nothing of the interrupted one.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from dedupe.index.base import (
    IndexMissingError,
    IndexStoreError,
    StoredDocument,
    array_bytes,
    array_from,
    arrays_packed,
)
from dedupe.similarity.shingle import fmix64, jaccards_to, jaccards_within

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    doc INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    length INTEGER NOT NULL,
    digest BLOB NOT NULL,
    text_hash BLOB NOT NULL,
    added REAL NOT NULL,
    text TEXT NOT NULL,
    shingles BLOB NOT NULL,
    content BLOB NOT NULL,
    bands BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (band, key, doc)
) WITHOUT ROWID;
"""

_U64 = np.uint64
_SEED = _U64(0x9E3779B97F4A7C15)
_MUL = _U64(0xBF58476D1CE4E5B9)


def band_keys(sig: np.ndarray, b: int, r: int) -> np.ndarray:
    """64-bit keys (as ``int64``) of the ``b`` bands of ``r`` values of a MinHash signature, or of
    each row of a 2-D array of signatures (keys ``(n, b)``).

    The bands are datasketch's: values ``[i*r, (i+1)*r)`` for band ``i``.
    """
    sigs = np.asarray(sig, dtype=np.uint32)
    vals = sigs[..., : b * r].astype(_U64).reshape(*sigs.shape[:-1], b, r)
    with np.errstate(over="ignore"):
        h = np.broadcast_to(fmix64(np.arange(b, dtype=_U64) + _SEED), vals.shape[:-1])
        for j in range(r):
            h = fmix64((h ^ vals[..., j]) * _MUL)
    return h.view(np.int64)


class _Contents:
    """The content arrays of documents by rowid (``docs.doc``), read from the file once and kept in
    one array, up to ``limit`` bytes: an index query checks the content arrays of thousands of
    candidates, the same documents query after query, and checks them in one compiled call on
    their slices of it. Rows this connection writes or removes are forgotten, and all of them
    once another connection has written to the file (:meth:`SQLiteIndex.screen` watches
    ``PRAGMA data_version``): a rowid freed there may hold another document now."""

    LIMIT = 256 << 20
    SPARE = 1 << 16  # values beyond the limit: room for the query's own set

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.values = np.empty(self.SPARE, dtype=_U64)
        self.start = np.full(0, -1, dtype=np.int64)  # by rowid; -1: not held
        self.length = np.zeros(0, dtype=np.int64)
        self.used = self.dropped = 0  # values written; those of rows forgotten since

    def clear(self) -> None:
        """Forget every row."""
        self.start[:] = -1
        self.used = self.dropped = 0

    def held(self, docs: np.ndarray) -> np.ndarray:
        """Whether each of ``docs`` is held."""
        inside = docs < len(self.start)
        out = np.zeros(len(docs), dtype=bool)
        out[inside] = self.start[docs[inside]] >= 0
        return out

    def hold(self, docs: list[int], blobs: list[bytes]) -> None:
        """Keep the stored arrays ``blobs`` of rowids ``docs`` (as many as the limit allows)."""
        for doc, blob in zip(docs, blobs):
            n = len(blob) // 8
            if (self.used + n) * 8 > self.limit:
                return
            self._room(self.used + n, doc)
            self.values[self.used : self.used + n] = np.frombuffer(blob, dtype="<u8")
            self.start[doc], self.length[doc] = self.used, n
            self.used += n

    def _room(self, values: int, doc: int) -> None:
        if values > len(self.values):
            # doubling, but no further than the limit allows (and the query's set after it)
            size = max(values, min(2 * len(self.values), self.limit // 8 + self.SPARE))
            self.values = np.concatenate((self.values, np.empty(size - len(self.values), dtype=_U64)))
        if doc >= len(self.start):
            grow = max(doc + 1, 2 * len(self.start)) - len(self.start)
            self.start = np.concatenate((self.start, np.full(grow, -1, dtype=np.int64)))
            self.length = np.concatenate((self.length, np.zeros(grow, dtype=np.int64)))

    def forget(self, docs: Iterable[int]) -> None:
        for doc in docs:
            if doc < len(self.start) and self.start[doc] >= 0:
                self.start[doc] = -1
                self.dropped += int(self.length[doc])
        if self.dropped * 2 > self.used > 0:  # mostly rows forgotten (a long query --add): start again
            self.clear()

    def jaccards(self, content: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Exact Jaccard of ``content`` with the held arrays of ``docs`` (all held)."""
        # The query's set goes after the held values: no copy of them.
        q = np.ascontiguousarray(content, dtype=_U64)
        self._room(self.used + len(q), 0)
        self.values[self.used : self.used + len(q)] = q
        return jaccards_within(self.values[: self.used + len(q)], self.start[docs], self.length[docs], self.used,
                               len(q))


_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA))


class SQLiteIndex:
    """An index in one SQLite file.

    Args:
        path: The file (created with its tables when ``create`` is true).
        create: Create the file when it does not exist; otherwise a missing file is an error.
        timeout: Seconds to wait for another writer's lock.

    Raises:
        IndexStoreError: the file is missing (and ``create`` is false) or is not an index.
    """

    def __init__(self, path: str, create: bool = False, timeout: float = 600.0) -> None:
        self.location = path
        self._contents = _Contents()
        self._data_version: int | None = None
        self.path = Path(path)
        self.timeout = timeout
        if not self.path.exists() and not create:
            raise IndexMissingError(path)
        if self.path.is_dir():
            raise IndexStoreError(f"index location {path} is a directory; give a file path")
        if create and self.path.parent and not self.path.parent.exists():
            raise IndexStoreError(f"cannot create index {path}: directory {self.path.parent} does not exist")
        try:
            self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
            # Another program's database is refused before anything is written to it (not even the
            # journal mode): every table of the index must be there, or (to create) no table at all.
            tables = _while_busy(lambda: {row[0] for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")}, timeout)
            missing, foreign = sorted(_TABLES - tables), sorted(tables - _TABLES)
            if not tables and not create:  # an empty database: where an index may be made, none yet
                raise IndexMissingError(path)
            if missing and (tables or not create):
                if create and foreign:
                    raise sqlite3.DatabaseError(f"it holds other tables: {', '.join(foreign)}")
                raise sqlite3.DatabaseError(f"no table {', '.join(missing)}")
            # Two processes creating the same index at once: switching to WAL can say "locked"
            # without waiting in the busy handler.
            _while_busy(lambda: self._db.execute("PRAGMA journal_mode=WAL").fetchall(), timeout)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=OFF")
            # A 64 MB page cache (2 MB by default): a batch writes all over the LSH table.
            self._db.execute("PRAGMA cache_size=-65536")
            if create:
                with self._write():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
        except (sqlite3.DatabaseError, IndexStoreError) as exc:
            if hasattr(self, "_db"):
                self._db.close()
            cause = exc.__cause__ if isinstance(exc, IndexStoreError) else exc  # the schema's transaction
            if isinstance(cause, sqlite3.DatabaseError) and _is_busy(cause):
                raise IndexStoreError(f"index {path} is locked by another process (timeout {timeout:g} s)") from exc
            if isinstance(exc, IndexStoreError):
                raise
            raise IndexStoreError(f"{path} is not a dedupe index (SQLite: {exc})") from exc
        self._bands: tuple[int, int, int, int] | None = None

    # -- transactions -------------------------------------------------------------------------
    def _write(self) -> _Transaction:
        return _Transaction(self._db, self.timeout)

    # -- settings -----------------------------------------------------------------------------
    def read_settings(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        return json.loads(row[0]) if row else None

    def init_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        with self._write():
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('settings', ?)",
                             (json.dumps(settings, sort_keys=True),))
            row = self._db.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        stored: dict[str, Any] = json.loads(row[0])
        return stored

    def _lsh(self) -> tuple[int, int, int, int]:
        if self._bands is None:
            s = self.read_settings()
            if s is None:
                raise IndexStoreError(f"index {self.location} has no settings yet")
            self._bands = (*s["shingle_lsh"], *s["content_lsh"])  # type: ignore[assignment]
        assert self._bands is not None
        return self._bands

    def _keys(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None) -> list[tuple[int, int]]:
        return self._keys_of([shingle_sig], [content_sig])[0]

    def _keys_of(self, shingle_sigs: Sequence[np.ndarray | None],
                 content_sigs: Sequence[np.ndarray | None]) -> list[list[tuple[int, int]]]:
        """The ``(band, key)`` pairs of each document (both indexes; content bands after the
        shingle bands), the keys of all the documents computed at once."""
        b1, r1, b2, r2 = self._lsh()
        out: list[list[tuple[int, int]]] = [[] for _ in shingle_sigs]
        for sigs, first, b, r in ((shingle_sigs, 0, b1, r1), (content_sigs, b1, b2, r2)):
            have = [k for k, sig in enumerate(sigs) if sig is not None]
            given = [sig for sig in sigs if sig is not None]
            if not given:
                continue
            keys = band_keys(np.stack(given), b, r).tolist()
            bands = range(first, first + b)
            for k, row in zip(have, keys):
                out[k].extend(zip(bands, row))
        return out

    # -- writing ------------------------------------------------------------------------------
    def _select_in(self, sql: str, keys: Iterable[Any]) -> Iterator[Any]:
        """The rows of ``sql`` for ``keys`` (each once), its ``IN ({marks})`` filled with 500 of them at
        a time (SQLite's limit of variables is 999)."""
        for chunk in _chunks(list(dict.fromkeys(keys)), 500):
            yield from self._db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)

    def text_hashes(self, ids: Sequence[str]) -> dict[str, bytes]:
        return dict(self._select_in("SELECT id, text_hash FROM docs WHERE id IN ({marks})", ids))

    def add(self, documents: Sequence[StoredDocument]) -> None:
        db = self._db
        all_keys = self._keys_of([d.shingle_sig for d in documents], [d.content_sig for d in documents])
        with self._write():
            # The LSH entries of the batch go in last, sorted (one pass down the table's B-tree
            # instead of a random leaf each); an id given twice keeps its last entries only, as
            # when written one by one.
            entries: dict[int, list[tuple[int, int]]] = {}
            for d, keys in zip(documents, all_keys):
                old = db.execute("SELECT doc, bands FROM docs WHERE id = ?", (d.id,)).fetchone()
                packed = np.array([k for _, k in keys], dtype=np.int64).tobytes() + np.array(
                    [b for b, _ in keys], dtype=np.int16).tobytes()
                if old is not None:
                    doc = old[0]
                    db.executemany("DELETE FROM bands WHERE band = ? AND key = ? AND doc = ?",
                                   [(b, k, doc) for b, k in _unpack(old[1])])
                    db.execute(
                        "UPDATE docs SET source=?, length=?, digest=?, text_hash=?, text=?, shingles=?, content=?,"
                        " bands=? WHERE doc=?",
                        (d.source, d.length, d.digest, d.text_hash, d.text, array_bytes(d.shingles),
                         array_bytes(d.content), packed, doc),
                    )
                else:
                    doc = db.execute(
                        "INSERT INTO docs (id, source, length, digest, text_hash, added, text, shingles, content, bands)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (d.id, d.source, d.length, d.digest, d.text_hash, d.added, d.text, array_bytes(d.shingles),
                         array_bytes(d.content), packed),
                    ).lastrowid
                entries[doc] = keys
                self._contents.forget([doc])
            rows = np.array([(b, k, doc) for doc, keys in entries.items() for b, k in keys], dtype=np.int64)
            if len(rows):
                rows = rows[np.lexsort(rows.T[::-1])]
                db.executemany("INSERT OR IGNORE INTO bands (band, key, doc) VALUES (?, ?, ?)", rows.tolist())

    def remove(self, ids: Sequence[str]) -> list[str]:
        db = self._db
        removed = []
        with self._write():
            for i in ids:
                row = db.execute("SELECT doc, bands FROM docs WHERE id = ?", (i,)).fetchone()
                if row is None:
                    continue
                db.executemany("DELETE FROM bands WHERE band = ? AND key = ? AND doc = ?",
                               [(b, k, row[0]) for b, k in _unpack(row[1])])
                db.execute("DELETE FROM docs WHERE doc = ?", (row[0],))
                self._contents.forget([row[0]])
                removed.append(i)
        return removed

    # -- reading ------------------------------------------------------------------------------
    def screen(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None, own_id: str,
               content: np.ndarray, floor: float) -> tuple[set[str], set[str]]:
        keys = self._keys(shingle_sig, content_sig)
        if not keys:
            return set(), set()
        db = self._db
        # One read transaction: the rowids of the bands, the own id, the contents and the ids read
        # agree with each other, whatever other connections commit meanwhile.
        _while_busy(lambda: db.execute("BEGIN"), self.timeout)
        try:
            return self._screen(keys, own_id, content, floor)
        finally:
            db.execute("COMMIT")

    def _screen(self, keys: list[tuple[int, int]], own_id: str, content: np.ndarray,
                floor: float) -> tuple[set[str], set[str]]:
        db, cache = self._db, self._contents
        found = self._band_docs(keys)
        # After the first read (which takes the transaction's snapshot): has another connection
        # written since the last screen? Then a rowid held may be another document's now.
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            cache.clear()
            self._data_version = version
        own = db.execute("SELECT doc FROM docs WHERE id = ?", (own_id,)).fetchone()
        own_doc = np.array([own[0]] if own else [], dtype=np.int64)
        shingle = np.setdiff1d(found[found[:, 0] == 1, 1], own_doc)
        others = np.setdiff1d(found[found[:, 0] == 0, 1], np.concatenate((shingle, own_doc)))
        missing = others[~cache.held(others)].tolist()
        fetched: dict[int, bytes] = dict(self._select_in("SELECT doc, content FROM docs WHERE doc IN ({marks})", missing))
        cache.hold(list(fetched), list(fetched.values()))
        held = cache.held(others)
        kept = others[held][cache.jaccards(content, others[held]) >= floor].tolist()
        # Rows past the cache's limit: checked from what was just read.
        rest = [doc for doc in others[~held].tolist() if doc in fetched]
        if rest:
            scores = jaccards_to(content, *arrays_packed([fetched[doc] for doc in rest]))
            kept += [doc for doc, score in zip(rest, scores.tolist()) if score >= floor]
        ids = self._ids_of(shingle.tolist() + kept)
        return {ids[d] for d in shingle.tolist() if d in ids}, {ids[d] for d in kept if d in ids}

    def _ids_of(self, docs: list[int]) -> dict[int, str]:
        return dict(self._select_in("SELECT doc, id FROM docs WHERE doc IN ({marks})", docs))

    def _band_docs(self, keys: list[tuple[int, int]]) -> np.ndarray:
        """The documents (rowids) sharing a band with ``keys``: rows ``(shingle band?, doc)``, each once."""
        values = ",".join("(?,?)" for _ in keys)
        rows = self._db.execute(
            f"WITH q(band, key) AS (VALUES {values}) "
            "SELECT DISTINCT bands.band < ?, bands.doc FROM q JOIN bands ON bands.band = q.band AND bands.key = q.key",
            [*(x for pair in keys for x in pair), self._lsh()[0]],
        ).fetchall()
        return np.array(rows, dtype=np.int64).reshape(-1, 2)

    def lookup(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None) -> tuple[set[str], set[str]]:
        keys = self._keys(shingle_sig, content_sig)
        if not keys:
            return set(), set()
        found = self._band_docs(keys)
        ids = self._ids_of(found[:, 1].tolist())
        return ({ids[d] for d in found[found[:, 0] == 1, 1].tolist() if d in ids},
                {ids[d] for d in found[found[:, 0] == 0, 1].tolist() if d in ids})

    def get(self, ids: Iterable[str]) -> dict[str, StoredDocument]:
        return {row[0]: StoredDocument(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]), row[5], row[6],
                                       array_from(row[7]), array_from(row[8]))
                for row in self._select_in("SELECT id, source, length, digest, text_hash, added, text, shingles, content"
                                           " FROM docs WHERE id IN ({marks})", ids)}

    def content_blobs(self, ids: Iterable[str]) -> dict[str, bytes]:
        return dict(self._select_in("SELECT id, content FROM docs WHERE id IN ({marks})", ids))

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def iter_entries(self) -> Iterator[tuple[str, str, int, float]]:
        yield from self._db.execute("SELECT id, source, length, added FROM docs ORDER BY id")

    def candidate_buckets(self, content: bool) -> Iterator[list[str]]:
        b1 = self._lsh()[0]
        cond = "band >= ?" if content else "band < ?"
        rows = self._db.execute(
            f"SELECT group_concat(doc) FROM bands WHERE {cond} GROUP BY band, key HAVING count(*) > 1", (b1,)
        ).fetchall()
        names = dict(self._db.execute("SELECT doc, id FROM docs"))
        for (group,) in rows:
            members = [names[int(x)] for x in group.split(",") if int(x) in names]
            if len(members) > 1:
                yield members

    def size_info(self) -> dict[str, Any]:
        files = [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]
        band_rows = int(self._db.execute("SELECT count(*) FROM bands").fetchone()[0])
        return {"bytes": sum(f.stat().st_size for f in files if f.exists()), "band_entries": band_rows}

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the main file (for an honest size on disk)."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error); waits for other writers."""

    def __init__(self, db: sqlite3.Connection, timeout: float) -> None:
        self.db = db
        self.timeout = timeout

    def __enter__(self) -> None:
        try:
            _while_busy(lambda: self.db.execute("BEGIN IMMEDIATE"), self.timeout)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise IndexStoreError(
                    f"cannot write to the index: locked by another process (timeout {self.timeout:g} s)"
                ) from exc
            raise IndexStoreError(f"cannot write to the index: {exc}") from exc

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


def _is_busy(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite refused because another connection holds a lock."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _while_busy(action: Callable[[], T], timeout: float) -> T:
    """``action()``, tried again while SQLite says the database is busy or locked, for up to
    ``timeout`` seconds. The busy handler covers most waits, but not all: a WAL recovery in
    progress, or a change of journal mode while another connection opens the file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _unpack(packed: bytes) -> list[tuple[int, int]]:
    n = len(packed) // 10
    keys = np.frombuffer(packed[: 8 * n], dtype=np.int64).tolist()
    bands = np.frombuffer(packed[8 * n :], dtype=np.int16).tolist()
    return list(zip(bands, keys))


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

