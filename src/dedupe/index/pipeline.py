"""Index orchestration: add, query, scan, remove and describe a persistent index.

This chains the same stages as :mod:`dedupe.pipeline` (clean, fingerprint, signature, LSH
candidates, verification, clustering) around a storage backend, so that a query's verdict on a
pair is the one ``scan`` would give it.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from dedupe.config import CleanConfig, ScanConfig
from dedupe.errors import InputError
from dedupe.index.base import (
    IndexBackend,
    IndexMissingError,
    StoredDocument,
    check_settings,
    config_from_settings,
    index_settings,
    iter_batches,
    text_hash,
)
from dedupe.io import ReadOptions, iter_documents, no_documents
from dedupe.models import (
    Document,
    IndexMatch,
    Match,
    QueryDocument,
    QueryResult,
    ScanResult,
    Skipped,
)
from dedupe.pipeline import Corpus, build_clusters, clean_documents, cluster_counts, text_features
from dedupe.similarity.candidates import exact_jaccards, find_candidates
from dedupe.similarity.shingle import EMPTY, jaccard
from dedupe.similarity.signature import Signer
from dedupe.similarity.verify import Fingerprint, verify_pair

Progress = Callable[[str, int, int], None]

#: Documents per transaction (and per cleaning batch) unless told otherwise.
DEFAULT_BATCH = 1000


def is_redis_location(location: str) -> bool:
    """Whether ``location`` is a ``redis://`` URL (anything else is a SQLite file path)."""
    return location.startswith("redis://")


def open_index(location: str, create: bool = False) -> IndexBackend:
    """Open the index at ``location``: a file path (SQLite) or ``redis://host:port/db``.

    Args:
        location: Where the index is.
        create: Create it when it does not exist yet.

    Raises:
        IndexStoreError: it does not exist (and ``create`` is false) or cannot be reached.
        ConfigError: a malformed ``redis://`` URL or another URL scheme.
    """
    if is_redis_location(location):
        from dedupe.index.redis import RedisIndex

        return RedisIndex(location, create=create)
    if "://" in location:
        from dedupe.errors import ConfigError

        raise ConfigError(f"index location must be a file path or redis://host:port/db, got {location!r}")
    from dedupe.index.sqlite import SQLiteIndex

    return SQLiteIndex(location, create=create)


def resolve_config(
    backend: IndexBackend,
    config: ScanConfig,
    overrides: dict[str, Any],
    clean_config: CleanConfig | None,
    create: bool,
) -> ScanConfig:
    """The settings to fingerprint with: the index's own, with ``overrides`` that must agree.

    A new index records ``config`` with ``overrides``. An existing one refuses overrides (or
    cleaning rules, or another dedupe/datasketch version) that differ from what it recorded.

    Raises:
        IndexConfigError: the settings differ from the index's.
        IndexStoreError: the index is empty and ``create`` is false.
    """
    stored = backend.read_settings()
    base = config_from_settings(stored, config) if stored is not None else config
    wanted_config = dataclasses.replace(base, **overrides)
    wanted = index_settings(wanted_config, clean_config)
    if stored is None:
        if not create:
            from dedupe.index.base import IndexStoreError

            raise IndexStoreError(f"index {backend.location} is empty")
        stored = backend.init_settings(wanted)
        wanted_config = dataclasses.replace(config_from_settings(stored, config), **overrides)
        wanted = index_settings(wanted_config, clean_config)
    check_settings(backend.location, stored, wanted)
    return wanted_config


