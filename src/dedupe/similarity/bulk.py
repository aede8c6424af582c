"""Shingles, rare content words and both MinHash signatures for a chunk of documents at once.

This is the scan's per-document hot loop after tokenizing. With the compiled kernel
(``dedupe._kernels``, built at install when a C compiler is present) a chunk is one call; without
it the same arrays come from :func:`~dedupe.similarity.shingle.ngram_hashes` and
:class:`~dedupe.similarity.signature.Signer`, document by document. Both give identical results
(tests compare them), so the kernel only changes speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from dedupe.similarity.native import kernels
from dedupe.similarity.shingle import content_set, ngram_hashes
from dedupe.similarity.signature import Signer

_U64 = np.uint64
_EMPTY = np.zeros(0, dtype=_U64)


@dataclass(frozen=True)
class ChunkFeatures:
    """Per document of a chunk: its sorted unique shingle hashes and rare content hashes (both
    concatenated; ``counts[d]`` gives their lengths) and the MinHash values of both sets. A
    document without rare content words has a zero content signature."""

    shingles: np.ndarray
    content: np.ndarray
    counts: np.ndarray  # int64 (n, 2): shingles, rare content words
    shingle_sigs: np.ndarray  # uint32 (n, num_perm)
    content_sigs: np.ndarray  # uint32 (n, num_perm)

    @classmethod
    def concat(cls, parts: Sequence[ChunkFeatures]) -> ChunkFeatures:
        """The features of consecutive chunks as one."""
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, name) for p in parts])
                     for name in ("shingles", "content", "counts", "shingle_sigs", "content_sigs")))

    def split(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The per-document arrays of shingles and of rare content hashes."""
        cuts = np.cumsum(self.counts, axis=0)[:-1]
        return np.split(self.shingles, cuts[:, 0]), np.split(self.content, cuts[:, 1])


def rare_words(content: np.ndarray, common: np.ndarray | None) -> np.ndarray:
    """A document's rare content words: its sorted unique content hashes (``content_set``) less the
    ``common`` ones (sorted unique, or None). What the compiled kernel leaves in a chunk's content too."""
    return np.setdiff1d(content, common, assume_unique=True) if common is not None and len(common) else content


def chunk_features(units: Sequence[np.ndarray], contents: Sequence[np.ndarray], k: int,
                   common: np.ndarray | None, signer: Signer) -> ChunkFeatures:
    """Shingle, filter and sign a chunk of documents.

    Args:
        units: Per document, the 64-bit hashes of its units (tokens, or characters), in order;
            shingles are the hashes of runs of ``k`` units (:func:`ngram_hashes`).
        contents: Per document, the content-word hash of each token (0 for function words).
        k: Units per shingle.
        common: Sorted unique content hashes to leave out (too frequent to be rare), or None.
        signer: The MinHash permutations.

    Returns:
        The chunk's :class:`ChunkFeatures`.
    """
    n = len(units)
    if len(contents) != n:
        raise ValueError("units and contents must describe the same documents")
    common = _EMPTY if common is None else common
    native = kernels()
    if native is not None:
        return _with_kernel(native, _concat(units), _offsets(units), _concat(contents), _offsets(contents), k, common,
                            signer)
    shingles, rare = [], []
    sh_sigs = np.empty((n, signer.num_perm), dtype=np.uint32)
    ct_sigs = np.zeros((n, signer.num_perm), dtype=np.uint32)
    for d in range(n):
        sh = ngram_hashes(units[d], k)
        ct = rare_words(content_set(contents[d]), common)
        sh_sigs[d] = signer.hashvalues(sh)
        if len(ct):
            ct_sigs[d] = signer.hashvalues(ct)
        shingles.append(sh)
        rare.append(ct)
    counts = np.array([(len(s), len(c)) for s, c in zip(shingles, rare)], dtype=np.int64).reshape(n, 2)
    return ChunkFeatures(_concat(shingles), _concat(rare), counts, sh_sigs, ct_sigs)


def chunk_features_of_ids(ids: Sequence[np.ndarray], hashes: np.ndarray, content: np.ndarray, k: int,
                          common: np.ndarray | None, signer: Signer) -> ChunkFeatures:
    """:func:`chunk_features` of documents given as their tokens' ids: the units of document ``d``
    are ``hashes[ids[d]]`` and its content hashes ``content[ids[d]]`` (word shingles over the
    :func:`~dedupe.similarity.shingle.vocabulary`, whose ``hashes`` and ``content`` these are). The
    compiled kernel looks them up itself, which spares two arrays per document."""
    native = kernels()
    if native is None:
        return chunk_features([hashes[i] for i in ids], [content[i] for i in ids], k, common, signer)
    all_ids = _concat(ids, np.int64)
    offsets = _offsets(ids)
    return _with_kernel(native, all_ids, offsets, all_ids, offsets, k, _EMPTY if common is None else common, signer,
                        (np.ascontiguousarray(hashes, dtype=_U64), np.ascontiguousarray(content, dtype=_U64)))


def _concat(parts: Sequence[np.ndarray], dtype: type[np.generic] = _U64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _offsets(parts: Sequence[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=out[1:])
    return out


def _with_kernel(native: ModuleType, units: np.ndarray, unit_offsets: np.ndarray, contents: np.ndarray,
                 content_offsets: np.ndarray, k: int, common: np.ndarray, signer: Signer,
                 tables: tuple[np.ndarray, np.ndarray] | tuple[()] = ()) -> ChunkFeatures:
    n, perm = len(unit_offsets) - 1, signer.num_perm
    out_sh = np.empty(len(units), dtype=_U64)
    out_ct = np.empty(len(contents), dtype=_U64)
    counts = np.empty((n, 2), dtype=np.int64)
    sh_sigs = np.empty((n, perm), dtype=np.uint32)
    ct_sigs = np.empty((n, perm), dtype=np.uint32)
    native.features(
        units, unit_offsets, k, contents, content_offsets, np.ascontiguousarray(common, dtype=_U64),
        signer.a, signer.b, out_sh, out_ct, counts, sh_sigs, ct_sigs, *tables,
    )
    ct_sigs[counts[:, 1] == 0] = 0
    total = counts.sum(axis=0)
    return ChunkFeatures(out_sh[: total[0]], out_ct[: total[1]], counts, sh_sigs, ct_sigs)
