"""Shingling: a text becomes a sorted array of unique 64-bit shingle hashes.

Token hashes come from BLAKE2b (stable across runs and machines, unlike Python's ``hash``);
the hash of a k-gram combines its token hashes with position-dependent odd multipliers and a
64-bit finalizer, computed for all positions at once with NumPy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from dedupe.config import ShingleSpec
from dedupe.normalize import (
    SENTENCE_SPLIT,
    STOPWORDS,
    content_form,
    fold_map,
    fold_separators,
    fold_text,
    tokenize,
    tokenize_lines,
)
from dedupe.similarity.native import kernels, word_table

_U64 = np.uint64
# Odd multipliers, one per position inside a shingle (up to 32).
_MULTS = np.array([(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF for i in range(32)], dtype=_U64)
_CACHE_LIMIT = 2_000_000

EMPTY = np.zeros(0, dtype=_U64)


def stable_hash64(text: str) -> int:
    """BLAKE2b-64 of the text's UTF-8 (stable across runs and machines, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


_QUICK_LENGTH = _U64(0xC2B2AE3D27D4EB4F)


def quick_hash64(data: bytes) -> int:
    """A fast 64-bit hash of bytes (stable across runs and machines), for choosing samples of texts:
    the sum, modulo 2**64, over the 8-byte little-endian words of ``data`` (the last padded with zero
    bytes) of ``fmix64(word + position * 0x9E3779B97F4A7C15)``, mixed with the length. The compiled
    kernel takes about 0.3 us for a 2 KB news text, a tenth of BLAKE2b (:func:`stable_hash64`)."""
    native = kernels()
    if native is not None:
        value: int = native.quick_hash64(data)
        return value
    full, tail = divmod(len(data), 8)
    words = np.frombuffer(data + bytes(-len(data) % 8), dtype="<u8").astype(_U64)
    with np.errstate(over="ignore"):
        acc = fmix64(words + np.arange(full + (tail > 0), dtype=_U64) * _MULTS[0]).sum(dtype=_U64)
        return int(fmix64(np.array([acc ^ (_U64(len(data)) * _QUICK_LENGTH)], dtype=_U64))[0])


def hash_tokens(tokens: list[str]) -> np.ndarray:
    """Stable 64-bit hashes of ``tokens``, in order."""
    vocab = vocabulary()
    ids = vocab.lookup(tokens)  # first: it may grow (replace) the hash array
    return vocab.hashes[ids]


