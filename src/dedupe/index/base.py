"""What every index backend stores and answers, and the settings an index records.

An index holds, per document, what verification needs (the cleaned text for sentence alignment,
the sorted shingle and content-word hash arrays, the length and the digest of the normalized
text), plus its id, source, a hash of the raw text and the time it was added. Candidates are
found with the same two LSH indexes as ``scan`` (shingle signatures at
``candidate_threshold``, content-word signatures at ``content_candidate_threshold``, with
datasketch's choice of bands and rows), so a query sees the pairs a scan would see.

Nothing is ever unpickled: arrays are stored as raw little-endian bytes and read back with
``numpy.frombuffer``; records and settings are JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import datasketch
import numpy as np
from datasketch.lsh import _optimal_param

from dedupe import __version__
from dedupe.config import CleanConfig, ScanConfig, ShingleSpec
from dedupe.errors import ConfigError, DedupeError
from dedupe.similarity.signature import SCHEME

#: Version of the stored layout; an index of another format is refused.
FORMAT = 1

_U64 = np.uint64


class IndexStoreError(DedupeError):
    """An index that cannot be opened, read or written."""


class IndexMissingError(IndexStoreError):
    """No index at the location (yet): a command that adds documents may create it."""

    def __init__(self, location: str) -> None:
        super().__init__(f"no index at {location} (create one with 'dedupe index add PATH... --index {location}')")


class IndexConfigError(ConfigError):
    """Documents made with other settings than the index's own."""


@dataclass(frozen=True)
class StoredDocument:
    """One document as an index holds it.

    Attributes:
        id: The document id (unique in the index; adding it again replaces it).
        source: The file it was read from.
        length: Characters of the cleaned text.
        digest: Hash of the normalized text (exact matches).
        text_hash: Hash of the raw text as read (to tell unchanged documents on a rerun).
        added: Unix time the document was first added.
        text: The cleaned text (sentence alignment needs it).
        shingles: Sorted unique ``uint64`` shingle hashes.
        content: Sorted unique ``uint64`` content-word hashes.
        shingle_sig: MinHash values of ``shingles`` (``None`` when there are none); not stored as
            such, only the LSH band keys made from them.
        content_sig: MinHash values of ``content`` (``None`` when there are none).
    """

    id: str
    source: str
    length: int
    digest: bytes
    text_hash: bytes
    added: float
    text: str
    shingles: np.ndarray
    content: np.ndarray
    shingle_sig: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    content_sig: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)