def _records(
    docs: Sequence[Document], config: ScanConfig, clean_config: CleanConfig | None, signer: Signer,
    timings: dict[str, float],
) -> list[StoredDocument]:
    """Clean (as one batch), fingerprint and sign documents."""
    t0 = time.perf_counter()
    texts = [r.text for r in clean_documents(docs, clean_config)] if config.clean else [d.text for d in docs]
    t1 = time.perf_counter()
    now = time.time()
    # All of a document's content words (no corpus to tell the rare ones): common=None.
    feats, digests, lengths = text_features(texts, config, None, signer)
    shingles, contents = feats.split()
    out = []
    for k, (d, text) in enumerate(zip(docs, texts)):
        n_shingles, n_content = feats.counts[k].tolist()
        # Copies: a view would keep the whole batch's arrays alive as long as a query keeps a record.
        out.append(StoredDocument(
            d.id, d.source, int(lengths[k]), digests[16 * k : 16 * k + 16], text_hash(d.text), now, text,
            shingles[k].copy(), contents[k].copy(), feats.shingle_sigs[k].copy() if n_shingles else None,
            feats.content_sigs[k].copy() if n_content else None,
        ))
    timings["clean"] = timings.get("clean", 0.0) + t1 - t0
    timings["fingerprint"] = timings.get("fingerprint", 0.0) + time.perf_counter() - t1
    return out


