"""Shingling: a text becomes a sorted array of unique 64-bit shingle hashes.

Token hashes come from BLAKE2b (stable across runs and machines, unlike Python's ``hash``);
the hash of a k-gram combines its token hashes with position-dependent odd multipliers and a
64-bit finalizer, computed for all positions at once with NumPy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from itertools import repeat

import numpy as np

from dedupe.config import ShingleSpec

_U64 = np.uint64
# Odd multipliers, one per position inside a shingle (up to 32).
_MULTS = np.array([(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF for i in range(32)], dtype=_U64)
_CACHE_LIMIT = 2_000_000

EMPTY = np.zeros(0, dtype=_U64)


def stable_hash64(text: str) -> int:
    """BLAKE2b-64 of the text's UTF-8 (stable across runs and machines, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def hash_tokens(tokens: list[str]) -> np.ndarray:
    """Stable 64-bit hashes of ``tokens``, in order."""
    vocab = vocabulary()
    return vocab.hashes[vocab.lookup(tokens)]


class Vocabulary:
    """A per-process table from token to id, holding each token's stable 64-bit hash and the hash of
    its content-word form (0 for function words), so that a document's tokens are hashed with one
    dictionary lookup each and everything after is NumPy.

    Args:
        content_form: Maps a token to its content-word form, ``""`` for none.
        limit: The table is emptied when it would grow beyond this many tokens (bounded memory).
    """

    def __init__(self, content_form: Callable[[str], str], limit: int = _CACHE_LIMIT) -> None:
        self._form = content_form
        self._limit = limit
        self.ids: dict[str, int] = {}
        self.hashes = np.zeros(1024, dtype=_U64)
        self.content = np.zeros(1024, dtype=_U64)

    def lookup(self, tokens: list[str]) -> np.ndarray:
        """Ids of ``tokens`` (new tokens are added)."""
        ids = self.ids
        # One dict lookup per token; only the (few) new tokens of a document take a second pass.
        out = np.fromiter(map(ids.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        if len(out) and out.min() < 0:
            missing = {tokens[k] for k in np.flatnonzero(out < 0).tolist()}
            if len(ids) + len(missing) > self._limit:
                ids.clear()
                missing = set(tokens)
            self._add(missing)
            out = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        return out

    def _add(self, tokens: set[str]) -> None:
        start = len(self.ids)
        need = start + len(tokens)
        if need > len(self.hashes):
            size = max(need, 2 * len(self.hashes))
            self.hashes = np.resize(self.hashes, size)
            self.content = np.resize(self.content, size)
        for k, token in enumerate(sorted(tokens), start):
            self.ids[token] = k
            self.hashes[k] = stable_hash64(token)
            form = self._form(token)
            self.content[k] = stable_hash64(form) if form else 0


_VOCAB: Vocabulary | None = None


def vocabulary() -> Vocabulary:
    """This process's vocabulary."""
    global _VOCAB
    if _VOCAB is None:
        from dedupe.normalize import content_form

        _VOCAB = Vocabulary(content_form)
    return _VOCAB


def token_units(tokens: list[str], spec: ShingleSpec, normalized: str) -> tuple[np.ndarray, np.ndarray]:
    """What a tokenized text's features are made of: the hashes of its shingle units, in order
    (tokens, or characters of ``normalized`` for character shingles), and the content-word hash of
    each token (0 for function words)."""
    vocab = vocabulary()
    ids = vocab.lookup(tokens)
    units = vocab.hashes[ids] if spec.kind == "word" else char_units(normalized)
    return units, vocab.content[ids]


def token_features(tokens: list[str], spec: ShingleSpec, normalized: str) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes and content-word hashes (both sorted unique ``uint64``) of a tokenized text."""
    units, content = token_units(tokens, spec, normalized)
    return ngram_hashes(units, spec.size), np.unique(content[content != 0])


def content_hashes(tokens: list[str]) -> np.ndarray:
    """Sorted unique hashes of the content words (stemmed, function words left out) of ``tokens``."""
    vocab = vocabulary()
    return _content_of(vocab, vocab.lookup(tokens))


def _content_of(vocab: Vocabulary, ids: np.ndarray) -> np.ndarray:
    content = vocab.content[ids]
    return np.unique(content[content != 0])


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
    return np.unique(fmix64(acc))


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


def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """Size of the intersection of two sorted unique arrays."""
    if len(a) == 0 or len(b) == 0:
        return 0
    return int(np.intersect1d(a, b, assume_unique=True).size)
