"""The only module that chains the stages:

    read (-> extract, for HTML pages) -> clean -> normalize -> shingle -> signature -> candidates -> verify -> cluster

Progress is reported through a callback ``progress(stage, done, total)``; nothing here prints.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasketch
import numpy as np

from dedupe import __version__
from dedupe.clean import Cleaner, find_recurring_lines, recurring_line_keys, select_recurring
from dedupe.cluster import choose_representative, group_pairs
from dedupe.config import CleanConfig, ScanConfig
from dedupe.errors import InputError
from dedupe.io import ReadOptions, iter_documents
from dedupe.models import CleanResult, Cluster, Document, Match, Member, ScanResult, Skipped
from dedupe.normalize import fold_text, normalize_text, tokenize
from dedupe.similarity.align import SentenceSet, prepare_sentences
from dedupe.similarity.candidates import find_candidates
from dedupe.similarity.shingle import token_features
from dedupe.similarity.signature import SCHEME, Signer
from dedupe.similarity.verify import Fingerprint, Verdict, compare, verify_pair

Progress = Callable[[str, int, int], None]


@dataclass
class Corpus:
    """Documents prepared for comparison: cleaned texts, fingerprints, signatures, lazily split sentences."""

    documents: list[Document]
    texts: list[str]
    fingerprints: list[Fingerprint]
    shingle_sigs: np.ndarray | None = None
    _sentences: dict[int, SentenceSet] = field(default_factory=dict)

    def sentences(self, index: int) -> SentenceSet:
        """Sentences of document ``index`` (split once, then cached)."""
        s = self._sentences.get(index)
        if s is None:
            s = self._sentences[index] = prepare_sentences(self.texts[index])
        return s


def fingerprint(index: int, text: str, config: ScanConfig) -> Fingerprint:
    """Normalize, tokenize and shingle one cleaned text."""
    # Tokens ignore whitespace, so only character shingles need the whitespace-collapsed text.
    normalized = normalize_text(text) if config.shingle.kind == "char" else fold_text(text)
    tokens = tokenize(normalized)
    shingles, content = token_features(tokens, config.shingle, normalized)
    return Fingerprint(
        index=index,
        digest=hashlib.blake2b(" ".join(tokens).encode("utf-8", "surrogatepass"), digest_size=16).digest(),
        length=len(text.strip()),
        shingles=shingles,
        content=content,
    )


# --- per-document work, run in worker processes --------------------------------------------------
# Workers get their settings once (initializer) and documents in chunks; results come back in
# input order, so the outcome is the same for any number of workers.

_W: dict[str, Any] = {}


def _init_worker(config: ScanConfig, clean_config: CleanConfig | None, recurring: frozenset[str]) -> None:
    _W["config"] = config
    _W["cleaner"] = Cleaner(clean_config) if config.clean else None
    _W["recurring"] = recurring
    _W["signer"] = Signer(config.num_perm, config.seed)


def _start_worker(*init_args: Any) -> None:
    """Pool initializer. Ctrl-C reaches every process of the terminal's group: workers ignore it and
    leave it to the parent, which stops the pool; and they drop the parent's SIGTERM handler, so
    that ``pool.terminate()`` ends them quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _init_worker(*init_args)


def _recurring_keys_chunk(texts: list[str]) -> list[frozenset[str]]:
    return [recurring_line_keys(t) for t in texts]


_Prepared = tuple[str, Fingerprint, np.ndarray]


def _prepare_chunk(chunk: list[tuple[int, str, bool]]) -> list[_Prepared]:
    config: ScanConfig = _W["config"]
    cleaner: Cleaner | None = _W["cleaner"]
    signer: Signer = _W["signer"]
    out = []
    for index, raw, extracted in chunk:
        text = cleaner.clean(raw, _W["recurring"], extracted=extracted).text if cleaner is not None else raw
        fp = fingerprint(index, text, config)
        out.append((text, fp, signer.hashvalues(fp.shingles)))
    return out


RECURRING_SAMPLE = 20_000


def recurring_sample(texts: Sequence[str], size: int = RECURRING_SAMPLE) -> list[str]:
    """The texts on which recurring boilerplate lines are counted: all of them up to ``size``;
    beyond, about ``size`` chosen by a hash of their content, so the choice (and the result) does
    not depend on input order, and the cost of the count stays bounded on large corpora."""
    if len(texts) <= size:
        return list(texts)
    stride = -(-len(texts) // size)
    return [t for t in texts
            if int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                              "little") % stride == 0]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[k : k + size] for k in range(0, len(items), size)]


