"""The shared index backend: datasketch's Redis storage for the LSH buckets, records in the same Redis.

``LOCATION`` is ``redis://[:password@]host:port/db`` with an optional ``?prefix=NAME`` (default
``dedupe``) so that several indexes can share one database. Keys (``P`` is the prefix):

* ``P:settings``: the recorded settings (JSON), set once with ``SET NX``.
* ``P:lsh:shingle...`` and ``P:lsh:content...``: the two ``datasketch.MinHashLSH`` indexes
  (``storage_config={"type": "redis", "basename": ...}``, ``prepickle=False`` with the UTF-8 id
  as key, so nothing read from Redis is ever unpickled).
* ``P:doc:ID``: a hash with the record (``meta`` JSON, ``text``, ``shingles``, ``content`` raw
  bytes); ``P:ids``: the set of ids.

A document's record is written after its LSH entries, in one ``MULTI``/``EXEC`` per batch: a
document is visible once that commits; LSH entries left by a writer that died before are ignored
(no record) and replaced when the document is added again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from dedupe.errors import ConfigError
from dedupe.index.base import (
    ContentCache,
    IndexMissingError,
    IndexStoreError,
    StoredDocument,
    array_bytes,
    array_from,
    arrays_packed,
)
from dedupe.similarity.shingle import jaccards_to
from dedupe.similarity.signature import SCHEME

try:
    import redis as redis_lib
    from datasketch import LeanMinHash, MinHashLSH
except ImportError:  # pragma: no cover - depends on the installation
    redis_lib = None  # type: ignore[assignment]


def parse_redis_location(location: str) -> tuple[dict[str, Any], str]:
    """``redis://[:password@]host:port/db[?prefix=NAME]`` -> (``redis.Redis`` arguments, prefix).

    Raises:
        ConfigError: not such a URL.
    """
    parts = urlsplit(location)
    if parts.scheme != "redis":
        raise ConfigError(f"index location must be a file path or redis://host:port/db, got {location!r}")
    db_text = parts.path.strip("/") or "0"
    if not db_text.isdigit():
        raise ConfigError(f"redis database must be a number, got {db_text!r} in {location!r}")
    try:
        port = parts.port or 6379
    except ValueError as exc:
        raise ConfigError(f"bad port in {location!r}") from exc
    params: dict[str, Any] = {"host": parts.hostname or "localhost", "port": port, "db": int(db_text)}
    if parts.password:
        params["password"] = unquote(parts.password)
    if parts.username:
        params["username"] = unquote(parts.username)
    prefix = parse_qs(parts.query).get("prefix", ["dedupe"])[0]
    if not prefix or ":" in prefix:
        raise ConfigError(f"redis prefix must be a non-empty name without ':', got {prefix!r}")
    return params, prefix


class RedisIndex:
    """An index in a Redis database, shared by every machine that reaches it.

    Args:
        location: ``redis://host:port/db[?prefix=NAME]``.
        create: Allow an empty index (no settings yet); otherwise an empty one is an error.

    Raises:
        ConfigError: a malformed location, or the ``redis`` package is missing.
        IndexStoreError: Redis cannot be reached.
    """

    def __init__(self, location: str, create: bool = False) -> None:
        if redis_lib is None:
            raise ConfigError("a redis:// index needs the redis package: pip install 'dedupe[redis]'")
        self.location = location
        self._params, self._prefix = parse_redis_location(location)
        self._r = redis_lib.Redis(**self._params)
        try:
            self._r.ping()
        except redis_lib.RedisError as exc:
            where = f"{self._params['host']}:{self._params['port']}"
            raise IndexStoreError(f"cannot reach Redis at {where}: {exc}") from exc
        if not create and self.read_settings() is None:
            raise IndexMissingError(location)
        self._lsh: tuple[MinHashLSH, MinHashLSH] | None = None
        self._contents = ContentCache(self.content_blobs)
        self._seed = 1

    def _key(self, *parts: str) -> bytes:
        return ":".join((self._prefix, *parts)).encode("utf-8", "surrogatepass")

    def _doc_key(self, doc_id: str) -> bytes:
        return self._key("doc") + b":" + doc_id.encode("utf-8", "surrogatepass")

    def _indexes(self) -> tuple[MinHashLSH, MinHashLSH]:
        if self._lsh is None:
            s = self.read_settings()
            if s is None:
                raise IndexStoreError(f"index {self.location} has no settings yet")
            self._seed = int(s["seed"])
            made = []
            for name, (b, r) in (("shingle", s["shingle_lsh"]), ("content", s["content_lsh"])):
                made.append(MinHashLSH(
                    num_perm=int(s["num_perm"]),
                    params=(int(b), int(r)),
                    storage_config={"type": "redis", "basename": self._key("lsh", name), "redis": dict(self._params)},
                    prepickle=False,
                ))
            self._lsh = (made[0], made[1])
        return self._lsh

    def _minhash(self, sig: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=self._seed, hashvalues=sig, scheme=SCHEME)

    # -- settings -----------------------------------------------------------------------------
    def read_settings(self) -> dict[str, Any] | None:
        raw = self._r.get(self._key("settings"))
        return json.loads(raw) if raw else None

    def init_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        self._r.set(self._key("settings"), json.dumps(settings, sort_keys=True), nx=True)
        stored = self.read_settings()
        assert stored is not None
        return stored

    # -- writing ------------------------------------------------------------------------------
    def text_hashes(self, ids: Sequence[str]) -> dict[str, bytes]:
        pipe = self._r.pipeline(transaction=False)
        for i in ids:
            pipe.hget(self._doc_key(i), "text_hash")
        return {i: bytes(h) for i, h in zip(ids, pipe.execute()) if h is not None}

    def _unfile(self, keys: Sequence[bytes]) -> None:
        """Take ``keys`` out of both LSH indexes (left by an earlier version or a dead writer).

        Only the key is removed from each bucket; an emptied bucket disappears by itself in Redis.
        datasketch's own ``remove`` also deletes buckets it finds empty, which can drop an entry
        that another writer adds at that moment.
        """
        for lsh in self._indexes():
            present = [k for k in keys if lsh.keys.has_key(k)]
            if not present:
                continue
            pipe = self._r.pipeline(transaction=True)
            for k in present:
                for h, table in zip(lsh.keys.get(k), lsh.hashtables):
                    pipe.srem(table.redis_key(h), k)
            pipe.execute()
            lsh.keys.remove(*present)

    def add(self, documents: Sequence[StoredDocument]) -> None:
        docs = list({d.id: d for d in documents}.values())
        self._contents.forget(d.id for d in docs)
        keys = [d.id.encode("utf-8", "surrogatepass") for d in docs]
        self._unfile(keys)
        lsh_s, lsh_c = self._indexes()
        for lsh, attr in ((lsh_s, "shingle_sig"), (lsh_c, "content_sig")):
            with lsh.insertion_session(buffer_size=10_000) as session:
                for k, d in zip(keys, docs):
                    sig = getattr(d, attr)
                    if sig is not None:
                        session.insert(k, self._minhash(sig), check_duplication=False)
        pipe = self._r.pipeline(transaction=False)
        for d in docs:
            pipe.hget(self._doc_key(d.id), "meta")
        first_added = {d.id: json.loads(m)["added"] for d, m in zip(docs, pipe.execute()) if m is not None}
        pipe = self._r.pipeline(transaction=True)
        for d in docs:
            meta = {"source": d.source, "length": d.length, "digest": d.digest.hex(), "text_hash": d.text_hash.hex(),
                    "added": first_added.get(d.id, d.added)}
            pipe.hset(self._doc_key(d.id), mapping={
                "meta": json.dumps(meta), "text_hash": d.text_hash, "text": d.text.encode("utf-8", "surrogatepass"),
                "shingles": array_bytes(d.shingles), "content": array_bytes(d.content),
            })
            pipe.sadd(self._key("ids"), d.id.encode("utf-8", "surrogatepass"))
        pipe.execute()

    def remove(self, ids: Sequence[str]) -> list[str]:
        members = self._r.smismember(self._key("ids"), [i.encode("utf-8", "surrogatepass") for i in ids]) if ids else []
        present = list(dict.fromkeys(i for i, there in zip(ids, members) if there))
        if not present:
            return []
        pipe = self._r.pipeline(transaction=True)
        for i in present:
            pipe.delete(self._doc_key(i))
            pipe.srem(self._key("ids"), i.encode("utf-8", "surrogatepass"))
        pipe.execute()
        self._unfile([i.encode("utf-8", "surrogatepass") for i in present])
        self._contents.forget(present)
        return present

    # -- reading ------------------------------------------------------------------------------
    def lookup(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None) -> tuple[set[str], set[str]]:
        lsh_s, lsh_c = self._indexes()
        found: list[set[str]] = []
        for lsh, sig in ((lsh_s, shingle_sig), (lsh_c, content_sig)):
            keys = lsh.query(self._minhash(sig)) if sig is not None else []
            found.append({bytes(k).decode("utf-8", "surrogatepass") for k in keys})
        return found[0], found[1]

    def get(self, ids: Iterable[str]) -> dict[str, StoredDocument]:
        wanted = list(dict.fromkeys(ids))
        pipe = self._r.pipeline(transaction=False)
        for i in wanted:
            pipe.hmget(self._doc_key(i), ["meta", "text", "shingles", "content"])
        out = {}
        for i, (meta, text, shingles, content) in zip(wanted, pipe.execute()):
            if meta is None:
                continue
            m = json.loads(meta)
            out[i] = StoredDocument(i, m["source"], int(m["length"]), bytes.fromhex(m["digest"]),
                                    bytes.fromhex(m["text_hash"]), float(m["added"]),
                                    bytes(text or b"").decode("utf-8", "surrogatepass"), array_from(shingles),
                                    array_from(content))
        return out

    def screen(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None, own_id: str,
               content: np.ndarray, floor: float) -> tuple[set[str], set[str]]:
        # datasketch's MinHashLSH gives ids: their stored content arrays, held by id
        shingle_ids, content_ids = self.lookup(shingle_sig, content_sig)
        shingle_ids.discard(own_id)
        blobs = self._contents.blobs(sorted(content_ids - shingle_ids - {own_id}))
        scores = jaccards_to(content, *arrays_packed(list(blobs.values())))
        return shingle_ids, {i for i, score in zip(blobs, scores.tolist()) if score >= floor}

    def content_blobs(self, ids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(ids))
        pipe = self._r.pipeline(transaction=False)
        for i in wanted:
            pipe.hget(self._doc_key(i), "content")
        return {i: bytes(c) for i, c in zip(wanted, pipe.execute()) if c is not None}

    def _ids(self) -> set[str]:
        members: Iterable[bytes] = self._r.smembers(self._key("ids"))  # type: ignore[assignment]
        return {bytes(k).decode("utf-8", "surrogatepass") for k in members}

    def count(self) -> int:
        return int(self._r.scard(self._key("ids")))

    def iter_entries(self) -> Iterator[tuple[str, str, int, float]]:
        ids = sorted(self._ids())
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            pipe = self._r.pipeline(transaction=False)
            for i in chunk:
                pipe.hget(self._doc_key(i), "meta")
            for i, meta in zip(chunk, pipe.execute()):
                if meta is not None:
                    m = json.loads(meta)
                    yield i, m["source"], int(m["length"]), float(m["added"])

    def candidate_buckets(self, content: bool) -> Iterator[list[str]]:
        lsh = self._indexes()[1 if content else 0]
        ids = self._ids()
        for table in lsh.hashtables:
            counts = table.itemcounts()
            shared = [h for h, c in counts.items() if c > 1]
            if not shared:
                continue
            for members in table.getmany(*shared):
                names = sorted(n for n in (bytes(k).decode("utf-8", "surrogatepass") for k in members) if n in ids)
                if len(names) > 1:
                    yield names

    def size_info(self) -> dict[str, Any]:
        info = self._r.info("memory")
        return {"redis_used_memory": int(info["used_memory"]), "redis_keys": int(self._r.dbsize())}

    def close(self) -> None:
        self._r.close()
        if self._lsh is not None:
            for lsh in self._lsh:
                for table in (*lsh.hashtables, lsh.keys):
                    table._redis.close()
