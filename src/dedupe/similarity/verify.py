"""Verification: decide with exact measures whether a candidate pair is a duplicate, and of what kind.

Order of the tests (cheapest first, first hit wins):

1. ``exact``: identical normalized text.
2. ``near`` by shingle Jaccard >= ``threshold``.
3. ``near`` by containment: the shorter text's shingles are in the longer one (cut reprints).
4. ``near`` by copied sentences: the shorter text's sentences appear, in order, in the other
   with rapidfuzz ratio >= ``sentence_ratio`` (typos, OCR noise, small edits everywhere).
5. ``paraphrase``: the texts' sentences correspond, in order, as rewordings (IDF-weighted content
   overlap), covering most of one text and a fair part of the other.

Tests 4 and 5 align sentences only when a cheap upper bound on the coverage says the alignment
could reach the threshold (:func:`~dedupe.similarity.align.align_copies_reaching`,
:func:`~dedupe.similarity.align.align_content_reaching`): most candidate pairs that get that far
are settled by the bounds. The verdicts are those of aligning every pair; only scores that do not
decide the verdict (``scores``, and the similarity of a ``different`` pair, which ``scan`` does not
report) may be left uncomputed: ``full`` computes all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dedupe.config import ScanConfig
from dedupe.models import Match
from dedupe.similarity.align import (
    Sentences,
    StoredReach,
    align_content_reaching,
    align_copies_reaching,
    content_out_of_reach,
    copies_bounded,
    copies_out_of_reach,
    shares_of,
)
from dedupe.similarity.shingle import intersection_size


@dataclass(frozen=True)
class Fingerprint:
    """What verification needs of one document, computed once.

    Attributes:
        index: Document index (input order).
        digest: Hash of the normalized text (exact matches).
        length: Length of the cleaned text in characters.
        shingles: Sorted unique shingle hashes.
        content: Sorted unique hashes of the content words.
    """

    index: int
    digest: bytes
    length: int
    shingles: np.ndarray
    content: np.ndarray


@dataclass(frozen=True)
class Verdict:
    """Kind and score of a pair; ``kind`` is ``different`` when it is no duplicate."""

    kind: str
    similarity: float
    measure: str
    scores: dict[str, float]


def compare(
    fa: Fingerprint,
    fb: Fingerprint,
    sentences: Callable[[int], Sentences],
    config: ScanConfig,
    full: bool = False,
) -> Verdict:
    """Compare two fingerprinted documents.

    Args:
        fa, fb: The two documents.
        sentences: Returns the (cached) sentences of a document by index.
        config: Thresholds.
        full: Compute every score (for ``diff``) instead of stopping at the first decisive one.

    Returns:
        The verdict with the scores computed on the way.
    """
    scores: dict[str, float] = {}
    same = fa.digest == fb.digest
    if same and len(fa.shingles) and not full:
        return Verdict("exact", 1.0, "identical", scores)
    inter = intersection_size(fa.shingles, fb.shingles)
    verdict = _shingle_tests(same, len(fa.shingles), len(fb.shingles), inter, config, scores)
    if verdict is not None and not full:
        return verdict
    smaller = min(len(fa.shingles), len(fb.shingles))
    return _compare_sentences(fa.index, fb.index, smaller, sentences, config, full, scores, verdict)


def _shingle_tests(same_digest: bool, len_a: int, len_b: int, inter: int, config: ScanConfig,
                   scores: dict[str, float]) -> Verdict | None:
    """Tests 1-3 of :func:`compare` for two texts of ``len_a`` and ``len_b`` shingles sharing
    ``inter``: the verdict of the first that holds, or ``None``; the Jaccard and containment go
    into ``scores``."""
    verdict = Verdict("exact", 1.0, "identical", scores) if same_digest and len_a else None
    union = len_a + len_b - inter
    smaller = min(len_a, len_b)
    jac = inter / union if union else 0.0
    cont = inter / smaller if smaller else 0.0
    scores["jaccard"] = round(jac, 4)
    scores["containment"] = round(cont, 4)
    if verdict is None and jac >= config.threshold:
        verdict = Verdict("near", jac, "jaccard", scores)
    if verdict is None and smaller >= config.min_containment_shingles and cont >= config.containment:
        verdict = Verdict("near", cont, "containment", scores)
    return verdict


def verify_by_shingles(pairs: Sequence[tuple[int, int]], same_digest: Sequence[bool] | np.ndarray,
                       len_a: Sequence[int] | np.ndarray, len_b: Sequence[int] | np.ndarray,
                       common: Sequence[int] | np.ndarray, config: ScanConfig) -> list[Match | None]:
    """:func:`verify_pair`'s first tests (exact, shingle Jaccard, containment) on many pairs at once,
    from what they need alone: whether the digests are equal, the numbers of shingles of both texts
    and how many they share (``scan``'s first verification pass). For each pair, its :class:`Match`
    when one of the tests holds, else ``None``: its sentences decide (:func:`verify_by_sentences`).

    The tests are :func:`_shingle_tests`' comparisons on arrays (the same IEEE divisions of the same
    integers); only the pairs that pass are made into matches, by :func:`_shingle_tests` itself."""
    same = np.asarray(same_digest, dtype=bool)
    la, lb, inter = (np.asarray(x, dtype=np.int64) for x in (len_a, len_b, common))
    union, smaller = la + lb - inter, np.minimum(la, lb)
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union != 0, inter / np.where(union != 0, union, 1), 0.0)
        cont = np.where(smaller != 0, inter / np.where(smaller != 0, smaller, 1), 0.0)
    decided = (same & (la > 0)) | (jac >= config.threshold) | (
        (smaller >= config.min_containment_shingles) & (cont >= config.containment))
    out: list[Match | None] = [None] * len(pairs)
    for k in np.flatnonzero(decided).tolist():
        verdict = _shingle_tests(bool(same[k]), int(la[k]), int(lb[k]), int(inter[k]), config, {})
        assert verdict is not None
        ia, ib = pairs[k]
        out[k] = _match(ia, ib, verdict)
    return out


def _compare_sentences(ia: int, ib: int, smaller: int, sentences: Callable[[int], Sentences], config: ScanConfig,
                       full: bool, scores: dict[str, float], verdict: Verdict | None) -> Verdict:
    """Tests 4 and 5 of :func:`compare` (``smaller``: shingles of the shorter text)."""
    sa, sb = sentences(ia), sentences(ib)
    # Without ``full``, only the verdict counts: copies are aligned only when they could decide it.
    copies_count = smaller >= config.min_containment_shingles
    if full or copies_count:
        copies = align_copies_reaching(sa, sb, config.sentence_ratio, 0.0 if full else config.near_coverage)
        if copies is not None:
            scores["copied_sentences"] = round(copies.coverage_max, 4)
            if verdict is None and copies_count and copies.coverage_max >= config.near_coverage:
                verdict = Verdict("near", copies.coverage_max, "copied_sentences", scores)
    if verdict is not None and not full:
        return verdict
    if config.paraphrase or full:
        # Without ``full``, only the verdict counts: pairs that no alignment could make rewrites
        # (most candidates that get this far) are not aligned.
        need = (0.0, 0.0) if full else (config.paraphrase_threshold, config.paraphrase_other)
        content = align_content_reaching(sa, sb, config.sentence_overlap, *need)
        if content is not None:
            scores["reworded_sentences"] = round(content.coverage_max, 4)
            scores["reworded_sentences_other"] = round(content.coverage_min, 4)
            if (
                verdict is None
                and config.paraphrase
                and content.coverage_max >= config.paraphrase_threshold
                and content.coverage_min >= config.paraphrase_other
            ):
                verdict = Verdict("paraphrase", content.coverage_max, "reworded_sentences", scores)
    return verdict or Verdict("different", max(scores.values(), default=0.0), "none", scores)


def verify_pair(
    fa: Fingerprint, fb: Fingerprint, sentences: Callable[[int], Sentences], config: ScanConfig
) -> Match | None:
    """Verify a candidate pair; returns the :class:`Match` or ``None`` when they are different."""
    return _match(fa.index, fb.index, compare(fa, fb, sentences, config))


def verify_by_sentences(ia: int, ib: int, smaller: int, sentences: Callable[[int], Sentences],
                        config: ScanConfig) -> Match | None:
    """:func:`verify_pair` for a pair whose exact and shingle tests are known to decide nothing
    (``scan``'s second verification pass: its first pass found that), from the sentences alone;
    ``smaller`` is the number of shingles of the shorter text."""
    return _match(ia, ib, _compare_sentences(ia, ib, smaller, sentences, config, False, {}, None))


def sentences_may_decide(reach: StoredReach, smaller: int, config: ScanConfig) -> bool:
    """Whether :func:`verify_by_sentences` may find a pair a duplicate, from the bounds of its
    texts' stored sentences (:func:`~dedupe.similarity.align.stored_reach`). ``False`` when the
    bounds of both its tests fail, as they would in :func:`verify_by_sentences` (which then calls the
    pair different): the pair needs no sentences read back or aligned (most of ``scan``'s second
    verification pass). ``smaller`` is the number of shingles of the shorter text."""
    if not reach.sentences_a or not reach.sentences_b:
        return True  # the tests align nothing and decide by their thresholds alone
    if smaller >= config.min_containment_shingles and (
        reach.copies is None or config.near_coverage <= 0.0 or not copies_out_of_reach(reach.copies, config.near_coverage)
    ):
        return True
    best, other = config.paraphrase_threshold, config.paraphrase_other
    return config.paraphrase and (
        (best <= 0.0 and other <= 0.0) or not content_out_of_reach(reach.content, best, other)
    )


def sentences_may_decide_many(reach: np.ndarray, smaller: np.ndarray, config: ScanConfig) -> np.ndarray:
    """:func:`sentences_may_decide` of many pairs: ``reach`` holds a row of
    :func:`~dedupe.similarity.align.stored_reach_many` a pair, ``smaller`` their shorter texts'
    shingles. The same comparisons, on the same floating-point values."""
    n_a, n_b = reach[:, 0], reach[:, 1]
    may = (n_a == 0) | (n_b == 0)
    if config.near_coverage <= 0.0:
        copies_may = np.ones(len(reach), dtype=bool)
    else:
        share_a, share_b = shares_of(reach[:, 2:6])
        copies_may = ~copies_bounded(n_a, n_b) | ~(np.maximum(share_a, share_b) < config.near_coverage)
    may |= (smaller >= config.min_containment_shingles) & copies_may
    if config.paraphrase:
        best, other = config.paraphrase_threshold, config.paraphrase_other
        if best <= 0.0 and other <= 0.0:
            may[:] = True
        else:
            share_a, share_b = shares_of(reach[:, 6:10])
            out = (np.maximum(share_a, share_b) < best) | (np.minimum(share_a, share_b) < other)
            may |= ~out
    return may


def _match(ia: int, ib: int, v: Verdict) -> Match | None:
    if v.kind == "different":
        return None
    a, b = sorted((ia, ib))
    return Match(a, b, v.kind, round(v.similarity, 4), v.measure)
