"""Candidate pairs by MinHash LSH banding, vectorized.

The banding is datasketch's: ``(b, r)`` come from ``MinHashLSH(threshold, num_perm)`` (its
optimal parameters for equal false-positive and false-negative weights), band ``i`` is hash
values ``[i*r, (i+1)*r)``, and two documents are candidates when all ``r`` values of some band
are equal. Instead of one Python dict insert and lookup per band and document, the band keys of
all documents are computed at once with NumPy and equal keys are found by sorting, which gives
the same pairs (a test checks them against ``MinHashLSH.query``) at a fraction of the time and
memory.

Two indexes are used by :mod:`dedupe.pipeline`: shingle signatures (near copies) and content-word
signatures (rewrites, cut and noisy copies), the latter with an exact content-Jaccard check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from dedupe.similarity.native import kernels
from dedupe.similarity.shingle import jaccard, sorted_unique

_U64 = np.uint64
_MULTS = np.array([(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF for i in range(64)], dtype=_U64)


# What datasketch picks for the defaults and other usual settings (a test checks each entry against
# it): importing datasketch for its optimizer takes half a second (scipy.integrate), which a scan
# with these settings does not need to spend.
_KNOWN_PARAMS = {
    (0.15, 64): (32, 2), (0.15, 128): (51, 2), (0.15, 256): (51, 2),
    (0.3, 64): (21, 3), (0.3, 128): (37, 3), (0.3, 256): (64, 4),
    (0.5, 64): (14, 4), (0.5, 128): (25, 5), (0.5, 256): (42, 6),
}  # fmt: skip


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` that datasketch's ``MinHashLSH`` picks for this threshold."""
    if (threshold, num_perm) in _KNOWN_PARAMS:
        return _KNOWN_PARAMS[threshold, num_perm]
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """64-bit keys of the first ``bands`` bands of ``rows`` values of signatures: ``uint64[n_docs, bands]``.

    Equal bands give equal keys; different bands collide with probability about 2**-64.
    """
    n = signatures.shape[0]
    sig = signatures[:, : bands * rows].reshape(n, bands, rows)
    with np.errstate(over="ignore"):
        acc = np.zeros((n, bands), dtype=_U64)
        for k in range(rows):
            acc += (sig[:, :, k].astype(_U64) + _U64(1)) * _MULTS[k]
        acc ^= acc >> _U64(31)
        acc *= _U64(0xBF58476D1CE4E5B9)
        acc ^= acc >> _U64(29)
    return acc


def bucket_pairs(signatures: np.ndarray, members: np.ndarray, bands: int, rows: int, n: int,
                 max_bucket: int = 64) -> np.ndarray:
    """Pairs of documents that share a band key, as sorted unique codes ``i * n + j`` (``i < j``).

    Args:
        signatures: Signatures of all documents (``uint32[n, num_perm]``).
        members: The documents to band (rows of ``signatures``).
        bands, rows: The banding (:func:`lsh_params`).
        n: Number of documents (the code base).
        max_bucket: A bucket of up to this many documents (plus one) yields all its pairs; a
            larger one (hundreds of near-identical documents) pairs each member with the first
            ``max_bucket`` members only, which keeps the work linear and still connects the
            cluster.
    """
    return _bands_pairs(signatures, np.sort(members).astype(np.int64), range(bands), rows, n, max_bucket)


def _bands_pairs(signatures: np.ndarray, members: np.ndarray, bands: Iterable[int], rows: int, n: int,
                 max_bucket: int = 64) -> np.ndarray:
    """:func:`bucket_pairs` of some of the bands (``members`` sorted)."""
    out: list[np.ndarray] = []
    merged = np.zeros(0, dtype=np.int64)  # pairs of earlier bands, deduplicated
    for band in bands:
        out.append(band_pairs(signatures, members, band, rows, n, max_bucket))
        if sum(len(o) for o in out) > max(1 << 22, len(merged)):  # the same pairs recur across bands: merge as we go
            merged = sorted_unique(np.concatenate([merged, *out]))
            out = []
    return sorted_unique(np.concatenate([merged, *out])) if out else merged


