"""The only module that chains the stages:

    read (-> extract, for HTML pages) -> clean -> normalize -> shingle -> signature -> candidates -> verify -> cluster

Progress is reported through a callback ``progress(stage, done, total)``; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import mmap
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dedupe import __version__
from dedupe.clean import Cleaner, find_recurring_lines, recurring_line_keys, select_recurring
from dedupe.cluster import choose_representative, group_pairs
from dedupe.config import CleanConfig, ScanConfig
from dedupe.io import (
    DocumentReader,
    JsonlParts,
    JsonlPlan,
    JsonlSource,
    LinesSeen,
    ReadOptions,
    iter_input_files,
    jsonl_plan,
    line_blocks,
    no_documents,
    reporter,
)
from dedupe.models import CleanResult, Cluster, Document, Match, Member, PageInfo, ScanResult, Skipped
from dedupe.normalize import normalize_text
from dedupe.similarity.align import (
    ScoredSentences,
    Sentences,
    SentenceSet,
    prepare_sentences,
    sentence_text,
    stored_reach_many,
    stored_sentences,
)
from dedupe.similarity.bulk import ChunkFeatures, chunk_features, chunk_features_of_ids, rare_words
from dedupe.similarity.candidates import exact_jaccards, find_candidates
from dedupe.similarity.native import kernels
from dedupe.similarity.shingle import (
    Learned,
    content_hashes,
    content_set,
    fork_ready,
    ids_units,
    intersection_size,
    ngram_hashes,
    quick_hash64,
    sorted_unique,
    vocabulary,
)
from dedupe.similarity.signature import SCHEME, Signer, affine32_permutations
from dedupe.similarity.verify import (
    Fingerprint,
    Verdict,
    compare,
    sentences_may_decide_many,
    verify_by_sentences,
    verify_by_shingles,
    verify_pair,
)
from dedupe.store import ENCODING, ERRORS, DocumentTable, Spill, SpillError

Progress = Callable[[str, int, int], None]


@dataclass
class Corpus:
    """Documents prepared for comparison, held in memory (the index's small batches).

    :class:`StoredCorpus` offers the same methods for a scan, with the bulky parts on disk.
    """

    documents: Sequence[Document]
    texts: list[str]
    fingerprints: list[Fingerprint]
    _sentences: dict[int, SentenceSet] = field(default_factory=dict)

    def fingerprint(self, index: int) -> Fingerprint:
        """The fingerprint of document ``index``."""
        return self.fingerprints[index]

    def sentences(self, index: int) -> SentenceSet:
        """Sentences of document ``index`` (split once, then cached)."""
        s = self._sentences.get(index)
        if s is None:
            s = self._sentences[index] = prepare_sentences(self.texts[index])
        return s


class _Recent(OrderedDict[int, Any]):
    """The ``limit`` most recently used entries (verification reads pairs sorted by their first
    document, so a small cache catches most repeats)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def get_or(self, key: int, make: Callable[[int], Any]) -> Any:
        value = self.get(key)
        if value is None:
            value = self[key] = make(key)
            if len(self) > self.limit:
                self.popitem(last=False)
        else:
            self.move_to_end(key)
        return value


_SHARED_READ = 10_000
"""Documents from which :meth:`StoredCorpus._pairs_of_sets` splits the reading of their sets between its threads."""


class StoredCorpus:
    """A scanned corpus: per document, in memory, what finding candidates needs (signatures,
    digests, lengths); in a :class:`Spill` of its own, what verification needs (shingle hashes,
    rare content-word hashes: the *sets*), read back only for documents in candidate pairs, and
    in another the cleaned texts that cleaning changed (the others are read from the input).

    The fingerprints read back hold, as ``content``, the document's *rare* content words (those the
    content index holds, :func:`_common_words`), so that the exact content check of a candidate
    measures the same set as the signatures that proposed it.

    The sets are read by the content check and the first verification pass only. The stored
    sentences of the second pass (:meth:`share_sentences`) are written over them, in the same file,
    whose pages are in memory already (at 1M documents, 3.3 GB of sets; in a new file the sentences
    would take fresh pages, and disk); from then on :meth:`fingerprint` makes a document's
    fingerprint again from its text (the same values), for the few that clustering asks for.

    Attributes:
        documents: The documents as read.
        shingle_sigs: ``uint32[n, num_perm]`` MinHash signatures of the shingles.
        content_sigs: ``uint32[n, num_perm]`` signatures of the rare content words, or ``None``
            without rewrite detection; rows where ``has_content`` is false are unused.
        has_content: Whether each document has rare content words.
        digests: ``uint64[n, 2]`` hash of each normalized text (exact copies).
        lengths: Length of each cleaned text in characters.
        n_shingles: Number of shingles of each document (0: empty after cleaning).
    """

    _CACHE = 4096

    def __init__(self, documents: DocumentTable, config: ScanConfig, common: np.ndarray | None) -> None:
        self.documents = documents
        self.config = config
        self.common = common  # the content words left out of the sets (see _common_words)
        self.spill = Spill()  # the sets (shingles, then content words, of each chunk); later the sentences
        self.texts = Spill()  # the texts that cleaning changed
        n = len(documents)
        # Written in place by the fingerprinting workers (see :func:`shared_zeros`).
        self.shingle_sigs = shared_zeros((n, config.num_perm), np.uint32)
        self.content_sigs = shared_zeros((n, config.num_perm), np.uint32) if config.paraphrase else None
        self.has_content = np.zeros(n, dtype=bool)
        self.digests = np.zeros((n, 2), dtype=np.uint64)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.n_shingles = np.zeros(n, dtype=np.int64)
        self._n_content = np.zeros(n, dtype=np.int64)
        self._n_text = np.zeros(n, dtype=np.int64)
        self._at = np.zeros((3, n), dtype=np.int64)  # where each part of each document is stored
        self._fps = _Recent(self._CACHE)
        self._sentences = _Recent(self._CACHE)
        self._contents = _Recent(self._CACHE)
        self._sentence_spill: Spill | None = None
        self._sets_gone = False  # overwritten by the sentences (share_sentences), or closed
        self._sentence_at = np.zeros(0, dtype=np.int64)
        self._sentence_len = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.documents)

    def drop_signatures(self, shingle: bool = False) -> None:
        """Free the signatures once the candidates are found (with ``shingle``, only the shingle
        signatures, once the shingle index is done)."""
        self.shingle_sigs = np.zeros((0, self.shingle_sigs.shape[1]), dtype=np.uint32)
        if not shingle:
            self.content_sigs = None

    def close(self) -> None:
        """Free the verification data (the documents' own texts stay readable)."""
        self._sets_gone = True
        self._sentence_spill = None
        try:
            self.spill.close()
        finally:
            self.texts.close()

    def store(self, res: _Prepared) -> None:
        """Keep one chunk of worker results (its signatures are in place already)."""
        idx = res.indices
        if self.content_sigs is not None:
            self.has_content[idx] = res.has_content
        self.digests[idx] = res.digests
        self.lengths[idx] = res.lengths
        self.n_shingles[idx] = res.sizes[:, 0]
        self._n_content[idx] = res.sizes[:, 1]
        self._n_text[idx] = res.sizes[:, 2]
        # The chunk's sets: the shingles of all of its documents, then their content words; and,
        # in the other file, the texts that cleaning changed.
        at = res.at
        for part, size in enumerate((res.sizes[:, 0] * 8, res.sizes[:, 1] * 8, np.maximum(res.sizes[:, 2], 0))):
            if part == 2:
                at = res.text_at
            ends = np.cumsum(size)
            self._at[part][idx] = at + ends - size
            at += int(ends[-1]) if len(ends) else 0

    def _read(self, index: int, part: int) -> bytes:
        """Part 0 (shingles), 1 (content) or 2 (text) of a document's stored data."""
        if part == 2:
            return self.texts.read(int(self._at[2][index]), max(int(self._n_text[index]), 0))
        self._check_sets()
        size = (int(self.n_shingles[index]) if part == 0 else int(self._n_content[index])) * 8
        return self.spill.read(int(self._at[part][index]), size)

    def _check_sets(self) -> None:
        if self._sets_gone:
            raise RuntimeError("the sets are overwritten by the stored sentences, or closed")

    def _load_fingerprint(self, index: int) -> Fingerprint:
        if not self._sets_gone:
            return Fingerprint(index, self.digests[index].tobytes(), int(self.lengths[index]),
                               self._shingles(index), self._content(index))
        # The sets are overwritten (share_sentences): made again from the text, as the workers made them.
        fp = fingerprint(index, self.text(index), self.config)
        return dataclasses.replace(fp, content=rare_words(fp.content, self.common))

    def fingerprint(self, index: int) -> Fingerprint:
        """The fingerprint of document ``index`` (read back from disk, recently used ones cached)."""
        fp: Fingerprint = self._fps.get_or(index, self._load_fingerprint)
        return fp

    def text(self, index: int) -> str:
        """The cleaned text of document ``index``."""
        if self._n_text[index] < 0:  # cleaning changed nothing: the text as read
            return self.documents.text(index)
        return self._read(index, 2).decode(ENCODING, ERRORS)

    def content_jaccards(self, codes: np.ndarray, threads: int = 1) -> np.ndarray:
        """Exact Jaccard similarity of the rare content words of the pairs ``codes`` (``i * n + j``).

        With the compiled kernels, the sets of the documents in the pairs are read once each and
        compared in memory (:meth:`_pairs_of_sets`, with ``threads`` threads): a document is in many
        pairs (about 15 at a million documents), and reading per pair took ten times as long.

        Raises:
            SpillError: the temporary file cannot be read.
        """
        native = kernels()
        if native is None:
            return exact_jaccards(codes, len(self), self._content)
        return self._pairs_of_sets(native.set_jaccard, codes, 1, np.empty(len(codes), dtype=np.float64), threads)

    def common_shingles(self, codes: np.ndarray) -> np.ndarray:
        """The number of shingles each pair of ``codes`` (``i * n + j``) shares (with the compiled
        kernels, each document's shingles read once: :meth:`_pairs_of_sets`).

        Raises:
            SpillError: the temporary file cannot be read.
        """
        n = len(self)
        native = kernels()
        if native is None:
            return np.array([intersection_size(self._shingles(c // n), self._shingles(c % n)) for c in codes.tolist()],
                            dtype=np.int64)
        return self._pairs_of_sets(native.set_common, codes, 0, np.empty(len(codes), dtype=np.int64))

    def _pairs_of_sets(self, kernel: Callable[..., None], codes: np.ndarray, part: int, out: np.ndarray,
                       threads: int = 1) -> np.ndarray:
        """``kernel`` (the compiled ``set_jaccard`` or ``set_common``) on the pairs ``codes`` of sets of
        part 0 (shingles) or 1 (content): the sets of the documents in the pairs are read once each
        (one ``pread`` per document) and compared in memory, a slice of pairs at a time, each split
        between ``threads`` threads (the kernel runs without the interpreter lock); into ``out``.

        Raises:
            SpillError: the temporary file cannot be read.
        """
        self._check_sets()
        n = len(self)
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        first, second = codes // n, codes % n
        many = len(codes) > n // 4
        if many:
            # many pairs (7.5 million at a million documents): marked in a table of every document
            # rather than sorted (15 million values: 1.0 s, in the main process)
            seen = np.zeros(n, dtype=bool)
            seen[first] = True
            seen[second] = True
            docs = np.flatnonzero(seen)
            del seen
        else:
            docs = sorted_unique(np.concatenate((first, second)))
        lengths = self.n_shingles[docs] if part == 0 else self._n_content[docs]
        starts = np.zeros(len(docs), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        values = np.empty(int(lengths.sum()), dtype=np.uint64)
        native = kernels()
        assert native is not None
        offsets = self._at[part][docs]
        with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
            # The sets read by the threads too, a share of the documents each (at a million documents,
            # 1.2 GB read into fresh memory: 1.8 s in one thread, which the others waited for).
            shares = np.linspace(0, len(docs), (threads if pool is not None and len(docs) > _SHARED_READ else 1) + 1)
            bounds = shares.astype(np.int64).tolist()
            reads = [(offsets[a:b], lengths[a:b], values[starts[a] : starts[a] + int(lengths[a:b].sum())])
                     for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
            try:
                if pool is None or len(reads) < 2:
                    for args in reads:
                        native.read_sets(self.spill.fileno(), *args)
                else:
                    for job in [pool.submit(native.read_sets, self.spill.fileno(), *args) for args in reads]:
                        job.result()
            except OSError as exc:
                raise SpillError(f"cannot read dedupe's temporary file ({exc.strerror})") from exc
            # Each pair's documents by their place in ``docs``: looked up in a table of every document
            # when the pairs are many (7.5 million at 1M documents: searching took 1.2 s, the table 0.1 s).
            place: np.ndarray | None = None
            if many:
                place = np.empty(n, dtype=np.int64)
                place[docs] = np.arange(len(docs))
            step = 1 << 20  # pairs per slice: bounded temporaries
            for start in range(0, len(codes), step):
                a, b = first[start : start + step], second[start : start + step]
                if place is not None:
                    local = place[a] * len(docs) + place[b]
                else:
                    local = np.searchsorted(docs, a) * len(docs) + np.searchsorted(docs, b)
                part_out = out[start : start + step]
                if pool is None:
                    kernel(values, starts, lengths, local, len(docs), part_out)
                    continue
                cuts = np.linspace(0, len(local), threads + 1).astype(np.int64)
                done = [pool.submit(kernel, values, starts, lengths, local[a:b], len(docs), part_out[a:b])
                        for a, b in zip(cuts[:-1], cuts[1:])]
                for job in done:
                    job.result()
        return out

    def _shingles(self, index: int) -> np.ndarray:
        return np.frombuffer(self._read(index, 0), dtype=np.uint64)

    def _content(self, index: int) -> np.ndarray:
        self._check_sets()  # not from the cache either
        c: np.ndarray = self._contents.get_or(index, lambda k: np.frombuffer(self._read(k, 1), dtype=np.uint64))
        return c

    def sentences(self, index: int) -> Sentences:
        """Sentences of document ``index`` (split once, recently used ones cached; read back when
        :meth:`store_sentences` stored them)."""
        s: Sentences = self._sentences.get_or(index, self._load_sentences)
        return s

    def sentence_set(self, index: int) -> SentenceSet:
        """All of the sentences of document ``index``, as written too (what ``diff`` shows): the
        cached ones when they are a full :class:`SentenceSet`, else split again."""
        s = self.sentences(index)
        return s if isinstance(s, SentenceSet) else prepare_sentences(self.text(index))

    def _load_sentences(self, index: int) -> Sentences:
        blob = self._stored_sentences(index)
        if blob is None:
            return prepare_sentences(self.text(index))
        # stored without their text (see _sentence_chunk): made again, for the few pairs aligned
        return ScoredSentences.from_bytes(blob, lambda: sentence_text(self.text(index)))

    def _stored_sentences(self, index: int) -> bytes | None:
        """The stored sentences of document ``index`` (:meth:`ScoredSentences.to_bytes`), or ``None``."""
        if self._sentence_spill is None or self._sentence_at[index] < 0:
            return None
        return self._sentence_spill.read(int(self._sentence_at[index]), int(self._sentence_len[index]))

    def sentences_may_decide(self, pairs: Sequence[tuple[int, int]], config: ScanConfig) -> np.ndarray:
        """For each pair, whether :func:`verify_by_sentences` may find it a duplicate
        (:func:`sentences_may_decide_many`, from the bounds of both documents' stored sentences: one
        read of each document's bytes and one compiled call for all the pairs); ``True`` where the
        sentences of a document are not stored."""
        may = np.ones(len(pairs), dtype=bool)
        if self._sentence_spill is None or not len(pairs) or kernels() is None:
            return may
        ia, ib = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
        stored = (self._sentence_at[ia] >= 0) & (self._sentence_at[ib] >= 0)
        docs, where = np.unique(np.concatenate((ia[stored], ib[stored])), return_inverse=True)
        at, size = self._sentence_at[docs].tolist(), self._sentence_len[docs].tolist()
        blobs = [self._sentence_spill.read(a, n) for a, n in zip(at, size)]
        reach = stored_reach_many(blobs, where[: stored.sum()], where[stored.sum() :], config.sentence_ratio,
                                  config.sentence_overlap)
        if reach is not None:
            smaller = np.minimum(self.n_shingles[ia[stored]], self.n_shingles[ib[stored]])
            may[stored] = sentences_may_decide_many(reach, smaller, config)
        return may

    def share_sentences(self, context: Any) -> None:
        """Open the store of sentences (:meth:`append_sentences`) to processes forked after this
        call (``context``: their :mod:`multiprocessing` context); :meth:`close_sentences` ends it.

        The first call ends the sets: the sentences are written over them (see the class)."""
        if self._sentence_spill is None:
            self.spill.rewind()
            self._sets_gone = True
            self._sentence_spill = self.spill
            self._sentence_at = np.full(len(self), -1, dtype=np.int64)
            self._sentence_len = np.zeros(len(self), dtype=np.int64)
        self._sentence_spill.share(context)

    def append_sentences(self, blobs: Sequence[bytes]) -> int:
        """Write the sentences of some documents (``ScoredSentences`` bytes, from
        :func:`_sentence_chunk`), from any process: the offset of the first, the others following.
        Every candidate pair of a document reads them back instead of splitting again; workers
        write them themselves, so that they do not all pass through the main process."""
        assert self._sentence_spill is not None, "share_sentences() first"
        return self._sentence_spill.append_shared(b"".join(blobs))

    def stored_sentences(self, indices: Sequence[int], at: int, lengths: np.ndarray) -> None:
        """Note where :meth:`append_sentences` put the sentences of ``indices``."""
        self._sentence_len[indices] = lengths
        self._sentence_at[indices] = at + np.cumsum(lengths) - lengths

    def close_sentences(self) -> None:
        """End the appends of other processes (before workers that read the sentences are forked)."""
        if self._sentence_spill is not None:
            self._sentence_spill.unshare()


def fingerprint(index: int, text: str, config: ScanConfig) -> Fingerprint:
    """Normalize, tokenize and shingle one cleaned text."""
    normalized, ids, joined = _token_ids(text, config)
    units, content = ids_units(ids, config.shingle, normalized)
    return Fingerprint(index=index, digest=_digest(joined), length=len(text.strip()),
                       shingles=ngram_hashes(units, config.shingle.size), content=content_set(content))


def _token_ids(text: str, config: ScanConfig) -> tuple[str, np.ndarray, bytes]:
    """The normalized text (character shingles only: ``""`` for word shingles, which do not need
    it), the vocabulary ids of its tokens and the tokens joined by spaces."""
    if config.shingle.kind == "char":
        normalized = normalize_text(text)
        ids, joined = vocabulary().lookup_text(normalized, words=True)
        return normalized, ids, joined
    # Tokens ignore whitespace: the tokens of the folded text, folded by the vocabulary if it can.
    ids, joined = vocabulary().lookup_folded(text)
    return "", ids, joined


def _digest(joined: bytes) -> bytes:
    """What exact copies share: a 128-bit hash of the token sequence (tokens joined by spaces)."""
    return hashlib.blake2b(joined, digest_size=16).digest()


# --- per-document work, run in worker processes --------------------------------------------------
# Workers get their settings once (initializer) and documents in chunks; results come back in
# input order, so the outcome is the same for any number of workers.

_W: dict[str, Any] = {}


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


def reuse_freed_memory() -> bool:
    """Have glibc's ``malloc`` serve large blocks from the heap, and keep what is freed there for the
    next ones (``mallopt``: no ``mmap`` per block, the heap trimmed only beyond 2 GB free), for this
    process and the workers it forks. By default every block over 32 MB (a band's arrays at a
    million documents, the candidate pairs being pruned) is a fresh mapping, and on a virtual
    machine the first touch of a fresh page costs as much as the work done in it: a 1M scan spent
    15 s of CPU zeroing pages, 5 s after this. For a program that does only the scan (the CLI): it
    changes how the whole process allocates. Returns whether it applied (glibc only)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def shared_zeros(shape: tuple[int, ...], dtype: type[np.generic]) -> np.ndarray:
    """A zeroed array in memory shared with the processes forked after it is made: the fingerprinting
    workers write their rows of the signatures in place, instead of sending them back through a
    pipe to be copied (a gigabyte at 1M documents)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype).reshape(shape)  # anonymous, MAP_SHARED


def _init_worker(config: ScanConfig, clean_config: CleanConfig | None, recurring: frozenset[str],
                 common: np.ndarray | None = None, table: DocumentTable | None = None,
                 spill: Spill | None = None, signatures: tuple[np.ndarray, np.ndarray | None] | None = None,
                 texts: Spill | None = None) -> None:
    # ``table`` reaches forked workers by inheritance (with its temporary file's descriptor), so
    # each worker reads the texts of its chunks itself: the main process only hands out indices.
    _W["table"] = table
    _W["spill"] = spill  # where fingerprinting workers write the sets (shared: Spill.append_shared)
    _W["texts"] = texts  # and the texts that cleaning changed
    _W["signatures"] = signatures  # where they write signatures (shared memory: shared_zeros)
    _W["config"] = config
    _W["cleaner"] = Cleaner(clean_config) if config.clean else None
    _W["recurring"] = recurring
    _W["signer"] = Signer(config.num_perm, config.seed)
    _W["common"] = common


_DEFERRED = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM (delivered right after, as usual) while the pool's internal state
    changes: an interrupt inside ``Pool()`` or ``apply_async`` could leave ``terminate()`` hanging."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _start_worker(init: Callable[..., None], *init_args: Any) -> None:
    """Pool initializer. Ctrl-C reaches every process of the terminal's group: workers ignore it and
    leave it to the parent, which stops the pool; and they drop the parent's SIGTERM handler, so
    that ``pool.terminate()`` ends them quietly. (They are forked while the parent holds both
    signals: they unblock them.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)
    init(*init_args)


@dataclass(frozen=True)
class _Sampled:
    """For each document of a sample chunk: its recurring-line keys and (when asked) its raw content
    words; and the tokens the chunk added to the worker's vocabulary, with their hashes (the
    fingerprinting workers, forked from the main process after it absorbed them, do not hash them
    again: building a vocabulary costs about 8 us a token, 0.23 s a worker on 100k documents)."""

    docs: list[tuple[frozenset[str], np.ndarray | None]]
    tokens: Learned

    def __len__(self) -> int:
        return len(self.docs)


def _sample_chunk(items: list[tuple[int, bool, bool]]) -> _Sampled:
    """The recurring-line keys and (when asked) raw content words of sample documents, with the
    tokens their lookups added to this worker's vocabulary."""
    table: DocumentTable = _W["table"]
    out: list[tuple[frozenset[str], np.ndarray | None]] = []
    with vocabulary().recording() as learned:
        for index, lines, words in items:
            text = table.text(index)
            keys = recurring_line_keys(text) if lines else frozenset()
            out.append((keys, content_hashes(text) if words else None))
        return _Sampled(out, learned())


@dataclass
class _Prepared:
    """One chunk of prepared documents, packed in arrays (cheap to send between processes)."""

    indices: np.ndarray
    has_content: np.ndarray
    digests: np.ndarray
    lengths: np.ndarray
    sizes: np.ndarray  # per document: shingles, content words, bytes of cleaned text (-1: the raw text)
    at: int  # where the worker wrote the chunk's shingle hashes, then its content hashes (StoredCorpus.spill)
    text_at: int  # where it wrote the cleaned texts (UTF-8) that are not the raw text (StoredCorpus.texts)
    clean_seconds: float
    sign_seconds: float


def _prepare_span(span: tuple[int, int]) -> _Prepared:
    """Clean, fingerprint and sign documents ``start <= k < stop`` of the table."""
    table: DocumentTable = _W["table"]
    texts = table.texts(*span)
    return _prepare_chunk([(k, text, table.is_page(k)) for k, text in zip(range(*span), texts)])


def text_features(texts: Sequence[str], config: ScanConfig, common: np.ndarray | None,
                  signer: Signer) -> tuple[ChunkFeatures, bytes, np.ndarray]:
    """What :func:`fingerprint` and the signatures give for each of some cleaned texts, in bulk (with
    the compiled kernels, one call for the chunk's shingles, content words and both signatures): their
    :class:`ChunkFeatures` (content words in ``common`` left out), their digests (16 bytes each, one
    after the other) and their lengths (stripped). ``scan`` and the index both make theirs here."""
    lengths = np.empty(len(texts), dtype=np.int64)
    digests = bytearray()
    units: list[np.ndarray] = []  # token ids for word shingles, else the units' hashes
    contents: list[np.ndarray] = []  # character shingles only
    words = config.shingle.kind == "word"
    vocab = vocabulary()
    done: list[ChunkFeatures] = []  # of the documents whose ids belong to a table emptied since
    for n, text in enumerate(texts):
        hashes, content, generation = vocab.hashes, vocab.content, vocab.generation
        normalized, ids, joined = _token_ids(text, config)
        if words:
            if vocab.generation != generation and units:
                # This lookup emptied the vocabulary: the ids so far are those of the old table,
                # whose arrays these still are.
                done.append(chunk_features_of_ids(units, hashes, content, config.shingle.size, common, signer))
                units = []
            units.append(ids)
        else:
            u, c = ids_units(ids, config.shingle, normalized)
            units.append(u)
            contents.append(c)
        digests += _digest(joined)
        lengths[n] = len(text.strip())
    if not words:
        return chunk_features(units, contents, config.shingle.size, common, signer), bytes(digests), lengths
    # After the lookups: they may have grown (replaced) the vocabulary's arrays.
    done.append(chunk_features_of_ids(units, vocab.hashes, vocab.content, config.shingle.size, common, signer))
    return ChunkFeatures.concat(done), bytes(digests), lengths


def _prepare_chunk(chunk: list[tuple[int, str, bool]]) -> _Prepared:
    config: ScanConfig = _W["config"]
    cleaner: Cleaner | None = _W["cleaner"]
    k = len(chunk)
    t0 = time.perf_counter()
    # All of the chunk is cleaned first, then tokenized: the vocabulary's table stays in the CPU's
    # caches while the chunk's tokens are looked up (lookups 34 -> 24 us, all of it 211 -> 190 us per document).
    cleaned = [cleaner.clean_text(raw, _W["recurring"], extracted=extracted) if cleaner is not None else raw
               for _, raw, extracted in chunk]
    t_clean = time.perf_counter() - t0
    feats, digests, lengths = text_features(cleaned, config, _W["common"], _W["signer"])
    # Most texts come out of cleaning unchanged: those are read back from the documents' own file
    # (a third of the bytes each chunk sends back and the main process writes).
    texts = [None if text == raw else text.encode(ENCODING, ERRORS) for text, (_, raw, _) in zip(cleaned, chunk)]
    sizes = np.empty((k, 3), dtype=np.int64)
    sizes[:, :2] = feats.counts
    sizes[:, 2] = [-1 if t is None else len(t) for t in texts]
    changed = b"".join(t for t in texts if t)
    indices = np.array([c[0] for c in chunk], dtype=np.int64)
    shingle_sigs, content_sigs = _W["signatures"]
    shingle_sigs[indices] = feats.shingle_sigs
    if content_sigs is not None:
        content_sigs[indices] = feats.content_sigs
    return _Prepared(
        indices, feats.counts[:, 1] > 0 if config.paraphrase else np.zeros(k, dtype=bool),
        np.frombuffer(digests, dtype=np.uint64).reshape(k, 2), lengths, sizes,
        _W["spill"].append_shared(feats.shingles.tobytes() + feats.content.tobytes()),
        _W["texts"].append_shared(changed) if changed else 0,
        t_clean, time.perf_counter() - t0 - t_clean,
    )


RECURRING_SAMPLE = 20_000
WORD_SAMPLE = 5_000
"""Documents on which recurring lines (CCNet-style) and content-word frequencies (the rare-word
index) are counted; enough for a line in 0.5% of the documents or a word in 0.5% of them to be
seen 100 and 25 times."""


def text_key(text: str) -> int:
    """A 64-bit hash of a raw text: what picks the batch sample (order-free)."""
    return quick_hash64(text.encode(ENCODING, ERRORS))


def sample_indices(keys: Sequence[int], size: int = RECURRING_SAMPLE) -> list[int]:
    """The documents on which batch statistics (recurring lines, word frequencies) are counted:
    all of them up to ``size``; beyond, about ``size`` chosen by a hash of their text
    (:func:`text_key`), so the choice (and the result) does not depend on input order, and the
    cost of the count stays bounded on large corpora."""
    if len(keys) <= size:
        return list(range(len(keys)))
    stride = -(-len(keys) // size)
    return [k for k, h in enumerate(keys) if h % stride == 0]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[k : k + size] for k in range(0, len(items), size)]


def resolve_jobs(jobs: int | None) -> int:
    """Worker processes to use: ``None`` or 0 means every core."""
    if not jobs:
        return max(1, os.cpu_count() or 1)
    return max(1, jobs)


_IN_FLIGHT = 4  # chunks queued per worker: enough to keep workers busy, few enough to stream


def _map(func: Any, chunks: Iterable[Any], jobs: int, init_args: tuple[Any, ...], stage: str,
         progress: Progress | None, total: int, init: Callable[..., None] | None = None) -> Generator[Any, None, None]:
    """``func`` over ``chunks``, results in order: in this process for one job, else in a process
    pool whose workers run ``init(*init_args)`` first (default :func:`_init_worker`). ``chunks`` may
    be a generator: it is consumed only as workers take chunks (at most ``_IN_FLIGHT`` per worker
    ahead), so a large input is never all in memory."""
    done = 0
    pool = None
    init = init or _init_worker
    if jobs <= 1:
        init(*init_args)
        results: Iterable[Any] = map(func, chunks)
    else:
        config = init_args[0] if init_args else None
        ctx = _context()
        if isinstance(config, ScanConfig) and ctx.get_start_method() == "fork":
            # made here once, inherited by the workers (see affine32_permutations)
            affine32_permutations(config.num_perm, config.seed)
            fork_ready()
        others = set(multiprocessing.active_children())
        with _signals_deferred():  # a Ctrl-C inside Pool's own set-up could leave it unable to stop
            pool = ctx.Pool(jobs, initializer=_start_worker, initargs=(init, *init_args))
        workers = [p for p in multiprocessing.active_children() if p not in others]
        results = _windowed(pool, func, iter(chunks), jobs * _IN_FLIGHT)
    try:
        for res in results:
            done += len(res.indices) if isinstance(res, _Prepared) else len(res)
            if progress:
                progress(stage, done, total)
            yield res
    finally:
        if pool is not None:
            _stop_pool(pool, workers)


POOL_STOP_SECONDS = 5.0
"""How long stopping a pool may take before it is left behind (:func:`_stop_pool`)."""


def _stop_pool(pool: Any, workers: list[Any]) -> None:
    """``pool.terminate()`` and ``pool.join()``, given :data:`POOL_STOP_SECONDS`. CPython's
    ``terminate()`` can wait for ever when a worker it kills was writing a result at that moment:
    the queue's lock stays taken, the pool's task handler waits for it to send its last message, and
    ``terminate()`` joins that thread (python/cpython#96995; seen here once in 40 runs of the tests
    that stop a read at its first strict problem). By then the workers are killed, so the scan goes
    on without the pool (whose stuck threads are daemon threads); ``workers`` (the pool's processes)
    are killed if any is left, so that none outlives the stage."""
    stopper = threading.Thread(target=lambda: (pool.terminate(), pool.join()), name="dedupe-pool-stop", daemon=True)
    stopper.start()
    stopper.join(POOL_STOP_SECONDS)
    if stopper.is_alive():
        for process in workers:
            with suppress(Exception):  # gone already, or never started
                if process.is_alive():
                    process.kill()
                process.join(1.0)


def _context() -> Any:
    """The :mod:`multiprocessing` context of the workers: fork where there is one (workers inherit the
    corpus and its temporary files)."""
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)


def _windowed(pool: Any, func: Any, chunks: Iterator[Any], window: int) -> Iterator[Any]:
    # Pool.imap would drain the whole input into its task queue at once.
    pending: deque[Any] = deque()
    for chunk in chunks:
        with _signals_deferred():
            pending.append(pool.apply_async(func, (chunk,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


CHUNK_BYTES = 4 << 20
"""Text per chunk sent to a worker, at most (long documents make smaller chunks, so memory in
flight stays bounded by bytes, not only by the number of documents)."""


def _spans(documents: DocumentTable, size: int) -> Iterator[tuple[int, int]]:
    """Chunks of documents ``(start, stop)``: at most ``size`` documents or :data:`CHUNK_BYTES` of
    text each (a single larger document makes a chunk of its own)."""
    start, used = 0, 0
    for k in range(len(documents)):
        n = documents.text_size(k)
        if k > start and (k - start >= size or used + n > CHUNK_BYTES):
            yield start, k
            start, used = k, 0
        used += n
    if start < len(documents):
        yield start, len(documents)


def read_documents(documents: Iterable[Document]) -> tuple[DocumentTable, list[int]]:
    """Stream ``documents`` into a :class:`DocumentTable` (texts go to disk); returns it with the
    :func:`text_key` of every document."""
    table = DocumentTable()
    keys: list[int] = []
    try:
        _append_documents(table, keys, documents)
        table.spill.flush()  # on disk before workers are forked to read it
    except BaseException:
        table.spill.close()  # its writer thread and temporary file go now, not with the process
        raise
    return table, keys


def _append_documents(table: DocumentTable, keys: list[int], documents: Iterable[Document]) -> None:
    for doc in documents:
        data = doc.text.encode(ENCODING, ERRORS)  # once, for the table and the key
        table.append(doc, data)
        keys.append(quick_hash64(data))  # text_key(doc.text)


PARALLEL_READ_BYTES = 16 << 20
"""JSONL files of at least this size are read in parts by the workers (:func:`read_paths`)."""
READ_BLOCK_BYTES = 4 << 20
"""Bytes of whole lines per part."""
MAX_LINE_SOURCES = 64
"""Files read in parts stay open for the scan (their texts are read from them again): beyond this
many, further files are read whole (their texts copied), short of the process's open files."""


def read_paths(paths: Sequence[str], options: ReadOptions | None, on_skip: Callable[[Skipped], None],
               jobs: int | None = 1) -> tuple[DocumentTable, list[int]]:
    """:func:`read_documents` of ``iter_documents(paths, options, on_skip)``, with the same table, keys
    and reports; with several jobs, a large JSONL file (:func:`~dedupe.io.jsonl_plan`) is parsed in
    parts by worker processes (:func:`_read_block`), and its texts are read again from it when needed
    (:class:`~dedupe.io.JsonlSource`): this process only names the documents and notes where their
    texts are."""
    reader = DocumentReader(options, on_skip)
    n_jobs = resolve_jobs(jobs)
    table = DocumentTable()
    keys: list[int] = []
    try:
        for display, path in iter_input_files(paths, reader.skip):
            plan = source = None
            if n_jobs > 1 and table.line_sources < MAX_LINE_SOURCES:
                plan = jsonl_plan(display, path, reader.options, PARALLEL_READ_BYTES)
            if plan is not None:
                with suppress(OSError):  # else read whole, which reports why
                    source = JsonlSource(plan, reader.options)
            if plan is None or source is None:
                _append_documents(table, keys, reader.documents(display, path))
            else:
                _read_in_parts(plan, source, reader, table, keys, n_jobs)
        table.spill.flush()
    except BaseException:
        table.spill.close()
        raise
    return table, keys


@dataclass
class _ReadBlock:
    """A part of a JSONL file read by a worker (:func:`_read_block`): where its documents' texts are
    (:meth:`DocumentTable.extend_stored`), their lines, ids and keys, and the part's problems."""

    at: int
    lines: list[int]
    ids: list[str | None]
    text_at: list[int]
    text_len: list[int]
    record_at: list[int]
    record_len: list[int]
    origin: list[int]
    crc: list[int]
    keys: list[int]
    pages: dict[int, PageInfo]
    problems: list[tuple[int, str, bool]]
    bad_lines: list[int]
    seen: LinesSeen
    failure: str | None

    def __len__(self) -> int:
        return len(self.ids)


def _init_reader(plan: JsonlPlan, options: ReadOptions, spill: Spill, origin: int, fd: int) -> None:
    _W.clear()
    _W.update(parts=JsonlParts(plan, options, fd), options=options, spill=spill, origin=origin)


def _read_block(block: tuple[int, int]) -> _ReadBlock:
    """Read a part of the file (:class:`~dedupe.io.JsonlParts`). A record's text stays in the file,
    read again from its line when needed (:class:`~dedupe.io.JsonlSource`: writing a copy of every
    text, 2.3 GB at a million documents, cost more than parsing them again); the text of an HTML
    page, extracted, is written to the table's file (as :meth:`DocumentTable.append` lays it out)."""
    options: ReadOptions = _W["options"]
    start, _ = block
    found = _W["parts"].read(*block)
    parts: list[bytes] = []
    out = _ReadBlock(0, [], [], [], [], [], [], [], [], [], {}, found.problems, found.bad_lines, found.seen,
                     found.failure)
    size = 0
    for n, (lineno, body, rid, raw, page) in enumerate(found.records):
        data = body.encode(ENCODING, ERRORS)
        out.lines.append(lineno)
        out.ids.append(rid)
        out.keys.append(quick_hash64(data))
        if page is None:
            at, length, crc = found.spans[lineno - 1]
            out.origin.append(_W["origin"])
            out.crc.append(crc)
            out.text_at.append(start + at)
            out.text_len.append(length)
            out.record_at.append(start + at)
            out.record_len.append(length if options.keep_records else -1)
            continue
        out.pages[n] = page
        out.origin.append(-1)
        out.crc.append(0)
        out.text_at.append(size)
        out.text_len.append(len(data))
        parts.append(data)
        size += len(data)
        if options.keep_records:
            rec = raw.encode(ENCODING, ERRORS)
            out.record_at.append(size)
            out.record_len.append(len(rec))
            parts.append(rec)
            size += len(rec)
        else:
            out.record_at.append(0)
            out.record_len.append(-1)
    if parts:
        out.at = _W["spill"].append_shared(b"".join(parts))
    return out


def _read_in_parts(plan: JsonlPlan, source: JsonlSource, reader: DocumentReader, table: DocumentTable,
                   keys: list[int], n_jobs: int) -> None:
    """Read the file of ``plan`` in parts, in ``n_jobs`` worker processes; what is reported and the
    documents' ids, lines, texts and order are those of reading it whole (:meth:`DocumentReader.documents`)."""
    display, skip = plan.display, reader.skip
    report = reporter(display, reader.options, skip)  # a problem fatal in a part is fatal here
    seen = LinesSeen()
    bad_lines: list[int] = []
    origin = table.add_line_source(source)
    table.spill.share(_context())
    try:
        fd = source.fileno()  # the file as opened: the workers inherit it
        with closing(_map(_read_block, line_blocks(plan, READ_BLOCK_BYTES, fd), n_jobs,
                          (plan, reader.options, table.spill, origin, fd), "read", None, 0, init=_init_reader)) as blocks:
            for block in blocks:
                base = seen.lines
                names: list[str] = []
                problems = iter(block.problems)
                pending = next(problems, None)
                for lineno, rid in zip(block.lines, block.ids):
                    # the problems and documents of the part, in the order of their lines
                    while pending is not None and pending[0] < lineno:
                        report(base + pending[0], pending[1], pending[2])
                        pending = next(problems, None)
                    names.append(reader.record_id(rid, f"{display}:{base + lineno}"))
                while pending is not None:  # a fatal problem is the last of its part: report raises
                    report(base + pending[0], pending[1], pending[2])
                    pending = next(problems, None)
                table.extend_stored(names, display, [base + k for k in block.lines], block.at, block.text_at,
                                    block.text_len, block.record_at, block.record_len, block.pages,
                                    block.origin, block.crc)
                keys.extend(block.keys)
                reader.index += len(names)
                bad_lines.extend(base + k for k in block.bad_lines)
                seen.lines += block.seen.lines
                seen.read |= block.seen.read
                seen.blank &= block.seen.blank
                if block.failure is not None:
                    skip(Skipped(display, block.failure))
                    return
    finally:
        table.spill.unshare()
    reader.jsonl_end(display, seen, plan.encoding, bad_lines)


def _common_words(contents: Sequence[np.ndarray], n_docs: int, config: ScanConfig) -> np.ndarray:
    """Content words too frequent for the rare-word index, from the sample's word counts.

    A word is rare when at most ``max(config.rare_word_min_docs, config.rare_word_max_share * n)``
    of the ``n`` documents contain it; on a sample, that limit is scaled to the sample's size.
    Two unrelated articles share almost no rare words, so their collisions in the index stay few
    however large the corpus; a rewrite keeps the names, places, numbers and uncommon words of its
    original. Verification still compares the full texts.
    """
    if not contents:
        return np.zeros(0, dtype=np.uint64)
    words, counts = np.unique(np.concatenate(contents), return_counts=True)
    limit = max(config.rare_word_min_docs, int(config.rare_word_max_share * n_docs)) * len(contents) / n_docs
    return words[counts > limit]


def prepare(
    documents: DocumentTable,
    keys: Sequence[int],
    config: ScanConfig,
    clean_config: CleanConfig | None = None,
    timings: dict[str, float] | None = None,
    jobs: int | None = 1,
    progress: Progress | None = None,
) -> StoredCorpus:
    """Clean (unless ``config.clean`` is off), fingerprint and sign documents, with ``jobs`` processes.

    First the batch statistics are counted on a sample (:func:`sample_indices`): recurring
    boilerplate lines and how many documents use each content word; then every document is
    cleaned, fingerprinted and signed, streamed from disk through the workers.
    """
    timings = timings if timings is not None else {}
    n = len(documents)
    n_jobs = resolve_jobs(jobs) if n > 64 else 1
    t0 = time.perf_counter()
    chunk = max(16, min(500, n // (n_jobs * 8) or 1))
    recurring: frozenset[str] = frozenset()
    common: np.ndarray | None = None
    cc = clean_config or CleanConfig()
    want_recurring = config.clean and n > 1 and bool(cc.recurring_min_docs)
    if want_recurring or config.paraphrase:
        counts: Counter[str] = Counter()
        line_sample = set(sample_indices(keys, RECURRING_SAMPLE)) if want_recurring else set()
        word_sample = set(sample_indices(keys, WORD_SAMPLE)) if config.paraphrase else set()
        contents: dict[int, np.ndarray] = {}  # one per distinct text: copies do not make a word common
        parts = _chunks(sorted(line_sample | word_sample), chunk)
        batches = ([(k, k in line_sample, k in word_sample) for k in part] for part in parts)
        for part, res in zip(parts, _map(_sample_chunk, batches, n_jobs,
                                         (config, clean_config, frozenset(), None, documents),
                                         "count", progress, len(line_sample | word_sample))):
            for k, (line_keys, content) in zip(part, res.docs):
                counts.update(line_keys)
                if content is not None:
                    contents.setdefault(keys[k], content)
            if n_jobs > 1:  # the workers' tokens, for the next stage's workers (in one process: known)
                vocabulary().absorb(res.tokens)
        if want_recurring:
            recurring = select_recurring(counts, len(line_sample), cc)
        if config.paraphrase:
            common = _common_words(list(contents.values()), len(set(keys)), config)
    t1 = time.perf_counter()
    corpus = StoredCorpus(documents, config, common)
    t_clean = t_sign = 0.0
    # The workers write what verification will need into the corpus's files themselves: it does not
    # pass through this process, which only keeps the signatures and where each document's part is.
    try:
        corpus.spill.share(_context())
        corpus.texts.share(_context())
        for res in _map(_prepare_span, _spans(documents, chunk), n_jobs,
                        (config, clean_config, recurring, common, documents, corpus.spill,
                         (corpus.shingle_sigs, corpus.content_sigs), corpus.texts), "fingerprint", progress, n):
            corpus.store(res)
            t_clean += res.clean_seconds
            t_sign += res.sign_seconds
    finally:
        corpus.spill.unshare()
        corpus.texts.unshare()
        _W.clear()  # run in this process (one job), the stage's state goes with it: the signatures too
    t2 = time.perf_counter()
    share = t_clean / (t_clean + t_sign) if t_clean + t_sign else 0.0
    timings["count"] = timings.get("count", 0.0) + t1 - t0
    timings["clean"] = timings.get("clean", 0.0) + (t2 - t1) * share
    timings["signatures"] = timings.get("signatures", 0.0) + (t2 - t1) * (1 - share)
    return corpus


def compare_documents(
    a: Document, b: Document, config: ScanConfig, clean_config: CleanConfig | None = None
) -> tuple[Verdict, StoredCorpus]:
    """Compare two documents with every score computed (what ``diff`` shows)."""
    table, keys = read_documents([a, b])
    corpus = prepare(table, keys, config, clean_config)
    verdict = compare(corpus.fingerprint(0), corpus.fingerprint(1), corpus.sentences, config, full=True)
    return verdict, corpus


_CORPUS: dict[str, Any] = {}

_NEEDS_SENTENCES = "needs sentences"
STORE_SENTENCES_BELOW = 1.5
"""Sentences are prepared once and stored when the pairs waiting for them have fewer than this many
documents per pair (2: no document shared). Reading back costs a fifteenth of preparing
(``scored_sentences`` and its bytes: about 175 us per document of a generated corpus, reading back
11 us)."""

# Pairs or documents from which the verification stages use worker processes. A pool costs about
# 25 ms to start, feed and stop on this project's 2-core machine, so it pays when the work takes
# several times that in this process: first-pass verdicts cost about 10 us a pair, preparing a
# document's sentences 57 us, the second pass 61 us a pair (a 10k-document corpus: 1,258, 456 and
# 425 of them took 12, 26 and 26 ms here against 33-46, 33-52 and 37-43 ms with two workers).
POOL_FROM_PAIRS = 8_000
POOL_FROM_SENTENCES = 1_000
POOL_FROM_ALIGN = 1_000


def _verify_chunk(pairs: list[tuple[int, int]]) -> list[Match | str | None]:
    """Verify pairs; in the first pass (``_CORPUS["first"]``), a pair whose verdict needs the
    sentences of its documents is left for the second pass (``_NEEDS_SENTENCES``), which looks at
    nothing else."""
    corpus: StoredCorpus = _CORPUS["corpus"]
    config: ScanConfig = _CORPUS["config"]
    out: list[Match | str | None] = []
    n_shingles = corpus.n_shingles
    if not _CORPUS.get("first"):
        may = corpus.sentences_may_decide(pairs, config)
        for (i, j), m in zip(pairs, may.tolist()):
            if m:
                smaller = int(min(n_shingles[i], n_shingles[j]))
                out.append(verify_by_sentences(i, j, smaller, corpus.sentences, config))
            else:
                out.append(None)  # what verify_by_sentences finds, without reading the sentences back
        return out
    ia, ib = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    same = (corpus.digests[ia] == corpus.digests[ib]).all(axis=1)
    common = corpus.common_shingles(ia * len(corpus) + ib)
    found = verify_by_shingles(pairs, same, n_shingles[ia], n_shingles[ib], common, config)
    return [_NEEDS_SENTENCES if m is None else m for m in found]


@dataclass(frozen=True)
class _SentencesWritten:
    """Where :func:`_sentence_chunk` wrote the sentences of its documents."""

    at: int
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)


def _sentence_chunk(indices: list[int]) -> _SentencesWritten:
    """Prepare the sentences of documents and store them (:meth:`StoredCorpus.append_sentences`)."""
    corpus: StoredCorpus = _CORPUS["corpus"]
    # Without their text: the bounds of the second pass do not read it, and the few pairs they leave
    # to be aligned make it again (StoredCorpus._load_sentences).
    blobs = [stored_sentences(corpus.text(k), keep_text=False) for k in indices]
    return _SentencesWritten(corpus.append_sentences(blobs), np.fromiter(map(len, blobs), np.int64, len(blobs)))


def exact_groups(corpus: StoredCorpus) -> tuple[list[Match], np.ndarray]:
    """Exact copies (same normalized text), matched by digest without pairwise work.

    Returns:
        One match per copy (to the first document of its group, in input order) and the first
        document of every group: the ones that enter the LSH indexes.
    """
    idx = np.flatnonzero(corpus.n_shingles > 0)
    d = corpus.digests[idx]
    order = np.lexsort((idx, d[:, 1], d[:, 0]))
    members, sd = idx[order], d[order]
    first = np.ones(len(members), dtype=bool)
    first[1:] = (sd[1:] != sd[:-1]).any(axis=1)
    heads = members[first][np.cumsum(first) - 1]
    copies = np.flatnonzero(~first)
    matches = [Match(int(heads[k]), int(members[k]), "exact", 1.0, "identical")
               for k in copies[np.argsort(members[copies])].tolist()]
    return matches, np.sort(members[first])


def find_matches(
    corpus: StoredCorpus,
    config: ScanConfig,
    timings: dict[str, float],
    progress: Progress | None = None,
    jobs: int | None = 1,
) -> tuple[list[Match], dict[str, int]]:
    """Exact groups, LSH candidates and verification.

    Exact copies are matched by digest; one document of each group enters the LSH indexes.
    Returns the matches and counts (``candidate_pairs``: pairs verified, ``lsh_collisions``: raw
    collisions).
    """
    t0 = time.perf_counter()
    matches, active = exact_groups(corpus)
    content_active = active[corpus.has_content[active]]
    n_jobs = resolve_jobs(jobs)
    # Workers of the verification and banding stages: no cleaner to build (clean=False).
    init: tuple[Any, ...] = (dataclasses.replace(config, clean=False), None, frozenset())

    def map_bands(func: Any, groups: list[list[int]]) -> Iterator[Any]:
        return _map(func, groups, n_jobs, init, "candidates", None, len(groups))

    pairs, raw = find_candidates(
        corpus.shingle_sigs,
        corpus.content_sigs,
        active,
        content_active,
        lambda codes: corpus.content_jaccards(codes, n_jobs),
        config.candidate_threshold,
        config.content_candidate_threshold,
        config.content_candidate_threshold,
        # half a gigabyte at 1M documents, freed before the content banding
        shingles_done=lambda: corpus.drop_signatures(shingle=True),
        # the bands of each index in one group per worker, when there are enough documents
        map_bands=map_bands, groups=n_jobs if len(active) > 20_000 else 1,
    )
    corpus.drop_signatures()  # not needed by verification workers
    t1 = time.perf_counter()
    _CORPUS["corpus"], _CORPUS["config"] = corpus, config
    try:
        # First pass: the verdicts that shingles decide. The pairs left need the sentences of both
        # documents; a document is in several of them, so its sentences are prepared once, stored,
        # and read back by the second pass (same verdicts as preparing them for each pair).
        _CORPUS["first"] = True
        results = _verify_pairs(pairs, n_jobs if len(pairs) > POOL_FROM_PAIRS else 1, init, "verify", progress)
        waiting = [k for k, r in enumerate(results) if isinstance(r, str)]
        if waiting:
            _CORPUS["first"] = False
            docs = sorted({d for k in waiting for d in pairs[k]})
            if len(docs) < STORE_SENTENCES_BELOW * len(waiting):
                size = max(16, min(500, len(docs) // (n_jobs * 8) or 1))
                parts = _chunks(docs, size)
                corpus.share_sentences(_context())
                try:
                    for part, written in zip(parts, _map(_sentence_chunk, parts, n_jobs if len(docs) > POOL_FROM_SENTENCES else 1,
                                                         init, "sentences", progress, len(docs))):
                        corpus.stored_sentences(part, written.at, written.lengths)
                finally:
                    corpus.close_sentences()
            second = _verify_pairs([pairs[k] for k in waiting], n_jobs if len(waiting) > POOL_FROM_ALIGN else 1, init,
                                   "align", progress)
            for k, r in zip(waiting, second):
                results[k] = r
        matches.extend(r for r in results if isinstance(r, Match))
    finally:
        _CORPUS.clear()
    t2 = time.perf_counter()
    timings["candidates"] = t1 - t0
    timings["verify"] = t2 - t1
    return matches, {"candidate_pairs": len(pairs), "lsh_collisions": raw}


def _verify_pairs(pairs: list[tuple[int, int]], n_jobs: int, init: tuple[Any, ...], stage: str,
                  progress: Progress | None) -> list[Match | str | None]:
    size = max(64, min(2000, len(pairs) // (n_jobs * 8) or 1))
    out: list[Match | str | None] = []
    for res in _map(_verify_chunk, _chunks(pairs, size), n_jobs, init, stage, progress, len(pairs)):
        out.extend(res)
    return out


class _Clusterable(Protocol):
    def fingerprint(self, index: int) -> Fingerprint: ...
    def sentences(self, index: int) -> Sentences: ...


def build_clusters(corpus: _Clusterable, ids: Sequence[str], lengths: Sequence[int], matches: Sequence[Match],
                   config: ScanConfig) -> list[Cluster]:
    """Group matches into clusters, pick representatives and score members against them.

    Args:
        corpus: Fingerprints and sentences of the documents (read only for cluster members).
        ids: Id of every document.
        lengths: Cleaned length of every document.
        matches: The verified pairs.
        config: Matching settings.
    """
    direct = {(m.a, m.b): m for m in matches}
    best_edge: dict[int, Match] = {}
    for m in matches:
        for x in (m.a, m.b):
            if x not in best_edge or m.similarity > best_edge[x].similarity:
                best_edge[x] = m
    clusters = []
    for group in group_pairs(len(ids), ((m.a, m.b) for m in matches)):
        rep, reason = choose_representative(group, config.keep, lengths, ids)
        members = [Member(ids[rep], 1.0, "representative", "identical", int(lengths[rep]), True)]
        for i in sorted((g for g in group if g != rep), key=lambda g: ids[g]):
            key = (min(i, rep), max(i, rep))
            m = (direct.get(key) or verify_pair(corpus.fingerprint(i), corpus.fingerprint(rep), corpus.sentences, config)
                 or best_edge[i])
            members.append(Member(ids[i], m.similarity, m.kind, m.measure, int(lengths[i])))
        clusters.append(Cluster(0, ids[rep], reason, tuple(members)))
    clusters.sort(key=lambda c: c.representative)
    return [Cluster(n, c.representative, c.reason, c.members) for n, c in enumerate(clusters, 1)]


def cluster_counts(n_docs: int, clusters: Sequence[Cluster], matches: Sequence[Match]) -> dict[str, Any]:
    """The counts every clustering reports: documents, clusters, duplicates, unique, matches by kind."""
    in_clusters = sum(len(c.members) for c in clusters)
    return {
        "documents": n_docs,
        "clusters": len(clusters),
        "duplicates": in_clusters - len(clusters),
        "unique": n_docs - in_clusters + len(clusters),
        "verified_pairs": len(matches),
        "kinds": {k: sum(1 for m in matches if m.kind == k) for k in ("exact", "near", "paraphrase")},
    }


def scan_documents(
    documents: Iterable[Document],
    config: ScanConfig | None = None,
    clean_config: CleanConfig | None = None,
    progress: Progress | None = None,
    skipped: Sequence[Skipped] = (),
    jobs: int | None = 1,
) -> ScanResult:
    """Find clusters of duplicates among ``documents``.

    The documents are consumed as a stream: their texts go to a temporary file, so memory holds
    per document only its id, offsets and signatures (see :mod:`dedupe.store`).

    Args:
        documents: The documents, in input order (any iterable; read once).
        config: Matching settings.
        clean_config: Cleaner settings.
        progress: Called as ``progress(stage, done, total)``.
        skipped: Inputs left out while reading (carried into the result); a list that is still
            being filled while ``documents`` is consumed is fine.
        jobs: Worker processes (``None``/0: every core). Results do not depend on it.

    Raises:
        InputError: there is no document at all.
    """
    started = time.perf_counter()
    with collector_paused():
        table, keys = read_documents(documents)
        return _scan_table(table, keys, started, config, clean_config, progress, skipped, jobs)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (and in the workers forked within it),
    then as it was. A scan makes millions of objects that form no cycles (ids, offsets, pairs,
    matches), and the collector, run each time enough of them have piled up, walked all of them
    again and again: 3.2 s of CPU at a million documents (2 of them in the main process, of its 25),
    measured with perf. Writing a scan's output is the same (``dedupe scan`` pauses it there too: 0.9
    of the 1.3 s of writing the JSON of a million documents' clusters). Memory is still freed by
    reference counting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan_table(table: DocumentTable, keys: list[int], started: float, config: ScanConfig | None,
                clean_config: CleanConfig | None, progress: Progress | None, skipped: Sequence[Skipped],
                jobs: int | None) -> ScanResult:
    """:func:`scan_documents` after the read stage (begun at ``started``)."""
    config = config or ScanConfig()
    timings: dict[str, float] = {"read": time.perf_counter() - started}
    if not len(table):
        raise no_documents("scan", skipped)
    corpus = prepare(table, keys, config, clean_config, timings, jobs, progress)
    del keys
    matches, counts = find_matches(corpus, config, timings, progress, jobs)
    t0 = time.perf_counter()
    clusters = build_clusters(corpus, table.ids, corpus.lengths.tolist(), matches, config)
    timings["cluster"] = time.perf_counter() - t0
    empty = int((corpus.n_shingles == 0).sum())
    corpus.close()
    stats = {
        **cluster_counts(len(table), clusters, matches),
        "empty_after_cleaning": empty,
        "candidate_pairs": counts["candidate_pairs"],
        "lsh_collisions": counts["lsh_collisions"],
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped if s.skipped],
        "warnings": [{"path": s.path, "reason": s.reason} for s in skipped if not s.skipped],
        "seconds": round(time.perf_counter() - started, 3),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": peak_rss_mb(),
    }
    return ScanResult(tuple(clusters), table, stats, tuple(skipped))


def peak_rss_mb() -> int:
    """Peak resident memory of this process so far, in MB (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
    return int(peak // (1 << 20) if sys.platform == "darwin" else peak // 1024)


def scan_paths(
    paths: Sequence[str],
    config: ScanConfig | None = None,
    clean_config: CleanConfig | None = None,
    read_options: ReadOptions | None = None,
    progress: Progress | None = None,
    jobs: int | None = 1,
) -> ScanResult:
    """Read ``paths`` (files, directories, ``-``, JSONL) and scan them. See :func:`scan_documents`."""
    skipped: list[Skipped] = []
    started = time.perf_counter()
    with collector_paused():
        table, keys = read_paths(paths, read_options, skipped.append, jobs)
        return _scan_table(table, keys, started, config, clean_config, progress, skipped, jobs)


def installed_version(name: str) -> str:
    """The version of an installed distribution, as :func:`importlib.metadata.version` gives it
    (whose import, the email package, and search took 44 ms of a JSON scan's 1.6 s at 10k
    documents): the ``Version`` field of the ``METADATA`` in the first directory on ``sys.path``
    that holds exactly one ``NAME-VERSION.dist-info`` of that name (PEP 503-escaped). Any other
    layout met on the way (an ``.egg-info``, two dist-infos in one directory, a zip file or another
    entry that cannot be listed, a ``METADATA`` without a version) is left to :mod:`importlib.metadata`."""
    def key(dist: str) -> str:  # PEP 503: runs of "-", "_" and "." alike, case ignored
        return re.sub(r"[-_.]+", "_", dist).lower()

    wanted = key(name)
    for entry in sys.path:
        if not isinstance(entry, str):
            break
        try:
            with os.scandir(entry or ".") as listing:
                found = [item.path for item in listing
                         if item.name.lower().endswith((".dist-info", ".egg-info"))
                         and key(item.name.partition("-")[0]) == wanted]
        except OSError:
            if os.path.exists(entry or "."):
                break  # a zip file, or a directory not listed: importlib.metadata looks there
            continue
        if not found:
            continue
        if len(found) == 1 and found[0].endswith(".dist-info"):
            with suppress(OSError), open(os.path.join(found[0], "METADATA"), encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line[len("Version:") :].strip()
                    if not line.strip():
                        break  # the headers end at the first blank line
        break
    import importlib.metadata

    return importlib.metadata.version(name)


def settings_summary(config: ScanConfig) -> dict[str, object]:
    """The settings that shape the results (reported in JSON output)."""
    return {
        "shingle": str(config.shingle),
        "num_perm": config.num_perm,
        "seed": config.seed,
        "scheme": SCHEME,
        "threshold": config.threshold,
        "containment": config.containment,
        "paraphrase": config.paraphrase,
        "paraphrase_threshold": config.paraphrase_threshold,
        "keep": config.keep,
        "clean": config.clean,
        "dedupe": __version__,
        "datasketch": installed_version("datasketch"),
    }


def clean_documents(documents: Sequence[Document], clean_config: CleanConfig | None = None) -> list[CleanResult]:
    """Clean documents as one batch: lines recurring across many of them count as boilerplate too.

    Recurring lines are counted on the same sample as ``scan`` counts them (:func:`sample_indices`),
    so both commands clean a batch alike. Articles extracted from HTML pages (``Document.page``
    set) are cleaned in the cleaner's extracted-text mode.
    """
    cleaner = Cleaner(clean_config)
    recurring: frozenset[str] = frozenset()
    if len(documents) > 1:
        sample = sample_indices([text_key(d.text) for d in documents], RECURRING_SAMPLE)
        recurring = find_recurring_lines((documents[k].text for k in sample), cleaner.config)
    return [cleaner.clean(d.text, recurring, extracted=d.page is not None) for d in documents]