def resolve_jobs(jobs: int | None) -> int:
    """Worker processes to use: ``None`` or 0 means every core."""
    if not jobs:
        return max(1, os.cpu_count() or 1)
    return max(1, jobs)


def _map(func: Any, chunks: list[Any], jobs: int, init_args: tuple[Any, ...], stage: str,
         progress: Progress | None, total: int) -> Iterator[Any]:
    """``func`` over ``chunks`` in order: in this process for one job, else in a process pool."""
    done = 0
    if jobs <= 1 or len(chunks) <= 1:
        _init_worker(*init_args)
        results: Iterable[Any] = map(func, chunks)
        pool = None
    else:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        pool = ctx.Pool(min(jobs, len(chunks)), initializer=_start_worker, initargs=init_args)
        results = pool.imap(func, chunks)
    try:
        for res in results:
            done += len(res)
            if progress:
                progress(stage, done, total)
            yield res
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def prepare(
    documents: Sequence[Document],
    config: ScanConfig,
    clean_config: CleanConfig | None = None,
    timings: dict[str, float] | None = None,
    jobs: int | None = 1,
    progress: Progress | None = None,
) -> Corpus:
    """Clean (unless ``config.clean`` is off), fingerprint and sign documents, with ``jobs`` processes."""
    timings = timings if timings is not None else {}
    n_jobs = resolve_jobs(jobs)
    t0 = time.perf_counter()
    chunk = max(16, min(1000, len(documents) // (n_jobs * 8) or 1))
    recurring: frozenset[str] = frozenset()
    cc = clean_config or CleanConfig()
    if config.clean and len(documents) > 1 and cc.recurring_min_docs:
        counts: Counter[str] = Counter()
        sample = recurring_sample([d.text for d in documents])
        for keys in _map(_recurring_keys_chunk, _chunks(sample, chunk), n_jobs,
                         (config, clean_config, frozenset()), "clean", None, len(sample)):
            for k in keys:
                counts.update(k)
        recurring = select_recurring(counts, len(sample), cc)
    t1 = time.perf_counter()
    texts: list[str] = []
    fps: list[Fingerprint] = []
    sh_sigs: list[np.ndarray] = []
    items = [(k, d.text, d.page is not None) for k, d in enumerate(documents)]
    for res in _map(_prepare_chunk, _chunks(items, chunk), n_jobs, (config, clean_config, recurring),
                    "fingerprint", progress, len(documents)):
        for text, fp, sig in res:
            texts.append(text)
            fps.append(fp)
            sh_sigs.append(sig)
    t2 = time.perf_counter()
    timings["clean"] = timings.get("clean", 0.0) + t1 - t0
    timings["fingerprint"] = timings.get("fingerprint", 0.0) + t2 - t1
    empty = np.zeros((0, config.num_perm), dtype=np.uint32)
    return Corpus(list(documents), texts, fps, np.stack(sh_sigs) if sh_sigs else empty)


def compare_documents(
    a: Document, b: Document, config: ScanConfig, clean_config: CleanConfig | None = None
) -> tuple[Verdict, Corpus]:
    """Compare two documents with every score computed (what ``diff`` shows)."""
    corpus = prepare([a, b], config, clean_config)
    verdict = compare(corpus.fingerprints[0], corpus.fingerprints[1], corpus.sentences, config, full=True)
    return verdict, corpus


def _rare_word_signatures(
    fps: Sequence[Fingerprint], active: np.ndarray, config: ScanConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of each document's *rare* content words, for the content LSH index.

    A word is rare when at most ``max(config.rare_word_min_docs, config.rare_word_max_share * n)``
    documents contain it. Two unrelated articles share almost no rare words, so their collisions
    in the index stay few however large the corpus; a rewrite keeps the names, places, numbers and
    uncommon words of its original. Verification still compares the full texts.

    Returns:
        ``uint32[n, num_perm]`` signatures (rows of documents without rare words are unused) and
        the indices of the documents to index.
    """
    signer = Signer(config.num_perm, config.seed)
    n = len(fps)
    sigs = np.zeros((n, config.num_perm), dtype=np.uint32)
    if not len(active):
        return sigs, active
    words, counts = np.unique(np.concatenate([fps[i].content for i in active]), return_counts=True)
    limit = max(config.rare_word_min_docs, int(config.rare_word_max_share * len(active)))
    common = words[counts > limit]
    keep = []
    for i in active.tolist():
        rare = np.setdiff1d(fps[i].content, common, assume_unique=True) if len(common) else fps[i].content
        if len(rare):
            sigs[i] = signer.hashvalues(rare)
            keep.append(i)
    return sigs, np.array(keep, dtype=np.int64)


_CORPUS: dict[str, Any] = {}


def _verify_chunk(pairs: list[tuple[int, int]]) -> list[Match | None]:
    corpus: Corpus = _CORPUS["corpus"]
    config: ScanConfig = _CORPUS["config"]
    fps = corpus.fingerprints
    return [verify_pair(fps[i], fps[j], corpus.sentences, config) for i, j in pairs]


def find_matches(
    corpus: Corpus,
    config: ScanConfig,
    timings: dict[str, float],
    progress: Progress | None = None,
    jobs: int | None = 1,
) -> tuple[list[Match], dict[str, int]]:
    """Exact groups, LSH candidates and verification.

    Exact copies (same normalized text) are matched by digest without pairwise work; one document
    of each group enters the LSH indexes. Returns the matches and counts
    (``candidate_pairs``: pairs verified, ``lsh_collisions``: raw collisions).
    """
    t0 = time.perf_counter()
    fps = corpus.fingerprints
    matches: list[Match] = []
    first_of: dict[bytes, int] = {}
    active: list[int] = []
    for f in fps:
        if not len(f.shingles):
            continue
        head = first_of.setdefault(f.digest, f.index)
        if head == f.index:
            active.append(f.index)
        else:
            matches.append(Match(head, f.index, "exact", 1.0, "identical"))
    assert corpus.shingle_sigs is not None
    active_arr = np.array(active, dtype=np.int64)
    content_sigs, content_active = None, active_arr
    if config.paraphrase:
        content_sigs, content_active = _rare_word_signatures(fps, active_arr, config)
    pairs, raw = find_candidates(
        corpus.shingle_sigs,
        content_sigs,
        active_arr,
        content_active,
        [f.content for f in fps],
        config.candidate_threshold,
        config.content_candidate_threshold,
        config.content_candidate_threshold,
    )
    t1 = time.perf_counter()
    n_jobs = resolve_jobs(jobs)
    _CORPUS["corpus"], _CORPUS["config"] = corpus, config
    try:
        size = max(64, min(2000, len(pairs) // (n_jobs * 8) or 1))
        chunks = _chunks(pairs, size)
        verified = _map(_verify_chunk, chunks, n_jobs if len(pairs) > 500 else 1,
                        (config, None, frozenset()), "verify", progress, len(pairs))
        for res in verified:
            matches.extend(m for m in res if m is not None)
    finally:
        _CORPUS.clear()
    t2 = time.perf_counter()
    timings["candidates"] = t1 - t0
    timings["verify"] = t2 - t1
    return matches, {"candidate_pairs": len(pairs), "lsh_collisions": raw}


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

    Args:
        documents: The documents, in input order.
        config: Matching settings.
        clean_config: Cleaner settings.
        progress: Called as ``progress(stage, done, total)``.
        skipped: Inputs already left out while reading (carried into the result).
        jobs: Worker processes (``None``/0: every core). Results do not depend on it.

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
    corpus = prepare(docs, config, clean_config, timings, jobs, progress)
    matches, counts = find_matches(corpus, config, timings, progress, jobs)
    t0 = time.perf_counter()
    clusters = build_clusters(corpus, matches, config)
    timings["cluster"] = time.perf_counter() - t0
    stats = {
        **cluster_counts(len(docs), clusters, matches),
        "empty_after_cleaning": sum(1 for f in corpus.fingerprints if not len(f.shingles)),
        "candidate_pairs": counts["candidate_pairs"],
        "lsh_collisions": counts["lsh_collisions"],
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
    jobs: int | None = 1,
) -> ScanResult:
    """Read ``paths`` (files, directories, ``-``, JSONL) and scan them. See :func:`scan_documents`."""
    skipped: list[Skipped] = []
    t0 = time.perf_counter()
    docs = list(iter_documents(paths, read_options, skipped.append))
    read_seconds = time.perf_counter() - t0
    try:
        result = scan_documents(docs, config, clean_config, progress, skipped, jobs)
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