def text_hash(text: str) -> bytes:
    """Hash of a raw text (16 bytes of BLAKE2b)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def array_bytes(a: np.ndarray) -> bytes:
    """A ``uint64`` array as raw little-endian bytes."""
    return np.ascontiguousarray(a, dtype="<u8").tobytes()


def array_from(data: bytes | None) -> np.ndarray:
    """The inverse of :func:`array_bytes` (a writable native ``uint64`` array)."""
    if not data:
        return np.zeros(0, dtype=_U64)
    return np.frombuffer(data, dtype="<u8").astype(_U64)


def arrays_packed(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`array_from` of many stored arrays at once: their values concatenated (``uint64``) and
    where each starts (``offsets``, one more than ``blobs``), for
    :func:`~dedupe.similarity.shingle.jaccards_to`."""
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum([len(b) // 8 for b in blobs], out=offsets[1:])
    return np.frombuffer(b"".join(blobs), dtype="<u8").astype(_U64, copy=False), offsets


class ContentCache:
    """The content arrays (as stored) that a command has read from an index, by id (``read``: its
    :meth:`IndexBackend.content_blobs`). Each query checks the content arrays of thousands of
    candidates, and the same documents come back query after query (on the 100,000-document bench
    index a query proposes 8,000 to 19,000 of them), so each is read once a command, up to about
    ``limit`` bytes held (the arrays, their ids and an estimate of what each
    entry costs besides; beyond, read each time). The backend forgets the documents it writes or
    removes (:meth:`forget`); one that another process replaces meanwhile is checked on the version
    read first (its record, read for verification, is the current one)."""

    LIMIT = 256 << 20
    ENTRY = 200  # bytes an entry costs besides its array: its id, the bytes object and the dict slot

    def __init__(self, read: Callable[[list[str]], dict[str, bytes]], limit: int = LIMIT) -> None:
        self._read, self._limit = read, limit
        self._held: dict[str, bytes] = {}
        self._size = 0

    def blobs(self, ids: list[str]) -> dict[str, bytes]:
        """The stored content arrays of ``ids`` that are in the index."""
        held = self._held
        missing = [i for i in ids if i not in held]
        fetched = self._read(missing) if missing else {}
        for i, blob in fetched.items():
            cost = len(blob) + len(i) + self.ENTRY
            if self._size + cost <= self._limit:
                held[i] = blob
                self._size += cost
        out: dict[str, bytes] = {}
        for i in ids:
            found = held.get(i, fetched.get(i))
            if found is not None:
                out[i] = found
        return out

    def forget(self, ids: Iterable[str]) -> None:
        for i in ids:
            blob = self._held.pop(i, None)
            if blob is not None:
                self._size -= len(blob) + len(i) + self.ENTRY


def clean_rules_id(clean_config: CleanConfig | None) -> str:
    """A short stable id of the cleaning rules (``default`` for the built-in ones)."""
    if clean_config is None or clean_config == CleanConfig():
        return "default"
    fields = {
        k: sorted(v) if isinstance(v, (frozenset, set)) else v for k, v in dataclasses.asdict(clean_config).items()
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows datasketch's ``MinHashLSH`` picks for ``threshold`` (default weights)."""
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


#: Settings that decide what is stored; two indexes (or an index and a command) must agree on all.
FINGERPRINT_KEYS = ("format", "shingle", "num_perm", "seed", "scheme", "clean", "clean_rules",
                    "candidate_threshold", "content_candidate_threshold", "shingle_lsh", "content_lsh",
                    "dedupe", "datasketch")  # fmt: skip


def index_settings(config: ScanConfig, clean_config: CleanConfig | None) -> dict[str, Any]:
    """The settings an index made with ``config`` records (JSON-serializable)."""
    return {
        "format": FORMAT,
        "shingle": str(config.shingle),
        "num_perm": config.num_perm,
        "seed": config.seed,
        "scheme": SCHEME,
        "clean": config.clean,
        "clean_rules": clean_rules_id(clean_config),
        "candidate_threshold": config.candidate_threshold,
        "content_candidate_threshold": config.content_candidate_threshold,
        "shingle_lsh": list(lsh_params(config.candidate_threshold, config.num_perm)),
        "content_lsh": list(lsh_params(config.content_candidate_threshold, config.num_perm)),
        "dedupe": __version__,
        "datasketch": datasketch.__version__,
    }


def config_from_settings(settings: dict[str, Any], base: ScanConfig | None = None) -> ScanConfig:
    """``base`` (verification thresholds) with the fingerprint settings of an index."""
    base = base or ScanConfig()
    return dataclasses.replace(
        base,
        shingle=ShingleSpec.parse(settings["shingle"]),
        num_perm=int(settings["num_perm"]),
        seed=int(settings["seed"]),
        clean=bool(settings["clean"]),
        candidate_threshold=float(settings["candidate_threshold"]),
        content_candidate_threshold=float(settings["content_candidate_threshold"]),
    )


def check_settings(location: str, stored: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Refuse to mix documents made with other settings than the index's.

    Raises:
        IndexConfigError: naming every setting that differs, with both values.
    """
    diffs = [k for k in FINGERPRINT_KEYS if stored.get(k) != wanted.get(k)]
    if not diffs:
        return
    if set(diffs) <= {"dedupe", "datasketch", "format"}:
        raise IndexConfigError(
            f"index {location} was made by dedupe {stored.get('dedupe')} with datasketch {stored.get('datasketch')} "
            f"(format {stored.get('format')}); this is dedupe {wanted['dedupe']} with datasketch "
            f"{wanted['datasketch']} (format {wanted['format']}): fingerprints may differ, so the index cannot be "
            f"mixed with new documents; rebuild it into a new LOCATION with 'dedupe index add'"
        )
    parts = ", ".join(f"{k}={_show(stored.get(k))} (asked: {_show(wanted.get(k))})" for k in diffs)
    raise IndexConfigError(
        f"index {location} was built with other settings: {parts}; use the index's settings "
        f"(leave these options out) or another index"
    )


def _show(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


class IndexBackend(Protocol):
    """Storage of an index. Implementations: :mod:`dedupe.index.sqlite`, :mod:`dedupe.index.redis`.

    Every method that writes is atomic per call for SQLite (one transaction); for Redis the
    document record is written last, so a document is visible only once its LSH entries are in.
    """

    location: str

    def read_settings(self) -> dict[str, Any] | None:
        """The recorded settings, or ``None`` for a new, empty index."""

    def init_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Record ``settings`` unless some are recorded already; returns the recorded ones."""

    def text_hashes(self, ids: Sequence[str]) -> dict[str, bytes]:
        """Raw-text hash of each of ``ids`` that is in the index."""

    def add(self, documents: Sequence[StoredDocument]) -> None:
        """Insert or replace (same id) one batch of documents with their LSH entries."""

    def lookup(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None) -> tuple[set[str], set[str]]:
        """Ids of the indexed documents sharing an LSH band with the given signatures."""

    def get(self, ids: Iterable[str]) -> dict[str, StoredDocument]:
        """The stored documents of ``ids`` (missing ones left out)."""

    def screen(self, shingle_sig: np.ndarray | None, content_sig: np.ndarray | None, own_id: str,
               content: np.ndarray, floor: float) -> tuple[set[str], set[str]]:
        """The LSH candidates of a query (:meth:`lookup`) with the exact check of its content
        candidates: the ids of the shingle candidates, and of the content candidates (not shingle
        ones) whose content Jaccard with ``content`` reaches ``floor``; ``own_id`` left out of both.
        Each content array is read from the index once a command (:class:`ContentCache`, or
        SQLite's rowid twin)."""

    def content_blobs(self, ids: Iterable[str]) -> dict[str, bytes]:
        """Only the content-word hash arrays of ``ids`` as stored (:func:`array_bytes`; missing ids
        left out): the cheap check of content candidates, thousands per query, reads no more."""

    def remove(self, ids: Sequence[str]) -> list[str]:
        """Remove documents; returns the ids that were there."""

    def count(self) -> int:
        """Number of documents."""

    def iter_entries(self) -> Iterator[tuple[str, str, int, float]]:
        """``(id, source, length, added)`` of every document, sorted by id."""

    def candidate_buckets(self, content: bool) -> Iterator[list[str]]:
        """Ids sharing an LSH bucket (groups of two or more), shingle or content index."""

    def size_info(self) -> dict[str, Any]:
        """Storage size (``bytes`` on disk for SQLite, memory for Redis)."""

    def close(self) -> None:
        """Release connections."""


def iter_batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last one shorter)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
