"""Shingling: a text becomes a sorted array of unique 64-bit shingle hashes.

Token hashes come from BLAKE2b (stable across runs and machines, unlike Python's ``hash``);
the hash of a k-gram combines its token hashes with position-dependent odd multipliers and a
64-bit finalizer, computed for all positions at once with NumPy.
"""

from __future__ import annotations

import hashlib

import numpy as np

from dedupe.config import ShingleSpec

_U64 = np.uint64
# Odd multipliers, one per position inside a shingle (up to 32).
_MULTS = np.array([(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF for i in range(32)], dtype=_U64)
_token_cache: dict[str, int] = {}
_CACHE_LIMIT = 2_000_000

EMPTY = np.zeros(0, dtype=_U64)


def _blake(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def hash_token(token: str) -> int:
    """Stable 64-bit hash of a token."""
    h = _token_cache.get(token)
    if h is None:
        if len(_token_cache) >= _CACHE_LIMIT:
            _token_cache.clear()
        h = _token_cache[token] = _blake(token)
    return h


def hash_tokens(tokens: list[str]) -> np.ndarray:
    """Stable 64-bit hashes of ``tokens``, in order (each distinct token is hashed once, then cached)."""
    cache = _token_cache
    missing = set(tokens).difference(cache)
    if missing:
        if len(cache) + len(missing) > _CACHE_LIMIT:
            cache.clear()
            missing = set(tokens)
        for t in missing:
            cache[t] = _blake(t)
    return np.fromiter(map(cache.__getitem__, tokens), dtype=_U64, count=len(tokens))


def _fmix64(h: np.ndarray) -> np.ndarray:
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
    return np.unique(_fmix64(acc))


def shingle_hashes(tokens: list[str], normalized: str, spec: ShingleSpec) -> np.ndarray:
    """The shingle set of a text as a sorted unique ``uint64`` array.

    Args:
        tokens: Word tokens of the normalized text (used for ``word`` shingles).
        normalized: The normalized text (used for ``char`` shingles).
        spec: Which shingles.
    """
    if spec.kind == "word":
        return ngram_hashes(hash_tokens(tokens), spec.size)
    codes = np.frombuffer(normalized.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(_U64)
    return ngram_hashes(_fmix64(codes + _U64(0x51ED270B27AE)), spec.size)


def set_hashes(words: list[str]) -> np.ndarray:
    """Sorted unique hashes of a bag of words (a set of unigrams)."""
    if not words:
        return EMPTY
    return np.unique(hash_tokens(words))


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
