"""Candidate pairs from datasketch ``MinHashLSH`` indexes.

Two indexes are queried: one over the shingle signatures (near copies, at ``candidate_threshold``)
and one over the content-word signatures (rewrites, cut and noisy copies, at
``content_candidate_threshold``). A content candidate must also reach that threshold in exact
Jaccard of the content-word sets before it is handed to verification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from datasketch import MinHashLSH

from dedupe.similarity.shingle import jaccard
from dedupe.similarity.signature import Signer

Progress = Callable[[str, int, int], None]


def _lsh_pairs(
    signer: Signer, signatures: Sequence[np.ndarray | None], threshold: float, progress: Progress | None, stage: str
) -> set[tuple[int, int]]:
    lsh = MinHashLSH(threshold=threshold, num_perm=signer.num_perm)
    minhashes = {i: signer.minhash(s) for i, s in enumerate(signatures) if s is not None}
    with lsh.insertion_session() as session:
        for i, m in minhashes.items():
            session.insert(i, m, check_duplication=False)
    pairs: set[tuple[int, int]] = set()
    total = len(minhashes)
    for done, (i, m) in enumerate(minhashes.items(), 1):
        for j in lsh.query(m):
            if j != i:
                pairs.add((i, j) if i < j else (j, i))
        if progress and done % 1000 == 0:
            progress(stage, done, total)
    return pairs


def find_candidates(
    signer: Signer,
    shingle_sigs: Sequence[np.ndarray | None],
    content_sigs: Sequence[np.ndarray | None] | None,
    content_sets: Sequence[np.ndarray] | None,
    threshold: float,
    content_threshold: float,
    progress: Progress | None = None,
) -> list[tuple[int, int]]:
    """Sorted candidate pairs ``(i, j)``, ``i < j``, of document indices.

    Args:
        signer: The signer that made the signatures.
        shingle_sigs: Shingle signature per document (``None``: not indexed, e.g. empty text).
        content_sigs: Content-word signature per document, or ``None`` to skip rewrite candidates.
        content_sets: Content-word hash sets, for the exact Jaccard check of content candidates.
        threshold: LSH threshold of the shingle index.
        content_threshold: LSH threshold of the content index and floor of the exact check.
    """
    pairs = _lsh_pairs(signer, shingle_sigs, threshold, progress, "candidates")
    if content_sigs is not None and content_sets is not None:
        for i, j in _lsh_pairs(signer, content_sigs, content_threshold, progress, "candidates"):
            if (i, j) not in pairs and jaccard(content_sets[i], content_sets[j]) >= content_threshold:
                pairs.add((i, j))
    return sorted(pairs)
