"""The only module that chains the stages:

    read (-> extract, for HTML pages) -> clean -> normalize -> shingle -> signature -> candidates -> verify -> cluster

Progress is reported through a callback ``progress(stage, done, total)``; nothing here prints.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import datasketch

from dedupe import __version__
from dedupe.clean import Cleaner, find_recurring_lines
from dedupe.cluster import choose_representative, group_pairs
from dedupe.config import CleanConfig, ScanConfig
from dedupe.errors import InputError
from dedupe.io import ReadOptions, iter_documents
from dedupe.models import CleanResult, Cluster, Document, Match, Member, ScanResult, Skipped
from dedupe.normalize import content_words, normalize_text, tokenize
from dedupe.similarity.align import SentenceSet, prepare_sentences
from dedupe.similarity.candidates import find_candidates
from dedupe.similarity.shingle import set_hashes, shingle_hashes
from dedupe.similarity.signature import SCHEME, Signer
from dedupe.similarity.verify import Fingerprint, Verdict, compare, verify_pair

Progress = Callable[[str, int, int], None]


@dataclass
class Corpus:
    """Documents prepared for comparison: cleaned texts, fingerprints and lazily split sentences."""

    documents: list[Document]
    texts: list[str]
    fingerprints: list[Fingerprint]
    _sentences: dict[int, SentenceSet] = field(default_factory=dict)

    def sentences(self, index: int) -> SentenceSet:
        """Sentences of document ``index`` (split once, then cached)."""
        s = self._sentences.get(index)
        if s is None:
            s = self._sentences[index] = prepare_sentences(self.texts[index])
        return s


def fingerprint(index: int, text: str, config: ScanConfig) -> Fingerprint:
    """Normalize, tokenize and shingle one cleaned text."""
    normalized = normalize_text(text)
    tokens = tokenize(normalized)
    return Fingerprint(
        index=index,
        digest=hashlib.blake2b(" ".join(tokens).encode("utf-8", "surrogatepass"), digest_size=16).digest(),
        length=len(text.strip()),
        shingles=shingle_hashes(tokens, normalized, config.shingle),
        content=set_hashes(content_words(normalized)),
    )


def prepare(
    documents: Sequence[Document],
    config: ScanConfig,
    clean_config: CleanConfig | None = None,
    timings: dict[str, float] | None = None,
) -> Corpus:
    """Clean (unless ``config.clean`` is off) and fingerprint documents."""
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    if config.clean:
        texts = [r.text for r in clean_documents(documents, clean_config)]
    else:
        texts = [d.text for d in documents]
    t1 = time.perf_counter()
    fps = [fingerprint(i, t, config) for i, t in enumerate(texts)]
    timings["clean"] = timings.get("clean", 0.0) + t1 - t0
    timings["shingle"] = timings.get("shingle", 0.0) + time.perf_counter() - t1
    return Corpus(list(documents), texts, fps)


def compare_documents(
    a: Document, b: Document, config: ScanConfig, clean_config: CleanConfig | None = None
) -> tuple[Verdict, Corpus]:
    """Compare two documents with every score computed (what ``diff`` shows)."""
    corpus = prepare([a, b], config, clean_config)
    verdict = compare(corpus.fingerprints[0], corpus.fingerprints[1], corpus.sentences, config, full=True)
    return verdict, corpus


def find_matches(
    corpus: Corpus, config: ScanConfig, timings: dict[str, float], progress: Progress | None = None
) -> tuple[list[Match], int]:
    """Signatures, LSH candidates and verification. Returns the matches and the number of candidates."""
    t0 = time.perf_counter()
    signer = Signer(config.num_perm, config.seed)
    fps = corpus.fingerprints
    shingle_sigs = [signer.hashvalues(f.shingles) if len(f.shingles) else None for f in fps]
    content_sigs = (
        [signer.hashvalues(f.content) if len(f.content) else None for f in fps] if config.paraphrase else None
    )
    t1 = time.perf_counter()
    pairs = find_candidates(
        signer,
        shingle_sigs,
        content_sigs,
        [f.content for f in fps],
        config.candidate_threshold,
        config.content_candidate_threshold,
        progress,
    )
    t2 = time.perf_counter()
    matches = []
    for done, (i, j) in enumerate(pairs, 1):
        m = verify_pair(fps[i], fps[j], corpus.sentences, config)
        if m is not None:
            matches.append(m)
        if progress and done % 500 == 0:
            progress("verify", done, len(pairs))
    t3 = time.perf_counter()
    timings["signatures"] = t1 - t0
    timings["candidates"] = t2 - t1
    timings["verify"] = t3 - t2
    return matches, len(pairs)


def build_clusters(corpus: Corpus, matches: Sequence[Match], config: ScanConfig) -> list[Cluster]:
    """Group matches into clusters, pick representatives and score members against them."""
    docs, fps = corpus.documents, corpus.fingerprints
    ids = [d.id for d in docs]
    lengths = [f.length for f in fps]
    direct = {(m.a, m.b): m for m in matches}
    best_edge: dict[int, Match] = {}
    for m in matches:
        for x in (m.a, m.b):
            if x not in best_edge or m.similarity > best_edge[x].similarity:
                best_edge[x] = m
    clusters = []
    for group in group_pairs(len(docs), ((m.a, m.b) for m in matches)):
        rep, reason = choose_representative(group, config.keep, lengths, ids)
        members = [Member(ids[rep], 1.0, "representative", "identical", lengths[rep], True)]
        for i in sorted((g for g in group if g != rep), key=lambda g: ids[g]):
            key = (min(i, rep), max(i, rep))
            m = direct.get(key) or verify_pair(fps[i], fps[rep], corpus.sentences, config) or best_edge[i]
            members.append(Member(ids[i], m.similarity, m.kind, m.measure, lengths[i]))
        clusters.append(Cluster(0, ids[rep], reason, tuple(members)))
    clusters.sort(key=lambda c: c.representative)
    return [Cluster(n, c.representative, c.reason, c.members) for n, c in enumerate(clusters, 1)]


def scan_documents(
    documents: Iterable[Document],
    config: ScanConfig | None = None,
    clean_config: CleanConfig | None = None,
    progress: Progress | None = None,
    skipped: Sequence[Skipped] = (),
) -> ScanResult:
    """Find clusters of duplicates among ``documents``.

    Args:
        documents: The documents, in input order.
        config: Matching settings.
        clean_config: Cleaner settings.
        progress: Called as ``progress(stage, done, total)``.
        skipped: Inputs already left out while reading (carried into the result).

    Raises:
        InputError: there is no document at all.
    """
    config = config or ScanConfig()
    started = time.perf_counter()
    t0 = time.perf_counter()
    docs = list(documents)
    timings: dict[str, float] = {"read": time.perf_counter() - t0}
    if not docs:
        n_skipped = sum(1 for s in skipped if s.skipped)
        raise InputError("no documents to scan" + (f" ({n_skipped} input(s) skipped)" if n_skipped else ""))
    corpus = prepare(docs, config, clean_config, timings)
    matches, n_candidates = find_matches(corpus, config, timings, progress)
    t0 = time.perf_counter()
    clusters = build_clusters(corpus, matches, config)
    timings["cluster"] = time.perf_counter() - t0
    in_clusters = sum(len(c.members) for c in clusters)
    stats = {
        "documents": len(docs),
        "clusters": len(clusters),
        "duplicates": in_clusters - len(clusters),
        "unique": len(docs) - in_clusters + len(clusters),
        "empty_after_cleaning": sum(1 for f in corpus.fingerprints if not len(f.shingles)),
        "candidate_pairs": n_candidates,
        "verified_pairs": len(matches),
        "kinds": {k: sum(1 for m in matches if m.kind == k) for k in ("exact", "near", "paraphrase")},
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped if s.skipped],
        "warnings": [{"path": s.path, "reason": s.reason} for s in skipped if not s.skipped],
        "seconds": round(time.perf_counter() - started, 3),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    return ScanResult(tuple(clusters), tuple(docs), stats, tuple(skipped))


def scan_paths(
    paths: Sequence[str],
    config: ScanConfig | None = None,
    clean_config: CleanConfig | None = None,
    read_options: ReadOptions | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Read ``paths`` (files, directories, ``-``, JSONL) and scan them. See :func:`scan_documents`."""
    skipped: list[Skipped] = []
    t0 = time.perf_counter()
    docs = list(iter_documents(paths, read_options, skipped.append))
    read_seconds = time.perf_counter() - t0
    try:
        result = scan_documents(docs, config, clean_config, progress, skipped)
    except InputError as exc:
        raise InputError(_with_skip_reasons(str(exc), skipped)) from exc
    result.stats["timings"]["read"] = round(read_seconds, 3)
    return result


def _with_skip_reasons(message: str, skipped: Sequence[Skipped]) -> str:
    reasons = [f"{s.path}: {s.reason}" for s in skipped if s.skipped][:3]
    return message + (": " + "; ".join(reasons) if reasons else "")


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
        "datasketch": datasketch.__version__,
    }


def clean_documents(documents: Sequence[Document], clean_config: CleanConfig | None = None) -> list[CleanResult]:
    """Clean documents as one batch: lines recurring across many of them count as boilerplate too.

    Articles extracted from HTML pages (``Document.page`` set) are cleaned in the cleaner's
    extracted-text mode.
    """
    cleaner = Cleaner(clean_config)
    recurring = find_recurring_lines((d.text for d in documents), cleaner.config) if len(documents) > 1 else frozenset()
    return [cleaner.clean(d.text, recurring, extracted=d.page is not None) for d in documents]