class Vocabulary:
    """A per-process table from token to id, holding each token's stable 64-bit hash and the hash of
    its content-word form (0 for function words), so that a document's tokens are hashed with one
    table lookup each and everything after is NumPy.

    The table is the compiled kernels' (:mod:`dedupe.similarity.native`) when they are in use, a
    dict otherwise; ids are internal, so either gives the same hashes.

    Args:
        content_form: Maps a token to its content-word form, ``""`` for none.
        limit: The table is emptied when it would grow beyond this many tokens (bounded memory).
        native: Use the compiled table (the default when the kernels are in use).
    """

    def __init__(self, content_form: Callable[[str], str], limit: int = _CACHE_LIMIT,
                 native: bool | None = None) -> None:
        self._form = content_form
        self._limit = limit
        self._native = kernels() if native is None or native else None
        self._table = self._native.vocab_new() if self._native is not None else None
        self._size = 0
        self.ids: dict[str, int] = {}
        self.hashes = np.zeros(1024, dtype=_U64)
        self.content = np.zeros(1024, dtype=_U64)
        self.generation = 0  # times the table was emptied (see _empty)
        self._given: dict[str, tuple[int, int]] | None = None  # hashes known already (absorb)
        self._recorded: list[tuple[str, int, int]] | None = None  # tokens added (recording)

    @contextmanager
    def recording(self) -> Iterator[Callable[[], Learned]]:
        """Within the block, every token added is also recorded; the function given returns them
        (:class:`Learned`), for another process's vocabulary to :meth:`absorb`."""
        added: list[tuple[str, int, int]] = []
        self._recorded = added
        try:
            yield lambda: Learned(" ".join(t for t, _, _ in added), np.array([h for _, h, _ in added], dtype=_U64),
                                  np.array([c for _, _, c in added], dtype=_U64))
        finally:
            self._recorded = None

    def absorb(self, learned: Learned) -> None:
        """Add tokens with their hashes and content hashes (as :meth:`recording` gives them): what
        looking them up would add, without hashing them again."""
        if not learned.tokens:
            return
        tokens = learned.tokens.split(" ")
        if len(tokens) != len(learned.hashes) or len(learned.content) != len(learned.hashes):
            raise ValueError("one hash and one content hash per token, and tokens hold no spaces")
        if self._table is None or self._native is None:
            self._given = dict(zip(tokens, zip(learned.hashes.tolist(), learned.content.tolist())))
            try:
                self.lookup(list(self._given))
            finally:
                self._given = None
            return
        data = learned.tokens.encode("utf-8", "surrogatepass")
        if self._size + len(learned.hashes) > self._limit:
            self._empty()
        ids = np.empty(len(data) // 2 + 1, dtype=np.int64)
        try:
            count, _, fresh = self._native.vocab_lookup(self._table, data, ids, False)
        except BaseException:
            self._empty()
            raise
        if count != len(learned.hashes):
            self._empty()
            raise ValueError("tokens must be non-empty and hold no spaces")
        ids = ids[:count]
        need = self._size + len(fresh)
        self._hold(need)
        # Every token's values, the known ones too (the same values): one assignment each.
        self.hashes[ids] = learned.hashes
        self.content[ids] = learned.content
        self._size = need

    def _empty(self) -> None:
        """Forget every token: ids start again from 0. ``hashes`` and ``content`` become new arrays,
        so that the arrays taken before stay right for the ids given before (a caller that looks ids
        up later keeps them, and watches ``generation``)."""
        if self._native is not None:
            self._table = self._native.vocab_new()
        self._size = 0
        self.ids.clear()
        self.hashes = np.zeros(1024, dtype=_U64)
        self.content = np.zeros(1024, dtype=_U64)
        self.generation += 1

    def lookup(self, tokens: list[str]) -> np.ndarray:
        """Ids of ``tokens`` (new tokens are added)."""
        if self._table is not None:
            found, _ = self.lookup_text(" ".join(tokens))
            if len(found) != len(tokens):
                raise ValueError("tokens must be non-empty and hold no spaces")
            return found
        ids = self.ids
        # One dict lookup per token; only the (few) new tokens of a document take a second pass.
        out = np.fromiter(map(ids.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        if len(out) and out.min() < 0:
            missing = {tokens[k] for k in np.flatnonzero(out < 0).tolist()}
            if len(ids) + len(missing) > self._limit:
                self._empty()
                missing = set(tokens)
            self._add(sorted(missing), len(ids))
            out = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        return out

    def lookup_text(self, text: str, words: bool = False) -> tuple[np.ndarray, bytes]:
        """Ids of the tokens of ``text`` and the tokens joined by single spaces as UTF-8 (what
        :func:`dedupe.pipeline` digests). With ``words``, the tokens are those of
        :func:`dedupe.normalize.tokenize` (runs of word characters), else ``text`` holds tokens
        separated by runs of spaces."""
        if self._table is None or self._native is None:
            if words:
                tokens = tokenize(text)
            else:
                tokens = text.split(" ")
                if "" in tokens:
                    tokens = [t for t in tokens if t]
            return self.lookup(tokens), " ".join(tokens).encode("utf-8", "surrogatepass")
        found = self._native_lookup(text, words, False)
        assert found is not None
        return found[0], found[1]

    def lookup_folded(self, text: str) -> tuple[np.ndarray, bytes]:
        """``lookup_text(fold_text(text), words=True)``. The compiled table folds a text itself when
        its non-ASCII characters all are separators that folding keeps so
        (:func:`~dedupe.normalize.fold_separators`: punctuation, currency signs, curly quotes,
        dashes, no-break spaces), which spares folding it in Python (17.6 us for a news text with a
        pound sign, 2.2 us for an ASCII one)."""
        if self._table is not None and self._native is not None:
            found = self._native_lookup(text, True, False, fold_separators())
            if found is not None:
                return found[0], found[1]
        return self.lookup_text(fold_text(text), words=True)

    def lookup_lines(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the word tokens of ``text`` (those of ``lookup_text(text, words=True)``) and the
        line of each (0-based, lines end at line feeds)."""
        if self._table is None or self._native is None:
            per_line = tokenize_lines(text.split("\n"))
            ids = self.lookup([t for tokens in per_line for t in tokens])
            return ids, np.repeat(np.arange(len(per_line), dtype=np.int64), [len(t) for t in per_line])
        found = self._native_lookup(text, True, True)
        assert found is not None and found[2] is not None
        return found[0], found[2]

    def _native_lookup(self, text: str, words: bool, lines: bool,
                       separators: bytes | None = None) -> tuple[np.ndarray, bytes, np.ndarray | None] | None:
        """The compiled lookup; with ``separators`` (:meth:`lookup_folded`), None when it leaves the
        text to Python."""
        native = self._native
        assert native is not None
        data = text.encode("utf-8", "surrogatepass")
        most = len(data) // 2 + 1  # tokens in the text, at most
        ids = np.empty(most, dtype=np.int64)
        line_of = np.empty(most, dtype=np.int64) if lines else None
        extra: tuple[object, ...] = () if line_of is None else (line_of,)
        if separators is not None:
            extra = (None, separators)
        found = self._native_call(most, lambda: native.vocab_lookup(self._table, data, ids, words, *extra))
        if found is None:
            return None
        count, joined = found
        return ids[:count], joined, None if line_of is None else line_of[:count]

    def lookup_sentences(self, text: str, bins: bytes) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray] | None:
        """The sentences of ``text`` (:func:`~dedupe.normalize.split_sentences`), each folded and its
        whitespace collapsed (``" ".join(fold_text(s).split())``), joined by line feeds as UTF-8; the ids
        of their word tokens (those of :meth:`lookup_lines` on that text) and the sentence of each; and
        each sentence's character classes (``int32[n, 32]``, ``bins`` as in
        :func:`~dedupe.similarity.align.char_counts`). Compiled in one pass, without a string per
        sentence, for a text whose non-ASCII characters all fold alone
        (:func:`~dedupe.normalize.fold_map`); ``None`` for other texts and without the compiled table."""
        native = self._native
        if self._table is None or native is None:
            return None
        ascii_fold, fold = fold_map()
        found = self._native_call(len(text) // 2 + 1, lambda: native.sentence_tokens(
            self._table, text, *SENTENCE_SPLIT, ascii_fold, fold, bins))
        if found is None:
            return None
        joined, ids, rows, counts = found
        return (joined, np.frombuffer(ids, dtype=np.int64), np.frombuffer(rows, dtype=np.int64),
                np.frombuffer(counts, dtype=np.int32).reshape(-1, 32))

    def _native_call(self, most: int, call: Callable[[], Any]) -> Any:
        """Run a compiled lookup that may add up to ``most`` tokens (the table is emptied first if they
        could overflow it) and returns ``None`` or a tuple ending with the tokens it added; record
        those, and return the rest of the tuple."""
        if self._size + most > self._limit:
            self._empty()
        try:
            found = call()
        except BaseException:
            # The table may hold tokens of this call that Python has no hashes for: start afresh.
            self._empty()
            raise
        if found is None:
            return None
        fresh = found[-1]
        if fresh:
            self._add(fresh, self._size)
            self._size += len(fresh)
        return found[:-1]

    def _hold(self, need: int) -> None:
        """Grow ``hashes`` and ``content`` (into new arrays, at least doubled) to hold ``need`` ids."""
        if need > len(self.hashes):
            size = max(need, 2 * len(self.hashes))
            self.hashes = np.resize(self.hashes, size)
            self.content = np.resize(self.content, size)

    def _add(self, tokens: list[str], start: int) -> None:
        """Record tokens given ids ``start, start + 1, ...``."""
        self._hold(start + len(tokens))
        given, recorded = self._given, self._recorded
        if given is None and self._native is not None and self._form is content_form and tokens:
            # Compiled: both BLAKE2b hashes, and the content form of ASCII tokens (0.75 against 5.0 us a
            # token on the tenth session's machine); the forms of the others are Python's.
            stop = start + len(tokens)
            hashes, content = self.hashes[start:stop], self.content[start:stop]
            for k in self._native.token_hashes(word_table(self._native, STOPWORDS),
                                               " ".join(tokens).encode("utf-8", "surrogatepass"), hashes, content):
                form = content_form(tokens[k])
                content[k] = stable_hash64(form) if form else 0
            if recorded is not None:
                recorded.extend(zip(tokens, hashes.tolist(), content.tolist()))
            return
        for k, token in enumerate(tokens, start):
            if self._table is None:
                self.ids[token] = k
            known = None if given is None else given.get(token)
            if known is None:
                form = self._form(token)
                known = stable_hash64(token), stable_hash64(form) if form else 0
            self.hashes[k], self.content[k] = known
            if recorded is not None:
                recorded.append((token, *known))


class Learned(NamedTuple):
    """Tokens a vocabulary added (joined by spaces), with their hashes and content hashes."""

    tokens: str
    hashes: np.ndarray
    content: np.ndarray


_VOCABS: dict[bool, Vocabulary] = {}


def fork_ready() -> None:
    """Build the tables the compiled lookups make on their first call (:func:`fold_separators`, 11 ms;
    :func:`fold_map`, 4 ms), for processes forked after this to inherit: without this, each worker
    of each pool built them again on its critical path."""
    if kernels() is not None:
        fold_separators()
        fold_map()


def vocabulary() -> Vocabulary:
    """This process's vocabulary (one per choice of compiled or Python table)."""
    native = kernels() is not None
    if native not in _VOCABS:
        _VOCABS[native] = Vocabulary(content_form, native=native)
    return _VOCABS[native]


def ids_units(ids: np.ndarray, spec: ShingleSpec, normalized: str) -> tuple[np.ndarray, np.ndarray]:
    """What a text's features are made of, from its tokens' ids in :func:`vocabulary`: the hashes of
    its shingle units, in order (tokens, or characters of ``normalized`` for character shingles), and
    the content-word hash of each token (0 for function words)."""
    vocab = vocabulary()
    units = vocab.hashes[ids] if spec.kind == "word" else char_units(normalized)
    return units, vocab.content[ids]


def content_hashes(text: str) -> np.ndarray:
    """Sorted unique hashes of the content words (stemmed, function words left out) of the tokens
    of a text (those of its :func:`~dedupe.normalize.fold_text`)."""
    vocab = vocabulary()
    ids = vocab.lookup_folded(text)[0]  # first: it may grow (replace) the content array
    native = kernels()
    if native is not None:  # gathered, sorted and made unique at once (5 NumPy calls otherwise)
        out = np.empty(len(ids), dtype=_U64)
        return out[: native.gather_set(vocab.content, ids, out)]
    return content_set(vocab.content[ids])


def content_set(content: np.ndarray) -> np.ndarray:
    """The sorted unique content hashes among per-token ones (0, a function word, left out)."""
    return sorted_unique(content[content != 0])


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted: ``np.unique`` by sorting.

    NumPy 2.3+ makes ``np.unique`` find distinct values with a hash table first, which costs
    about 8 times a sort on a few hundred values and 80 times on millions (24.5 s against 0.3 s for
    25 million 64-bit integers, measured on this project's 2-core machine).
    """
    out = np.sort(values)
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer on an array (a bijection that mixes every bit)."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> _U64(33))
        h = h * _U64(0xFF51AFD7ED558CCD)
        h = h ^ (h >> _U64(33))
        h = h * _U64(0xC4CEB9FE1A85EC53)
        return h ^ (h >> _U64(33))


def ngram_hashes(unit_hashes: np.ndarray, k: int) -> np.ndarray:
    """Sorted unique hashes of every run of ``k`` consecutive units.

    A sequence shorter than ``k`` yields one shingle of the whole sequence, so that short texts
    still have a fingerprint.
    """
    n = len(unit_hashes)
    if n == 0:
        return EMPTY
    k = min(k, n)
    m = n - k + 1
    acc = np.zeros(m, dtype=_U64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc += unit_hashes[j : j + m] * _MULTS[j]
    acc += _U64(k)
    return sorted_unique(fmix64(acc))


def shingle_hashes(tokens: list[str], normalized: str, spec: ShingleSpec) -> np.ndarray:
    """The shingle set of a text as a sorted unique ``uint64`` array.

    Args:
        tokens: Word tokens of the normalized text (used for ``word`` shingles).
        normalized: The normalized text (used for ``char`` shingles).
        spec: Which shingles.
    """
    if spec.kind == "word":
        return ngram_hashes(hash_tokens(tokens), spec.size)
    return ngram_hashes(char_units(normalized), spec.size)


def char_units(normalized: str) -> np.ndarray:
    """The hashes of a text's characters, in order (the units of character shingles)."""
    codes = np.frombuffer(normalized.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(_U64)
    return fmix64(codes + _U64(0x51ED270B27AE))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = intersection_size(a, b)
    return inter / (len(a) + len(b) - inter)


def jaccards_to(a: np.ndarray, sets: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``jaccard(a, s)`` for each of many sorted unique ``uint64`` arrays ``s`` at once, the same
    values: the arrays concatenated in ``sets``, array ``k`` at ``offsets[k]:offsets[k + 1]``
    (``offsets[0] == 0``, ``offsets[-1] == len(sets)``); see :func:`jaccards_within`."""
    values = np.concatenate((np.asarray(sets, dtype=_U64), np.asarray(a, dtype=_U64)))
    offsets = np.asarray(offsets, dtype=np.int64)
    return jaccards_within(values, offsets[:-1], np.diff(offsets), len(sets), len(a))


def jaccards_within(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, at: int, size: int) -> np.ndarray:
    """``jaccard(q, s)`` of one sorted unique array ``q = values[at : at + size]`` with many others,
    ``s = values[starts[k] : starts[k] + lengths[k]]``, all in one ``uint64`` array (an index query
    checks thousands: no Python per array). The compiled kernel merges ``q`` with each (its
    ``set_jaccard``); without it, each value of the others is searched in ``q`` and the hits are
    counted per array. Both divide as :func:`jaccard` does."""
    m = len(starts)
    native = kernels()
    if native is not None and m:
        out = np.empty(m, dtype=np.float64)
        native.set_jaccard(values, np.append(np.asarray(starts, dtype=np.int64), at),
                           np.append(np.asarray(lengths, dtype=np.int64), size),
                           np.arange(m, dtype=np.int64) * (m + 1) + m, m + 1, out)
        return out
    q = values[at : at + size]
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    if size:
        # the others' values gathered end to end, each searched in q
        flat = values[np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths)
                      + np.arange(int(ends[-1]) if m else 0)]
        found = q[np.minimum(np.searchsorted(q, flat), size - 1)] == flat
        hits = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(found, out=hits[1:])
        inter = hits[ends] - hits[ends - lengths]
    else:
        inter = np.zeros(m, dtype=np.int64)
    union = size + lengths - inter
    # int / int as jaccard divides (both exact in a double: the same rounding); two empty sets: 1.0
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """Size of the intersection of two sorted unique arrays."""
    if len(a) == 0 or len(b) == 0:
        return 0
    native = kernels()
    if native is not None and a.dtype == _U64 and b.dtype == _U64:
        count: int = native.common_count(np.ascontiguousarray(a), np.ascontiguousarray(b))  # a merge: no sort
        return count
    return int(np.intersect1d(a, b, assume_unique=True).size)
