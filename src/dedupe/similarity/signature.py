"""MinHash signatures computed in bulk with NumPy, compatible with datasketch.

The result is exactly what ``datasketch.MinHash(num_perm, seed, scheme="affine32")`` would hold
after ``update_batch`` with a hash function that returns our 32-bit shingle hash: the same
MurmurHash3 pre-mix, the same permutation parameters (taken from datasketch itself) and the same
arithmetic. We only avoid calling a hash function once per shingle from Python.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasketch import LeanMinHash

SCHEME = "affine32"
_U32 = np.uint32


def fold32(hashes: np.ndarray) -> np.ndarray:
    """Fold 64-bit hashes to the 32 bits that datasketch's ``affine32`` scheme takes."""
    return ((hashes ^ (hashes >> np.uint64(32))) & np.uint64(0xFFFFFFFF)).astype(_U32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = h ^ (h >> _U32(16))
        h = h * _U32(0x85EBCA6B)
        h = h ^ (h >> _U32(13))
        h = h * _U32(0xC2B2AE35)
        return h ^ (h >> _U32(16))


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters ``(a, b)`` of ``datasketch.MinHash(num_perm, seed, scheme="affine32")``:
    its generator and draws, written out so that a scan need not import datasketch (half a second,
    for scipy) to sign; a test compares them with datasketch's. Computed once per process and
    setting (copies are returned): :mod:`dedupe.pipeline` asks before it forks workers, which then
    inherit them and ``numpy.random`` (whose import took 10 ms of each pool's start)."""
    a, b = _permutations(num_perm, seed)
    return a.copy(), b.copy()


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


class Signer:
    """Computes MinHash signatures for one ``(num_perm, seed)`` setting.

    Args:
        num_perm: Number of permutations.
        seed: Seed of the permutations (datasketch's own generator).
    """

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.seed = seed
        a, b = affine32_permutations(num_perm, seed)
        self.a = np.ascontiguousarray(a, dtype=_U32)
        self.b = np.ascontiguousarray(b, dtype=_U32)
        self._a = self.a[:, None]
        self._b = self.b[:, None]
        self._empty = np.full(num_perm, np.iinfo(_U32).max, dtype=_U32)

    def hashvalues(self, hashes: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """The MinHash values (``uint32[num_perm]``) of a set of 64-bit shingle hashes."""
        if len(hashes) == 0:
            return self._empty.copy()
        h = _fmix32(fold32(hashes))
        out = self._empty.copy()
        with np.errstate(over="ignore"):
            for start in range(0, len(h), chunk):
                part = h[None, start : start + chunk]
                np.minimum(out, (self._a * part + self._b).min(axis=1), out=out)
        return out

    def minhash(self, hashvalues: np.ndarray) -> LeanMinHash:
        """Wrap hash values as a datasketch ``LeanMinHash`` for ``MinHashLSH``."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=hashvalues, scheme=SCHEME)