def _pairs_within(records: Sequence[StoredDocument], cfg: ScanConfig) -> list[tuple[int, int]]:
    """Candidate pairs among the documents of one batch (scan's banding, all content words)."""
    empty = np.full(cfg.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    shingle_sigs = np.stack([r.shingle_sig if r.shingle_sig is not None else empty for r in records])
    content_sigs = np.stack([r.content_sig if r.content_sig is not None else empty for r in records])
    active = np.array([k for k, r in enumerate(records) if r.shingle_sig is not None], dtype=np.int64)
    content_active = np.array([k for k, r in enumerate(records) if r.content_sig is not None], dtype=np.int64)
    pairs, _ = find_candidates(
        shingle_sigs, content_sigs if cfg.paraphrase else None, active, content_active,
        lambda codes: exact_jaccards(codes, len(records), lambda k: records[k].content),
        cfg.candidate_threshold, cfg.content_candidate_threshold,
        cfg.content_candidate_threshold,
    )
    return pairs


def _last_per_id(docs: Sequence[Document]) -> list[Document]:
    """One document per id (the last one read: adding an id again replaces it)."""
    return list({d.id: d for d in docs}.values())


def _open_to_add(location: str, batches: Iterator[list[Document]], action: str,
                 skipped: list[Skipped]) -> tuple[IndexBackend, Iterator[list[Document]]]:
    """The index at ``location`` for a command that adds ``batches`` to it, and the batches to add.

    An existing index is opened first, so that its own trouble (a lock, an unreachable server, other
    settings) is reported before any input is read. A missing one is created only once the first
    batch is read: a command that finds no document (a mistyped path, only skipped inputs) fails
    without leaving an index behind, whose settings would then be this command's.

    Raises:
        InputError: no document could be read (and there is no index yet).
    """
    try:
        return open_index(location), batches
    except IndexMissingError:
        pass
    first = next(batches, None)
    if first is None:
        raise no_documents(action, skipped)
    return open_index(location, create=True), itertools.chain([first], batches)


def add_paths(
    location: str,
    paths: Sequence[str],
    config: ScanConfig | None = None,
    overrides: dict[str, Any] | None = None,
    clean_config: CleanConfig | None = None,
    read_options: ReadOptions | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Add the documents of ``paths`` to the index at ``location`` (created when missing).

    Each batch of ``batch_size`` documents is cleaned together and written in one transaction.
    A document whose id is in the index is replaced; a batch whose documents are all in the
    index with the same raw text is skipped, so rerunning an interrupted command completes it.

    Args:
        location: The index (file path or ``redis://``).
        paths: Files, directories, ``-``, JSONL.
        config: Default settings for a new index.
        overrides: Fingerprint settings given explicitly (``shingle``, ``num_perm``, ``seed``,
            ``clean``); they must agree with an existing index.
        clean_config: Cleaning rules (must agree with the index's).
        read_options: How to read the input.
        batch_size: Documents per transaction.
        progress: ``progress(stage, done, total)``.

    Returns:
        Stats: ``documents`` read, ``added``, ``updated``, ``unchanged``, ``batches`` written,
        ``index_documents`` after, ``skipped``, ``warnings``, ``seconds``, ``timings``.

    Raises:
        IndexConfigError: settings differ from the index's.
        InputError: no document could be read.
    """
    if batch_size < 1:
        from dedupe.errors import ConfigError

        raise ConfigError("batch size must be >= 1")
    started = time.perf_counter()
    skipped: list[Skipped] = []
    backend, batches = _open_to_add(location, iter_batches(iter_documents(paths, read_options, skipped.append),
                                                           batch_size), "add", skipped)
    try:
        cfg = resolve_config(backend, config or ScanConfig(), overrides or {}, clean_config, create=True)
        signer = Signer(cfg.num_perm, cfg.seed)
        timings: dict[str, float] = {}
        counts = {"documents": 0, "added": 0, "updated": 0, "unchanged": 0, "batches": 0}
        for batch in batches:
            counts["documents"] += len(batch)
            docs = _last_per_id(batch)
            known = backend.text_hashes([d.id for d in docs])
            same = sum(1 for d in docs if known.get(d.id) == text_hash(d.text))
            if same == len(docs):
                counts["unchanged"] += same
                continue
            records = _records(docs, cfg, clean_config, signer, timings)
            t1 = time.perf_counter()
            backend.add(records)
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t1
            counts["batches"] += 1
            counts["unchanged"] += same
            counts["updated"] += sum(1 for d in docs if d.id in known) - same
            counts["added"] += sum(1 for d in docs if d.id not in known)
            if progress:
                progress("add", counts["documents"], counts["documents"])
        return {
            **counts,
            "index_documents": backend.count(),
            "skipped": [{"path": s.path, "reason": s.reason} for s in skipped if s.skipped],
            "warnings": [{"path": s.path, "reason": s.reason} for s in skipped if not s.skipped],
            "seconds": round(time.perf_counter() - started, 3),
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
    finally:
        backend.close()


def _fp(index: int, r: StoredDocument) -> Fingerprint:
    return Fingerprint(index, r.digest, r.length, r.shingles, r.content)


def _candidates_in_index(backend: IndexBackend, r: StoredDocument, config: ScanConfig) -> list[StoredDocument]:
    """Indexed documents that are LSH candidates of ``r`` (content candidates checked as scan does)."""
    content_sig = r.content_sig if config.paraphrase else None
    # Content candidates must reach the threshold in exact Jaccard (as in scan); check that on the
    # content arrays alone before loading texts. The content LSH (r=2 rows) proposes many.
    shingle_ids, kept = backend.screen(r.shingle_sig, content_sig, r.id, r.content, config.content_candidate_threshold)
    found = backend.get(sorted(shingle_ids | kept))
    return [c for _, c in sorted(found.items())]


def query_paths(
    location: str,
    paths: Sequence[str],
    config: ScanConfig | None = None,
    clean_config: CleanConfig | None = None,
    read_options: ReadOptions | None = None,
    add: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> QueryResult:
    """Match the documents of ``paths`` against the index at ``location``.

    Each document is fingerprinted with the index's settings, its LSH candidates are looked up in
    the index (only their buckets are read) and verified as ``scan`` verifies a pair. With
    ``add``, each batch is inserted after it is matched, and a document is also matched against
    the documents of the same run read before it: each document is checked against everything
    seen before it.

    Args:
        location: The index.
        paths: Documents to query.
        config: Verification thresholds (the fingerprint settings are the index's).
        clean_config: Cleaning rules (must agree with the index's).
        read_options: How to read the input.
        add: Insert the documents after matching them.
        batch_size: Documents per batch.
        progress: ``progress(stage, done, total)``.

    Raises:
        IndexStoreError: no index at ``location`` (and not ``add``).
        IndexConfigError: the index was made with other settings or versions.
        InputError: no document could be read.
    """
    started = time.perf_counter()
    config = config or ScanConfig()
    skipped: list[Skipped] = []
    batches = iter_batches(iter_documents(paths, read_options, skipped.append), batch_size)
    if add:
        backend, batches = _open_to_add(location, batches, "query", skipped)
    else:
        backend = open_index(location)
    try:
        cfg = resolve_config(backend, config, {}, clean_config, create=add)
        signer = Signer(cfg.num_perm, cfg.seed)
        n_before = backend.count()
        timings: dict[str, float] = {}
        queries: list[QueryDocument] = []
        documents: list[Document] = []
        run_ids: set[str] = set()
        # What the clusters need: queried documents with matches and the documents they match.
        members: dict[str, tuple[StoredDocument, bool]] = {}
        edges: list[tuple[str, str, Match]] = []
        n_candidates = 0
        for batch in batches:
            documents.extend(batch)
            records = _records(batch, cfg, clean_config, signer, timings)
            t0 = time.perf_counter()
            earlier: dict[int, list[int]] = {}
            if add:
                pairs = _pairs_within(records, cfg)
                for i, j in pairs:
                    if records[i].id != records[j].id:
                        earlier.setdefault(j, []).append(i)
            for k, r in enumerate(records):
                cands = [(c, c.id in run_ids) for c in _candidates_in_index(backend, r, cfg)]
                cands += [(records[i], True) for i in earlier.get(k, [])]
                n_candidates += len(cands)
                corpus = Corpus(
                    [Document(c.id, "", c.source, n) for n, (c, _) in enumerate(cands)] + [batch[k]],
                    [c.text for c, _ in cands] + [r.text],
                    [_fp(n, c) for n, (c, _) in enumerate(cands)] + [_fp(len(cands), r)],
                )
                found = []
                for n, (c, from_run) in enumerate(cands):
                    m = verify_pair(corpus.fingerprints[n], corpus.fingerprints[-1], corpus.sentences, cfg)
                    if m is not None:
                        found.append(IndexMatch(c.id, m.kind, m.similarity, m.measure, c.length, c.source, from_run))
                        members[c.id] = members.get(c.id, (c, from_run))
                        edges.append((c.id, r.id, m))
                found.sort(key=lambda x: (-x.similarity, x.id))
                if found:
                    members[r.id] = (r, True)
                queries.append(QueryDocument(r.id, r.source, r.length, tuple(found)))
            timings["match"] = timings.get("match", 0.0) + time.perf_counter() - t0
            if add:
                t0 = time.perf_counter()
                backend.add(records)
                run_ids.update(r.id for r in records)
                timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0
            if progress:
                progress("query", len(queries), len(queries))
        if not queries:
            raise no_documents("query", skipped)
        t0 = time.perf_counter()
        clusters = _query_clusters(members, edges, run_ids | {q.id for q in queries}, cfg)
        timings["cluster"] = time.perf_counter() - t0
        matched = sum(1 for q in queries if q.matches)
        kinds = [m.kind for q in queries for m in q.matches]
        stats: dict[str, Any] = {
            "documents": len(queries),
            "index_documents": n_before,
            "matched": matched,
            "new": len(queries) - matched,
            "added": len({q.id for q in queries}) if add else 0,
            "clusters": len(clusters),
            "candidate_pairs": n_candidates,
            "verified_pairs": len(kinds),
            "kinds": {k: kinds.count(k) for k in ("exact", "near", "paraphrase")},
            "skipped": [{"path": s.path, "reason": s.reason} for s in skipped if s.skipped],
            "warnings": [{"path": s.path, "reason": s.reason} for s in skipped if not s.skipped],
            "seconds": round(time.perf_counter() - started, 3),
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
        return QueryResult(tuple(queries), tuple(clusters), tuple(documents), stats, tuple(skipped))
    finally:
        backend.close()


def _query_clusters(
    members: dict[str, tuple[StoredDocument, bool]],
    edges: Sequence[tuple[str, str, Match]],
    new_ids: set[str],
    config: ScanConfig,
) -> list[Any]:
    """Clusters of the queried documents with what they matched; indexed documents come first in order."""
    if not edges:
        return []
    order = sorted(members, key=lambda i: (i in new_ids, i))
    pos = {i: n for n, i in enumerate(order)}
    corpus = Corpus(
        [Document(i, "", members[i][0].source, n) for n, i in enumerate(order)],
        [members[i][0].text for i in order],
        [_fp(n, members[i][0]) for n, i in enumerate(order)],
    )
    matches = {}
    for a, b, m in edges:
        x, y = sorted((pos[a], pos[b]))
        matches[(x, y)] = Match(x, y, m.kind, m.similarity, m.measure)
    return build_clusters(corpus, [d.id for d in corpus.documents], [f.length for f in corpus.fingerprints],
                          list(matches.values()), config)


def scan_index(location: str, config: ScanConfig | None = None, progress: Progress | None = None) -> ScanResult:
    """Cluster every document of the index at ``location`` (as ``scan`` clusters files).

    Candidates come from the stored LSH buckets; only the documents in some candidate pair are
    loaded. Documents are ordered by id (``--keep first`` keeps the smallest id), so the result
    does not depend on the order in which documents were added.

    Raises:
        IndexStoreError: no index at ``location``.
        InputError: the index holds no document.
    """
    started = time.perf_counter()
    backend = open_index(location)
    try:
        settings = backend.read_settings()
        assert settings is not None
        cfg = config_from_settings(settings, config)
        t0 = time.perf_counter()
        entries = list(backend.iter_entries())
        if not entries:
            raise InputError(f"index {location} holds no documents")
        pos = {e[0]: n for n, e in enumerate(entries)}
        shingle_pairs = _bucket_pairs(backend.candidate_buckets(content=False), pos)
        content_pairs = _bucket_pairs(backend.candidate_buckets(content=True), pos) if cfg.paraphrase else set()
        content_pairs -= shingle_pairs
        needed = {entries[i][0] for p in shingle_pairs | content_pairs for i in p}
        loaded = backend.get(sorted(needed))
        t1 = time.perf_counter()
        docs = [Document(e[0], "", e[1], n) for n, e in enumerate(entries)]
        texts = [loaded[e[0]].text if e[0] in loaded else "" for e in entries]
        fps = [
            _fp(n, loaded[e[0]]) if e[0] in loaded else Fingerprint(n, b"", e[2], EMPTY, EMPTY)
            for n, e in enumerate(entries)
        ]
        corpus = Corpus(docs, texts, fps)
        pairs = sorted(shingle_pairs | {
            (i, j) for i, j in content_pairs
            if jaccard(fps[i].content, fps[j].content) >= cfg.content_candidate_threshold
        })
        matches = []
        for done, (i, j) in enumerate(pairs, 1):
            m = verify_pair(fps[i], fps[j], corpus.sentences, cfg)
            if m is not None:
                matches.append(m)
            if progress and done % 500 == 0:
                progress("verify", done, len(pairs))
        t2 = time.perf_counter()
        clusters = build_clusters(corpus, [d.id for d in docs], [f.length for f in fps], matches, cfg)
        stats = {
            **cluster_counts(len(docs), clusters, matches),
            "candidate_pairs": len(pairs),
            "skipped": [],
            "seconds": round(time.perf_counter() - started, 3),
            "timings": {"candidates": round(t1 - t0, 3), "verify": round(t2 - t1, 3),
                        "cluster": round(time.perf_counter() - t2, 3)},
        }
        return ScanResult(tuple(clusters), tuple(docs), stats)
    finally:
        backend.close()


def _bucket_pairs(buckets: Iterator[list[str]], pos: dict[str, int]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for group in buckets:
        idx = sorted(pos[i] for i in group if i in pos)
        pairs.update(itertools.combinations(idx, 2))
    return pairs


def remove_ids(location: str, ids: Sequence[str]) -> list[str]:
    """Remove documents by id; returns those that were in the index."""
    backend = open_index(location)
    try:
        return backend.remove(ids)
    finally:
        backend.close()


def describe_index(location: str) -> dict[str, Any]:
    """Settings, size and counts of the index at ``location`` (``dedupe index stats``)."""
    backend = open_index(location)
    try:
        entries = list(backend.iter_entries())
        added = [e[3] for e in entries]
        return {
            "location": location,
            "backend": "redis" if is_redis_location(location) else "sqlite",
            "documents": len(entries),
            "total_length": sum(e[2] for e in entries),
            "first_added": min(added) if added else None,
            "last_added": max(added) if added else None,
            "size": backend.size_info(),
            "settings": backend.read_settings(),
        }
    finally:
        backend.close()