def band_buckets(signatures: np.ndarray, members: np.ndarray, band: int, rows: int,
                 max_bucket: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The buckets of one band with two documents or more: ``(docs, starts, sizes)``, bucket ``b``
    being ``docs[starts[b] : starts[b] + sizes[b]]``, the members of a bucket of more than
    ``max_bucket + 1`` sorted (see :func:`bucket_pairs`)."""
    empty = np.zeros(0, dtype=np.int64)
    if len(members) < 2:
        return empty, empty, empty
    # Within a bucket the documents are in any order (the sorts are not stable), so pairs are written
    # smaller document first and a large bucket's members are sorted.
    native = kernels()
    if native is not None and signatures.flags.c_contiguous and signatures.dtype == np.uint32:
        # the keys computed and sorted in one compiled pass (NumPy's gather, keys and argsort took
        # a fifth of a million documents' candidates stage)
        sorted_keys, docs = np.empty(len(members), dtype=_U64), np.empty(len(members), dtype=np.int64)
        native.band_sort(signatures, signatures.shape[1], np.ascontiguousarray(members, dtype=np.int64), band, rows,
                         sorted_keys, docs)
    else:
        col = band_keys(signatures[members, band * rows : (band + 1) * rows], 1, rows)[:, 0]
        order = np.argsort(col)
        sorted_keys, docs = col[order], members[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    if not same.any():
        return empty, empty, empty
    # runs of equal keys: [start, stop) in sorted order
    edges = np.flatnonzero(np.diff(np.concatenate(([False], same, [False])).astype(np.int8)))
    starts, stops = edges[::2], edges[1::2] + 1
    sizes = (stops - starts).astype(np.int64)
    for start, stop in zip(starts[sizes > max_bucket + 1].tolist(), stops[sizes > max_bucket + 1].tolist()):
        docs[start:stop] = np.sort(docs[start:stop])
    return docs, starts.astype(np.int64), sizes


def band_pairs(signatures: np.ndarray, members: np.ndarray, band: int, rows: int, n: int,
               max_bucket: int = 64) -> np.ndarray:
    """The pairs (codes ``i * n + j``, ``i < j``, possibly repeated) of one band: see
    :func:`bucket_pairs`. Memory: a few arrays of ``len(members)``, whatever the corpus."""
    docs, starts, sizes = band_buckets(signatures, members, band, rows, max_bucket)
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    out: list[np.ndarray] = []
    # Buckets that yield all their pairs, without a Python loop per bucket: member at offset o
    # pairs with the member d places after it, for every d that stays inside the bucket.
    whole = sizes <= max_bucket + 1
    if whole.any():
        w_starts, w_sizes = starts[whole], sizes[whole]
        first = np.repeat(w_starts, w_sizes)
        pos = first + np.arange(int(w_sizes.sum())) - np.repeat(np.cumsum(w_sizes) - w_sizes, w_sizes)
        last = np.repeat(w_starts + w_sizes, w_sizes)
        for d in range(1, int(w_sizes.max())):
            p = pos[pos + d < last]
            a, b = docs[p], docs[p + d]
            out.append(np.minimum(a, b) * n + np.maximum(a, b))
    # Larger buckets (near-identical documents by the hundred, sorted): each with the first max_bucket.
    for start, size in zip(starts[~whole].tolist(), sizes[~whole].tolist()):
        bucket = docs[start : start + size]
        for h in range(max_bucket):
            out.append(bucket[h] * n + bucket[h + 1 :])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def screened_band_pairs(signatures: np.ndarray, members: np.ndarray, band: int, rows: int, n: int,
                        screen: float, max_bucket: int = 64) -> tuple[np.ndarray, np.ndarray, int]:
    """The pairs of one band (:func:`band_pairs`) whose signatures' estimated Jaccard
    (:func:`estimated_jaccard`) reaches ``screen``: their codes, their agreements (out of
    ``num_perm``, ``uint16``), and the number of pairs of the band. With the compiled kernels the
    pairs are screened as they are found, without making them all (a band of a million documents'
    content index has about four million)."""
    native = kernels()
    num_perm = signatures.shape[1]
    if native is None or not (signatures.flags.c_contiguous and signatures.dtype == np.uint32):
        pairs = band_pairs(signatures, members, band, rows, n, max_bucket)
        est = estimated_jaccard(signatures, pairs, n)
        keep = est >= screen
        return pairs[keep], np.rint(est[keep] * num_perm).astype(np.uint16), len(pairs)
    min_agree = _min_agree(screen, num_perm)
    docs, starts, sizes = band_buckets(signatures, members, band, rows, max_bucket)
    big = sizes > max_bucket + 1
    need = int(np.where(big, max_bucket * (sizes - 1) - max_bucket * (max_bucket - 1) // 2,
                        sizes * (sizes - 1) // 2).sum())
    codes, scores = np.empty(need, dtype=np.int64), np.empty(need, dtype=np.uint16)
    total, kept = native.band_screen(signatures, num_perm, docs, starts, sizes, max_bucket, n, min_agree, codes, scores)
    return codes[:kept].copy(), scores[:kept].copy(), int(total)


def _min_agree(screen: float, num_perm: int) -> int:
    """The least agreement (out of ``num_perm``) whose estimate passes ``screen``: the screen applied to
    every estimate the kernel can give."""
    possible = (np.arange(num_perm + 1, dtype=np.float64) / num_perm).astype(np.float32)
    passing = np.flatnonzero(possible >= screen)
    return int(passing[0]) if len(passing) else num_perm + 1


def offer_band_pairs(signatures: np.ndarray, members: np.ndarray, band: int, rows: int, n: int, screen: float,
                     best: TopPartners, max_bucket: int = 64) -> int:
    """``best.add(*screened_band_pairs(...)[:2])``, returning the band's number of pairs. With the
    compiled kernels and a compiled ``best``, each pair that passes the screen goes to ``best`` as it is
    found (no arrays of the band's pairs: about a million a band at a million documents)."""
    native = best._native
    if best._topk is None or not (signatures.flags.c_contiguous and signatures.dtype == np.uint32):
        codes, scores, pairs = screened_band_pairs(signatures, members, band, rows, n, screen, max_bucket)
        best.add(codes, scores)
        return pairs
    docs, starts, sizes = band_buckets(signatures, members, band, rows, max_bucket)
    none = np.empty(0, dtype=np.int64)
    total, _ = native.band_screen(signatures, signatures.shape[1], docs, starts, sizes, max_bucket, n,
                                  _min_agree(screen, signatures.shape[1]), none, none.view(np.uint16), best._topk)
    return int(total)


_KEY_BITS = 63  # what a packed sort key may use (tests lower it to check the unpacked way)


_THREADED_FROM = 100_000  # pairs offered in one call from which TopPartners.add uses its threads


class TopPartners:
    """Pairs with a score, of which each document keeps its ``k`` best partners: a pair stays
    while it is among the ``k`` highest-scored pairs of either of its documents (ties broken by
    the smaller pair code). Pruning as pairs arrive gives the same result as pruning once at the
    end (a pair outranked ``k`` times by each of its documents stays outranked), with memory for
    about ``k`` pairs per document.

    Scores are integers in ``[0, levels]`` (MinHash agreements: equal values out of ``levels``),
    and a pair always comes with the same score. Both let a prune be plain sorts of packed 64-bit
    keys (pair and score; document, score and position) instead of sorts by several keys.

    With the compiled kernels (and ``k`` up to 255), each document keeps a record of its best ``k``
    instead (``topk_new``), updated as pairs arrive: no sorts but the result's, the same pairs.
    """

    def __init__(self, n: int, k: int, levels: int, prune_at: int = 1 << 22) -> None:
        if not 0 < levels < 1 << 16:
            raise ValueError("levels must be in [1, 65535]")
        if k < 1:
            raise ValueError("k must be at least 1")
        self.n, self.k, self.levels, self.prune_at = n, k, levels, prune_at
        self._native: Any = kernels()  # the module the records belong to (None: no kernels)
        self._topk: Any = None
        if self._native is not None and k <= 255 and 1 < n <= 1 << 31:
            try:
                self._topk = self._native.topk_new(n, k)
            except MemoryError:  # records for every document (about 100 bytes each): prune by sorting instead
                self._topk = None
        self.codes = np.zeros(0, dtype=np.int64)
        self.scores = np.zeros(0, dtype=np.uint16)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._size = 0  # pairs pending
        # The score of each document's k-th best partner at the last prune (0 before it has k): it
        # only rises, so a pair scored below it for both of its documents can never be kept.
        self._kth: np.ndarray | None = None

    def add(self, codes: np.ndarray, scores: np.ndarray, threads: int = 1) -> None:
        """Offer pairs (codes ``i * n + j``) with their scores (integers in ``[0, levels]``); compiled,
        in ``threads`` threads (each updating the records of a range of documents)."""
        if self._topk is not None:
            native = self._native
            codes = np.ascontiguousarray(codes, dtype=np.int64)
            scores = np.ascontiguousarray(scores, dtype=np.uint16)
            if threads <= 1 or len(codes) < _THREADED_FROM:
                native.topk_add(self._topk, codes, scores)
                return
            with ThreadPoolExecutor(threads) as pool:
                for job in [pool.submit(native.topk_add, self._topk, codes, scores, part, threads)
                            for part in range(threads)]:
                    job.result()
            return
        if self._kth is not None and len(codes):
            kth = self._kth
            keep = (scores >= kth[codes // self.n]) | (scores >= kth[codes % self.n])
            codes, scores = codes[keep], scores[keep]
        self._pending.append((codes, scores))
        self._size += len(codes)
        # Pruned when the pending pairs outnumber the kept ones (and prune_at): temporaries stay
        # bounded, and each kept pair is sorted again only after as many new ones have come.
        if self._size > max(self.prune_at, len(self.codes)):
            self._prune()

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept pairs (sorted unique codes) and their scores."""
        if self._topk is not None:
            raw_codes, raw_scores = self._native.topk_result(self._topk)
            self._topk = None  # its records (about 100 MB at a million documents) go now
            codes, scores = self._sorted_unique(np.frombuffer(raw_codes, dtype=np.int64),
                                                np.frombuffer(raw_scores, dtype=np.uint16).astype(np.int64))
            self.codes, self.scores = codes, scores.astype(np.uint16)
            return self.codes, self.scores
        self._prune()
        return self.codes, self.scores

    def _sorted_unique(self, codes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs sorted by code, each once (a pair has one score, so packing it in keeps it one
        key), with their scores (``int64``)."""
        lb = self.levels.bit_length()
        if 2 * max(1, (self.n - 1).bit_length()) + lb <= _KEY_BITS:
            packed = sorted_unique((codes << lb) | scores)
            return packed >> lb, packed & ((1 << lb) - 1)
        codes, first = np.unique(codes, return_index=True)  # beyond 2**27 documents
        return codes, scores[first]

    def _prune(self) -> None:
        codes = np.concatenate([self.codes, *(c.astype(np.int64) for c, _ in self._pending)])
        scores = np.concatenate([self.scores, *(s.astype(np.uint16) for _, s in self._pending)]).astype(np.int64)
        self._pending, self._size = [], 0
        lb = self.levels.bit_length()
        db = max(1, (self.n - 1).bit_length())
        # A pair found in several bands: once.
        codes, scores = self._sorted_unique(codes, scores)
        m = len(codes)
        if m <= self.k:
            self.codes, self.scores = codes, scores.astype(np.uint16)
            return
        # Each pair twice, once under each of its documents; rank the partners of every document:
        # best score first, then the smaller code (position in ``codes``).
        pb = max(1, (m - 1).bit_length())
        position: np.ndarray
        if db + lb + pb <= _KEY_BITS:
            key = np.concatenate((codes // self.n, codes % self.n)) << (lb + pb)
            key |= np.tile(((self.levels - scores) << pb) | np.arange(m, dtype=np.int64), 2)
            key.sort()
            doc = key >> (lb + pb)
            position = key & ((1 << pb) - 1)
            del key
        else:  # beyond about 2**28 pairs at a million documents: sorted by three keys
            side = np.concatenate((codes // self.n, codes % self.n))
            tiled = np.tile(np.arange(m, dtype=np.int64), 2)
            order = np.lexsort((tiled, -np.tile(scores, 2), side))
            doc, position = side[order], tiled[order]
            del side, tiled, order
        new = np.empty(len(doc), dtype=bool)
        new[0] = True
        np.not_equal(doc[1:], doc[:-1], out=new[1:])
        # The first k entries of each document's run are its best partners: marked rank by rank.
        starts = np.flatnonzero(new)
        del new
        sizes = np.diff(starts, append=2 * m)
        keep = np.zeros(m, dtype=bool)
        for rank in range(self.k):
            starts = starts[sizes > rank]
            sizes = sizes[sizes > rank]
            keep[position[starts + rank]] = True
        # ``starts`` now holds the runs of the documents with k partners or more: note their k-th
        # best scores, below which :meth:`add` turns pairs away.
        if self._kth is None:
            self._kth = np.zeros(self.n, dtype=np.uint16)
        self._kth[doc[starts]] = scores[position[starts + self.k - 1]]
        del doc
        self.codes, self.scores = codes[keep], scores[keep].astype(np.uint16)


def decode_pairs(codes: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Pair codes back to ``(i, j)`` tuples."""
    return [(int(c // n), int(c % n)) for c in codes]


def estimated_jaccard(signatures: np.ndarray, codes: np.ndarray, n: int, batch: int = 65536) -> np.ndarray:
    """MinHash estimates of the Jaccard similarity of the pairs ``codes`` (``i * n + j``)."""
    out = np.empty(len(codes), dtype=np.float32)
    native = kernels()
    if native is not None and signatures.flags.c_contiguous and signatures.dtype == np.uint32:
        native.agreement(signatures, signatures.shape[1], np.ascontiguousarray(codes, dtype=np.int64), n, out)
        return out
    for start in range(0, len(codes), batch):
        part = codes[start : start + batch]
        out[start : start + batch] = (signatures[part // n] == signatures[part % n]).mean(axis=1)
    return out


def exact_jaccards(codes: np.ndarray, n: int, sets: Callable[[int], np.ndarray]) -> np.ndarray:
    """Exact Jaccard similarity of the pairs ``codes`` (``i * n + j``), whose sorted unique sets
    ``sets(k)`` returns."""
    return np.array([jaccard(sets(c // n), sets(c % n)) for c in codes.tolist()], dtype=np.float64)


def find_candidates(
    shingle_sigs: np.ndarray,
    content_sigs: np.ndarray | None,
    active: np.ndarray,
    content_active: np.ndarray,
    content_jaccards: Callable[[np.ndarray], np.ndarray] | None,
    threshold: float,
    content_threshold: float,
    content_floor: float,
    max_partners: int = 10,
    shingles_done: Callable[[], None] | None = None,
    map_bands: BandMapper | None = None,
    groups: int = 1,
) -> tuple[list[tuple[int, int]], int]:
    """Sorted candidate pairs ``(i, j)``, ``i < j``, of document indices.

    Content-index collisions that the shingle index did not find are kept when their exact
    content Jaccard (``content_jaccards``) reaches ``content_floor``. On a large corpus most
    collisions are chance ones, far below the floor, so they are first screened, band by band as
    they are found, by the Jaccard their signatures estimate: only pairs within two standard
    deviations of the floor, or above, are kept (a pair at the floor passes the screen with
    probability 0.98; the LSH banding itself misses about 30% of those), at most
    ``max_partners`` per document, and checked exactly.

    Args:
        shingle_sigs: ``uint32[n, num_perm]`` shingle signatures.
        content_sigs: Content-word signatures, or ``None`` to skip rewrite candidates.
        active: Indices of the documents to index (non-empty, one per group of exact copies).
        content_active: Indices of the documents to put in the content index.
        content_jaccards: Exact content Jaccard of pairs (codes ``i * n + j``; the check of content
            candidates), e.g. :func:`exact_jaccards`.
        threshold: LSH threshold of the shingle index.
        content_threshold: LSH threshold of the content index.
        content_floor: Content candidates must reach this content Jaccard.
        max_partners: Each document keeps its best this many content-index partners, by
            estimated Jaccard (:class:`TopPartners`): the work stays linear in the corpus when
            many documents share rare words (same-topic news). A pair dropped by this is outranked
            by ten better-matching partners of each of its documents, which are themselves
            candidates, so their clusters still connect.

        shingles_done: Called once the shingle index is done, before the content banding: the
            caller can free the shingle signatures then (this function drops its own reference).
        map_bands, groups: Run the bands of both indexes in ``groups`` through ``map_bands``
            (see :func:`shingle_candidates`, :func:`content_candidates`); same pairs.
    Returns:
        The pairs and the number of LSH collisions: shingle-index pairs, plus content-index pairs
        per band before the screen (a pair colliding in two bands counts twice).
    """
    n = shingle_sigs.shape[0]
    codes, raw = shingle_candidates(shingle_sigs, active, threshold, map_bands, groups)
    del shingle_sigs
    if shingles_done is not None:
        shingles_done()
    if content_sigs is not None and content_jaccards is not None:
        extra, more = content_candidates(content_sigs, content_active, content_jaccards, content_threshold,
                                         content_floor, codes, max_partners, map_bands, groups)
        codes, raw = sorted_unique(np.concatenate((codes, extra))), raw + more
    return decode_pairs(codes, n), raw


BandMapper = Callable[[Callable[[list[int]], Any], list[list[int]]], Iterable[Any]]
"""Runs a function over groups of bands, e.g. in worker processes forked after the index's
settings are set (:data:`_BANDS`); results in any order."""

_BANDS: dict[str, Any] = {}


def shingle_candidates(shingle_sigs: np.ndarray, active: np.ndarray, threshold: float,
                       map_bands: BandMapper | None = None, groups: int = 1) -> tuple[np.ndarray, int]:
    """The shingle index's pairs (sorted unique codes ``i * n + j``) and their number. With
    ``map_bands``, the bands are split in ``groups`` run by it (the union of their pairs is the same)."""
    n, num_perm = shingle_sigs.shape
    b, r = lsh_params(threshold, num_perm)
    members = np.sort(active).astype(np.int64)
    if map_bands is None or groups <= 1:
        codes = _bands_pairs(shingle_sigs, members, range(b), r, n)
    else:
        _BANDS.update(sigs=shingle_sigs, members=members, n=n, rows=r)
        try:
            codes = sorted_unique(np.concatenate([*map_bands(shingle_band_pairs,
                                                             [list(range(g, b, groups)) for g in range(groups)])]))
        finally:
            _BANDS.clear()
    return codes, len(codes)


def shingle_band_pairs(bands: list[int]) -> np.ndarray:
    """The pairs of some bands of the shingle index (settings in :data:`_BANDS`, set by
    :func:`shingle_candidates`), as sorted unique codes."""
    st = _BANDS
    return _bands_pairs(st["sigs"], st["members"], bands, st["rows"], st["n"])


def content_band_partners(bands: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """The screened pairs of some bands of the content index (settings in :data:`_BANDS`, set by
    :func:`content_candidates`), each document's best kept (:class:`TopPartners`): their codes,
    scores, and the number of band collisions."""
    st = _BANDS
    sigs, members, n, levels = st["sigs"], st["members"], st["n"], st["levels"]
    best = TopPartners(n, st["k"], levels)
    raw = 0
    for band in bands:
        # the estimates are agreements out of num_perm (levels): ranked as those integers
        raw += offer_band_pairs(sigs, members, band, st["rows"], n, st["screen"], best)
    codes, scores = best.result()
    return codes, scores, raw


def content_candidates(
    content_sigs: np.ndarray,
    content_active: np.ndarray,
    content_jaccards: Callable[[np.ndarray], np.ndarray],
    content_threshold: float,
    content_floor: float,
    known: np.ndarray,
    max_partners: int = 10,
    map_bands: BandMapper | None = None,
    groups: int = 1,
) -> tuple[np.ndarray, int]:
    """The content index's pairs not in ``known`` (sorted codes) that pass the screen and the exact
    check (see :func:`find_candidates`), and the number of band collisions.

    With ``map_bands``, the bands are split in ``groups`` run by it (in worker processes), each
    keeping its documents' best partners, and the union of what they keep is pruned the same way:
    the same pairs as one pass over every band (a pair a group drops is outranked ``max_partners``
    times by each of its documents there, hence in all bands too).
    """
    n, num_perm = content_sigs.shape
    b2, r2 = lsh_params(content_threshold, num_perm)
    margin = 2 * (content_floor * (1 - content_floor) / num_perm) ** 0.5
    members = np.sort(content_active).astype(np.int64)
    _BANDS.update(sigs=content_sigs, members=members, n=n, rows=r2, screen=content_floor - margin, k=max_partners,
                  levels=num_perm)
    try:
        if map_bands is None or groups <= 1:
            results: Iterable[tuple[np.ndarray, np.ndarray, int]] = [content_band_partners(list(range(b2)))]
        else:
            results = map_bands(content_band_partners, [list(range(g, b2, groups)) for g in range(groups)])
        best = TopPartners(n, max_partners, num_perm)
        raw = 0
        for codes, scores, more in results:
            best.add(codes, scores, threads=groups)
            raw += more
        kept = best.result()[0]
        del best
    finally:
        _BANDS.clear()
    extra = np.setdiff1d(kept, known, assume_unique=True)
    return extra[content_jaccards(extra) >= content_floor], raw
