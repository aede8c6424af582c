"""Pure functions of the similarity stages: normalization, shingles, signatures, alignment."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from datasketch import MinHash

from conftest import compiled_kernels
from dedupe.config import ScanConfig, ShingleSpec
from dedupe.errors import ConfigError
from dedupe.normalize import normalize_text, split_sentences, tokenize
from dedupe.similarity import bulk, native
from dedupe.similarity.align import align_content, align_copies, prepare_sentences
from dedupe.similarity.shingle import hash_tokens, jaccard, ngram_hashes, shingle_hashes
from dedupe.similarity.signature import Signer, fold32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Beijing\u2019s \u201cfirm\u201d  stance", "beijing's \"firm\" stance"),
        ("U.N. \u2014 report\n\tout", "u.n. - report out"),
        ("\ufb01nal \uff21", "final a"),
    ],
)
def test_normalize_text(raw: str, expected: str):
    assert normalize_text(raw) == expected


def test_split_sentences_keeps_abbreviations():
    text = "The U.N. office said on Aug. 31 that it was done. Mr. Zhang disagreed! Was it? Yes."
    assert split_sentences(text) == [
        "The U.N. office said on Aug. 31 that it was done.",
        "Mr. Zhang disagreed!",
        "Was it?",
        "Yes.",
    ]


def test_shingles_are_order_sensitive_and_deterministic():
    a = shingle_hashes(tokenize("a b c d e f"), "", ShingleSpec("word", 3))
    b = shingle_hashes(tokenize("f e d c b a"), "", ShingleSpec("word", 3))
    assert len(a) == 4 and jaccard(a, b) == 0.0
    assert np.array_equal(a, shingle_hashes(tokenize("a b c d e f"), "", ShingleSpec("word", 3)))
    assert len(shingle_hashes(["short"], "short", ShingleSpec("word", 5))) == 1


def test_pinned_signature_digest():
    """Changing normalization, shingling or hashing changes this digest: bump it only on purpose."""
    text = normalize_text("The long-awaited report by Michelle Bachelet\u2019s office was released on Wednesday.")
    sig = Signer(128, 1).hashvalues(shingle_hashes(tokenize(text), text, ShingleSpec()))
    assert hashlib.sha256(sig.tobytes()).hexdigest()[:16] == PINNED


PINNED = "0b2ad3684d4a2fad"


def test_signatures_equal_datasketch():
    hashes = ngram_hashes(hash_tokens(["one", "two", "three", "four", "five", "six", "seven", "eight"]), 3)
    m = MinHash(num_perm=64, seed=5, hashfunc=int)
    m.update_batch([int(x) for x in fold32(hashes)])
    assert np.array_equal(m.hashvalues, Signer(64, 5).hashvalues(hashes))


def test_minhash_estimates_jaccard_within_tolerance():
    rng = np.random.default_rng(42)
    universe = rng.integers(0, 2**63, 3000, dtype=np.uint64)
    a, b = np.unique(universe[:2000]), np.unique(universe[1000:])
    true = jaccard(a, b)  # 1000 / 3000
    signer = Signer(256, 1)
    est = signer.minhash(signer.hashvalues(a)).jaccard(signer.minhash(signer.hashvalues(b)))
    assert abs(est - true) < 0.08


def test_alignment_is_order_aware():
    a = prepare_sentences("Alpha beta gamma delta epsilon. Zeta eta theta iota kappa. Lambda mu nu xi omicron.")
    b = prepare_sentences("Lambda mu nu xi omicron. Alpha beta gamma delta epsilon. Zeta eta theta iota kappa.")
    al = align_copies(a, b, 0.9)
    assert [(p.a, p.b) for p in al.pairs] == [(0, 1), (1, 2)]
    assert 0.6 < al.coverage_a < 0.75  # two of three sentences, by length


def test_content_alignment_matches_rewording():
    a = prepare_sentences("Many of the camps have since been shut down by Beijing, but hundreds of thousands are "
                          "still languishing in jail on nebulous, unproven allegations.")
    b = prepare_sentences("Beijing has since closed many of the camps, but hundreds of thousands continue to "
                          "languish in prison on vague, secret charges.")
    al = align_content(a, b, 0.3)
    assert len(al.pairs) == 1 and al.coverage_a == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"threshold": 1.2}, {"num_perm": 8}, {"keep": "middle"}, {"candidate_threshold": 0.9, "threshold": 0.5},
     {"seed": -1}],
)
def test_config_validation(kwargs):
    with pytest.raises(ConfigError):
        ScanConfig(**kwargs)


def test_banding_gives_the_pairs_of_datasketch_minhashlsh():
    from datasketch import MinHashLSH

    from dedupe.similarity.candidates import bucket_pairs, decode_pairs, lsh_params

    rng = np.random.default_rng(0)
    base = [rng.integers(0, 2**63, 300, dtype=np.uint64) for _ in range(40)]
    docs = []
    for i in range(240):
        b = base[i % 40].copy()
        k = int(rng.integers(0, 300))
        b[:k] = rng.integers(0, 2**63, k, dtype=np.uint64)
        docs.append(np.unique(b))
    signer = Signer(128, 1)
    sigs = np.stack([signer.hashvalues(d) for d in docs])
    for threshold in (0.15, 0.3, 0.5):
        bands, rows = lsh_params(threshold, 128)
        ours = set(decode_pairs(bucket_pairs(sigs, np.arange(len(docs)), bands, rows, len(docs),
                                             max_bucket=10**9), len(docs)))
        lsh = MinHashLSH(threshold=threshold, num_perm=128)
        for i in range(len(docs)):
            lsh.insert(i, signer.minhash(sigs[i]))
        theirs = {(min(i, j), max(i, j)) for i in range(len(docs)) for j in lsh.query(signer.minhash(sigs[i])) if j != i}
        assert ours == theirs and len(ours) > 50


def test_banding_caps_large_buckets_as_documented():
    """Buckets of up to max_bucket + 1 documents yield all their pairs; larger ones pair each
    member with the first max_bucket (a brute-force reference, any member order)."""
    from dedupe.similarity.candidates import band_keys, bucket_pairs, decode_pairs

    rng = np.random.default_rng(3)
    n = 400
    sigs = rng.integers(0, 6, size=(n, 8), dtype=np.uint32)  # few values: buckets of every size
    sigs[:120, :2] = 7  # one band with a bucket of 120
    members = rng.permutation(np.arange(0, n, 2))  # every other document, shuffled
    for max_bucket in (1, 2, 5, 64):
        expected = set()
        for band in range(4):
            keys = band_keys(sigs[:, band * 2 : band * 2 + 2], 1, 2)[:, 0]
            buckets: dict[int, list[int]] = {}
            for m in members.tolist():
                buckets.setdefault(int(keys[m]), []).append(m)
            for docs in buckets.values():
                docs.sort()
                for h in range(min(len(docs) - 1, max_bucket)):
                    expected.update((docs[h], d) for d in docs[h + 1 :])
        got = set(decode_pairs(bucket_pairs(sigs, members, 4, 2, n, max_bucket=max_bucket), n))
        assert got == expected and len(got) > 100


def test_band_sort_gives_numpys_band_keys_sorted():
    """The compiled band sort: each member's key is ``band_keys``' (any rows, any band), the keys come
    out sorted, each with its own document; equal keys (buckets) of every size."""
    from dedupe.similarity.candidates import band_keys

    kernels = compiled_kernels()
    rng = np.random.default_rng(23)
    for n, values in ((1, 3), (2, 1), (50, 2), (3000, 3), (70_000, 1 << 32)):
        sigs = rng.integers(0, min(values, 1 << 32), size=(n, 12), dtype=np.uint64).astype(np.uint32)
        members = rng.permutation(n)[: max(1, n - n // 5)].astype(np.int64)
        for band, rows in ((0, 1), (1, 2), (3, 3), (1, 5), (0, 12)):
            keys, docs = np.empty(len(members), dtype=np.uint64), np.empty(len(members), dtype=np.int64)
            kernels.band_sort(sigs, 12, members, band, rows, keys, docs)
            want = band_keys(sigs[:, band * rows : (band + 1) * rows], 1, rows)[:, 0]
            assert np.all(keys[1:] >= keys[:-1])
            assert np.array_equal(keys, want[docs])
            assert np.array_equal(np.sort(docs), np.sort(members))
    keys, docs = np.empty(2, dtype=np.uint64), np.empty(2, dtype=np.int64)
    sigs = np.zeros((4, 12), dtype=np.uint32)
    for members, band, rows, message in (([0, 4], 0, 2, "member out of range"), ([0, 1], 3, 4, "outside"),
                                         ([0, 1], 0, 0, "outside"), ([0, 1], 2**62 + 2**60, 2, "outside"),
                                         ([0, 1, 2], 0, 2, "one value per member")):
        with pytest.raises(ValueError, match=message):
            kernels.band_sort(sigs, 12, np.array(members, dtype=np.int64), band, rows, keys, docs)


@pytest.mark.parametrize("max_bucket", [1, 2, 5, 64])
def test_screened_band_pairs_compiled_are_numpys(monkeypatch, max_bucket: int):
    """The compiled screen of a band (pairs made and screened in one pass) keeps the pairs, with the
    agreements, that band_pairs, estimated_jaccard and the screen keep; and counts the band's pairs."""
    from dedupe.similarity.candidates import screened_band_pairs

    compiled_kernels()
    rng = np.random.default_rng(11)
    n, num_perm = 500, 32
    sigs = rng.integers(0, 4, size=(n, num_perm), dtype=np.uint32)  # few values: every agreement
    sigs[:150, :2] = 9  # band 0: a bucket of 150
    sigs[300:400] = sigs[:100]
    sigs[300:400, ::2] = rng.integers(0, 4, size=(100, num_perm // 2))  # near copies
    members = rng.permutation(np.arange(0, n))[:420]
    for band in range(4):
        for screen in (0.0, 0.3, 0.5, 0.75, 1.0, 1.01):
            got = screened_band_pairs(sigs, members, band, 2, n, screen, max_bucket)
            with monkeypatch.context() as mp:
                mp.setenv("DEDUPE_NO_KERNELS", "1")
                want = screened_band_pairs(sigs, members, band, 2, n, screen, max_bucket)
            order_got, order_want = np.argsort(got[0]), np.argsort(want[0])
            assert np.array_equal(got[0][order_got], want[0][order_want])
            assert np.array_equal(got[1][order_got], want[1][order_want]) and got[1].dtype == want[1].dtype
            assert got[2] == want[2] > 0
            assert len(np.unique(got[0])) == len(got[0])  # a band gives a pair once


@pytest.mark.parametrize("compiled", [True, False])  # records per document (topk_new); sorts (prunes)
@pytest.mark.parametrize("key_bits", [63, 20, 10])  # packed keys; pairs packed only; nothing packed
def test_top_partners_keeps_each_documents_best_k_however_pairs_arrive(monkeypatch, key_bits, compiled):
    from dedupe.similarity import candidates
    from dedupe.similarity.candidates import TopPartners

    monkeypatch.setattr(candidates, "_KEY_BITS", key_bits)
    monkeypatch.setattr(candidates, "_THREADED_FROM", 0)  # threads where asked, however few the pairs
    if compiled:
        compiled_kernels()
    else:
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")

    rng = np.random.default_rng(5)
    n, k = 60, 3
    i = rng.integers(0, n, 3000)
    j = rng.integers(0, n, 3000)
    ok = i < j
    codes = i[ok] * n + j[ok]
    score_of = {int(c): int(rng.integers(0, 21)) for c in np.unique(codes)}  # ties on purpose
    scores = np.array([score_of[int(c)] for c in codes])
    ranked: dict[int, list[tuple[float, int]]] = {}
    for c in score_of:
        for d in (c // n, c % n):
            ranked.setdefault(d, []).append((-score_of[c], c))
    expected = {c for lst in ranked.values() for _, c in sorted(lst)[:k]}
    for prune_at, threads in ((1, 1), (50, 3), (10**9, 2)):
        best = TopPartners(n, k, 20, prune_at=prune_at)
        for part in np.array_split(np.arange(len(codes)), 17):
            best.add(codes[part], scores[part], threads=threads)
        assert (best._topk is not None) == compiled
        got, got_scores = best.result()
        assert set(got.tolist()) == expected
        assert np.array_equal(got, np.unique(got)) and got_scores.dtype == np.uint16
        assert np.array_equal(np.array([score_of[int(c)] for c in got]), got_scores)


def test_compiled_top_partners_refuse_bad_input():
    kernels = compiled_kernels()
    for n, k in ((0, 3), (10, 0), (10, 256), (2**31 + 1, 3)):
        with pytest.raises(ValueError, match="topk_new"):
            kernels.topk_new(n, k)
    topk = kernels.topk_new(10, 3)
    for codes, message in (([5 * 10 + 5], "i < j"), ([7 * 10 + 2], "i < j"), ([-1], "i < j"), ([10 * 10 + 1], "i < j"),
                           ([1, 2], "differ in length")):
        with pytest.raises(ValueError, match=message):
            kernels.topk_add(topk, np.array(codes, dtype=np.int64), np.zeros(1, dtype=np.uint16))
    with pytest.raises(ValueError, match="another number of documents"):
        sigs = np.zeros((20, 4), dtype=np.uint32)
        none = np.zeros(0, dtype=np.int64)
        kernels.band_screen(sigs, 4, none, none, none, 64, 20, 1, none, none.view(np.uint16), topk)
    assert kernels.topk_result(topk) == (b"", b"")
    for part, parts in ((0, 0), (2, 2), (-1, 2)):
        with pytest.raises(ValueError, match="part"):
            kernels.topk_add(topk, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint16), part, parts)
    # in parts (threads): each part updates the records of its own documents, together those of one call
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, 50, 4000), rng.integers(0, 50, 4000)
    codes = np.unique((np.minimum(i, j) * 50 + np.maximum(i, j))[i != j])
    scores = (codes % 7).astype(np.uint16)
    whole, split = kernels.topk_new(50, 4), kernels.topk_new(50, 4)
    kernels.topk_add(whole, codes, scores)
    for part in range(3):
        kernels.topk_add(split, codes, scores, part, 3)
    assert kernels.topk_result(whole) == kernels.topk_result(split) != (b"", b"")


@pytest.mark.parametrize("k", [1, 3, 10, 255])  # 255: a record's count at its limit
def test_compiled_band_partners_are_the_screened_pairs_best(monkeypatch, k):
    """Pairs offered to the compiled records as the band screen finds them: the pairs (and scores)
    that screening each band and pruning with sorts keeps, many equal scores included."""
    from dedupe.similarity import candidates

    compiled_kernels()
    rng = np.random.default_rng(21)
    n, num_perm = 600, 32
    sigs = rng.integers(0, 3, size=(n, num_perm), dtype=np.uint32)
    sigs[400:500] = sigs[:100]
    sigs[400:500, ::3] = rng.integers(0, 3, size=(100, (num_perm + 2) // 3))
    members = np.sort(rng.permutation(n)[:550]).astype(np.int64)
    candidates._BANDS.update(sigs=sigs, members=members, n=n, rows=2, screen=0.4, k=k, levels=num_perm)
    try:
        got = candidates.content_band_partners(list(range(0, 16, 3)))
        with monkeypatch.context() as mp:
            mp.setenv("DEDUPE_NO_KERNELS", "1")
            want = candidates.content_band_partners(list(range(0, 16, 3)))
    finally:
        candidates._BANDS.clear()
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]
    assert 0 < len(got[0]) < got[2]


def test_content_bands_in_groups_give_the_pairs_of_one_pass(monkeypatch):
    from dedupe.similarity import candidates

    rng = np.random.default_rng(9)
    n, num_perm = 400, 64
    sigs = rng.integers(0, 6, (n, num_perm)).astype(np.uint32)  # few values: many collisions
    sigs[200:] = sigs[:200]
    sigs[200:, ::3] = rng.integers(0, 6, (200, (num_perm + 2) // 3))  # near copies of the first half
    active = np.arange(n)
    seen: list[np.ndarray] = []

    def exact(codes: np.ndarray) -> np.ndarray:
        seen.append(codes)
        return np.ones(len(codes))

    def serial(func, groups):
        assert candidates._BANDS  # the settings are in place when the groups run
        return [func(g) for g in groups]

    one = candidates.content_candidates(sigs, active, exact, 0.15, 0.15, np.zeros(0, np.int64), 3)
    for groups in (2, 3, 7):
        got = candidates.content_candidates(sigs, active, exact, 0.15, 0.15, np.zeros(0, np.int64), 3, serial, groups)
        assert np.array_equal(got[0], one[0]) and got[1] == one[1]
    assert 0 < len(one[0]) < n * (n - 1) // 2  # the partner cap did drop pairs
    assert not candidates._BANDS


def test_shingle_bands_in_groups_give_the_pairs_of_one_pass():
    from dedupe.similarity import candidates

    rng = np.random.default_rng(11)
    n, num_perm = 500, 128
    sigs = rng.integers(0, 2**32, (n, num_perm), dtype=np.uint64).astype(np.uint32)
    sigs[250:] = sigs[:250]
    sigs[250:, ::2] = rng.integers(0, 2**32, (250, num_perm // 2), dtype=np.uint64).astype(np.uint32)  # J about 1/3
    sigs[400:] = sigs[0]  # a bucket of more than 64
    active = np.arange(0, n, 1)
    calls: list[list[int]] = []

    def serial(func, groups):
        assert candidates._BANDS  # the settings are in place when the groups run
        calls.extend(groups)
        return [func(g) for g in groups]

    one = candidates.shingle_candidates(sigs, active, 0.3)
    assert one[1] > 250 and np.array_equal(one[0], np.unique(one[0]))
    for groups in (2, 3, 7):
        got = candidates.shingle_candidates(sigs, active, 0.3, serial, groups)
        assert np.array_equal(got[0], one[0]) and got[1] == one[1]
    assert sorted(b for g in calls[:2] for b in g) == list(range(candidates.lsh_params(0.3, num_perm)[0]))
    assert not candidates._BANDS


def test_content_alignment_credits_a_split_sentence():
    a = prepare_sentences("Bachelet focused on Xinjiang after taking office in September 2018, while Western "
                          "diplomats privately worried she was too soft on China.")
    b = prepare_sentences("After taking office in September 2018, Bachelet focused on Xinjiang. Western diplomats "
                          "privately worried that she was too soft on China.")
    strict = align_content(a, b, 0.3, splits=False)
    split = align_content(a, b, 0.3)
    assert len(strict.pairs) == 1 and strict.coverage_b < 0.7
    assert [(p.a, p.b) for p in split.pairs] == [(0, 0), (0, 1)]
    assert split.coverage_a == 1.0 and split.coverage_b == 1.0


def _chunk_inputs(seed: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    vocab = rng.integers(1, 2**64 - 1, size=300, dtype=np.uint64)
    units, contents = [], []
    for length in [0, 1, 3, 5, 6, 40, 64, 65, 400, 2000, *rng.integers(0, 900, size=30)]:
        ids = rng.integers(0, 300 if length % 2 else 12, size=length)  # small vocabularies repeat shingles
        units.append(vocab[ids])
        words = vocab[ids] ^ np.uint64(0x5555)
        words[rng.random(length) < 0.4] = 0  # function words
        contents.append(words)
    units[2] = np.full(3000, vocab[0])  # one shingle repeated: a worst case for sorting
    # Values that are no hashes (all in the same top bytes): the kernel's hash sort gives up on them
    # for its quicksort, in reverse order and at random.
    contents[2] = np.arange(3000, 0, -1, dtype=np.uint64)
    contents[3] = rng.integers(1, 500, size=900).astype(np.uint64)
    common = np.unique(np.concatenate(contents))[1::5]
    return units, contents, common[common != 0]


@pytest.mark.parametrize(("seed", "k", "with_common"), [(1, 5, True), (2, 1, False), (3, 32, True), (4, 3, False)])
def test_compiled_kernel_equals_numpy(seed: int, k: int, with_common: bool, monkeypatch):
    compiled_kernels()
    units, contents, common = _chunk_inputs(seed)
    signer = Signer(64, seed)
    monkeypatch.delenv("DEDUPE_NO_KERNELS", raising=False)
    fast = bulk.chunk_features(units, contents, k, common if with_common else None, signer)
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
    assert native.kernels() is None
    slow = bulk.chunk_features(units, contents, k, common if with_common else None, signer)
    for field in ("shingles", "content", "counts", "shingle_sigs", "content_sigs"):
        assert np.array_equal(getattr(fast, field), getattr(slow, field)), field
    sh, ct = slow.split()
    assert np.array_equal(sh[5], ngram_hashes(units[5], k))
    assert len(ct[0]) == 0 and not slow.content_sigs[0].any()


@pytest.mark.parametrize("numpy_only", [False, True])
def test_features_of_token_ids_are_those_of_their_hashes(numpy_only, monkeypatch):
    if not numpy_only:
        compiled_kernels()
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1" if numpy_only else "")
    rng = np.random.default_rng(9)
    hashes = rng.integers(1, 2**64 - 1, size=500, dtype=np.uint64)
    content = np.where(rng.random(500) < 0.4, 0, hashes ^ np.uint64(0x77)).astype(np.uint64)
    ids = [rng.integers(0, 500 if n % 3 else 9, size=n) for n in (0, 1, 4, 5, 70, 900, *rng.integers(0, 600, 20))]
    common = np.unique(content)[1::4]
    signer = Signer(64, 2)
    got = bulk.chunk_features_of_ids(ids, hashes, content, 5, common, signer)
    want = bulk.chunk_features([hashes[i] for i in ids], [content[i] for i in ids], 5, common, signer)
    for field in ("shingles", "content", "counts", "shingle_sigs", "content_sigs"):
        assert np.array_equal(getattr(got, field), getattr(want, field)), field
    parts = bulk.ChunkFeatures.concat([bulk.chunk_features_of_ids(ids[:7], hashes, content, 5, common, signer),
                                       bulk.chunk_features_of_ids(ids[7:], hashes, content, 5, common, signer)])
    for field in ("shingles", "content", "counts", "shingle_sigs", "content_sigs"):
        assert np.array_equal(getattr(parts, field), getattr(want, field)), field


def test_compiled_features_check_token_ids_and_tables():
    kernels = compiled_kernels()
    signer = Signer(8, 1)
    table = np.arange(1, 11, dtype=np.uint64)

    def run(ids: list[int], *tables: np.ndarray) -> None:
        units = np.asarray(ids, dtype=np.int64)
        offsets = np.asarray([0, len(ids)], dtype=np.int64)
        out = np.empty(len(ids), np.uint64)
        kernels.features(units, offsets, 2, units, offsets, np.zeros(0, np.uint64), signer.a, signer.b, out,
                         out.copy(), np.empty(2, np.int64), np.empty(8, np.uint32), np.empty(8, np.uint32), *tables)

    run([0, 9, 3], table, table)
    for ids, tables, error, message in (([0, 10], (table, table), ValueError, "out of range"),
                                        ([-1], (table, table), ValueError, "out of range"),
                                        ([0], (table, table[:5]), ValueError, "differ in length"),
                                        ([0], (table,), TypeError, "both tables")):
        with pytest.raises(error, match=message):
            run(ids, *tables)


def test_compiled_kernel_rejects_inconsistent_buffers():
    kernels = compiled_kernels()
    signer = Signer(8, 1)
    units = np.arange(1, 11, dtype=np.uint64)

    def call(offsets, k=5, common=None, out_len=10):
        common = np.zeros(0, np.uint64) if common is None else common
        kernels.features(units, np.asarray(offsets, np.int64), k, units, np.asarray(offsets, np.int64), common,
                         signer.a, signer.b, np.empty(out_len, np.uint64), np.empty(10, np.uint64),
                         np.empty(6, np.int64), np.empty(24, np.uint32), np.empty(24, np.uint32))

    call([0, 4, 10])
    for offsets, kwargs, message in [
        ([0, 6, 4, 10], {}, "not decrease"),
        ([0, 4, 9], {}, "span"),
        ([0, 4, 10], {"k": 33}, "k must be"),
        ([0, 4, 10], {"common": np.array([3, 2], np.uint64)}, "sorted"),
        ([0, 4, 10], {"out_len": 9}, "too small"),
    ]:
        with pytest.raises(ValueError, match=message):
            call(offsets, **kwargs)


@pytest.mark.parametrize(("num_perm", "seed"), [(16, 1), (128, 1), (128, 7), (256, 42)])
def test_permutations_are_datasketchs(num_perm: int, seed: int):
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    ours = Signer(num_perm, seed)
    assert np.array_equal(ours.a, a) and np.array_equal(ours.b, b)


def test_known_lsh_params_are_what_datasketch_picks():
    from datasketch import MinHashLSH

    from dedupe.similarity.candidates import _KNOWN_PARAMS, lsh_params

    for (threshold, num_perm), params in _KNOWN_PARAMS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert params == (lsh.b, lsh.r), (threshold, num_perm)
    assert lsh_params(0.42, 96) == (MinHashLSH(threshold=0.42, num_perm=96).b, MinHashLSH(threshold=0.42, num_perm=96).r)


def test_compiled_vocabulary_gives_the_hashes_of_the_python_one():
    compiled_kernels()
    from dedupe.normalize import content_form
    from dedupe.similarity.shingle import Vocabulary

    rng = np.random.default_rng(3)
    words = [f"w{k}" for k in range(5000)] + ["café", "naïve", "北京", "x" * 300, "_", "9"]
    # Tokens that share their first 8 bytes (the part a slot holds) and differ in length or after it.
    words += [f"internat{k}" for k in range(300)] + ["internat", "internatio", "internation", "internat\u00e9", "interna"]
    fast = Vocabulary(content_form, limit=3000, native=True)  # small limit: the table is renewed
    slow = Vocabulary(content_form, limit=3000, native=False)
    for _ in range(40):
        tokens = [words[k] for k in rng.integers(0, len(words), size=int(rng.integers(0, 400)))]
        text = "  ".join(tokens) + " "  # runs of spaces, as the ASCII tokenizer leaves them
        ids_f, joined_f = fast.lookup_text(text)
        ids_s, joined_s = slow.lookup_text(text)
        assert joined_f == joined_s == " ".join(tokens).encode()
        assert np.array_equal(fast.hashes[ids_f], slow.hashes[ids_s])
        assert np.array_equal(fast.content[ids_f], slow.content[ids_s])
        ids_f, ids_s = fast.lookup(tokens), slow.lookup(tokens)  # first: a lookup may replace the arrays
        assert np.array_equal(fast.hashes[ids_f], slow.hashes[ids_s])
    with pytest.raises(ValueError, match="no spaces"):
        fast.lookup(["two words"])


def test_compiled_gather_set_is_content_set_of_the_gathered_values():
    from dedupe.similarity.shingle import content_set

    kern = compiled_kernels()
    rng = np.random.default_rng(7)
    table = rng.integers(1, 2**64 - 1, size=500, dtype=np.uint64)
    table[::7] = 0  # function words
    for size in (0, 1, 5, 64, 65, 3000):
        ids = rng.integers(0, 120 if size < 100 else 500, size=size)  # repeats
        out = np.empty(size, dtype=np.uint64)
        m = kern.gather_set(table, ids, out)
        assert np.array_equal(out[:m], content_set(table[ids]))
    with pytest.raises(ValueError, match="range"):
        kern.gather_set(table, np.array([500]), np.empty(1, dtype=np.uint64))
    with pytest.raises(ValueError, match="one entry per id"):
        kern.gather_set(table, np.array([1, 2]), np.empty(1, dtype=np.uint64))


_SUFFIXES = ["", "s", "ss", "us", "is", "ies", "sses", "ing", "edly", "ed", "ly", "es", "y"]


def test_compiled_token_hashes_are_blake2b_and_the_content_forms_of_python():
    """token_hashes: BLAKE2b-64 of every token (one to three 128-byte blocks, and an empty-looking
    last block at 128 and 256 bytes), and content_form's hash for ASCII tokens (stopwords, one letter,
    digits, every suffix rule, stems that would be too short); non-ASCII tokens left to Python."""
    from dedupe.normalize import STOPWORDS, content_form
    from dedupe.similarity.shingle import stable_hash64

    kern = compiled_kernels()
    rng = np.random.default_rng(5)
    letters = list("abcdefghijklmnopqrstuvwxyzAEIS019_'") + ["\u00e9", "\u5317", "\udc80"]
    tokens = sorted(STOPWORDS) + ["a", "I", "9", "ies", "sses", "abies", "asses", "bus", "axis", "cats", "sing",
                                  "xing", "bedly", "bled", "x" * 127, "x" * 128, "x" * 129, "y" * 255 + "ies",
                                  "y" * 300 + "sses", "z" * 400, "caf\u00e9s", "\u00e9"]
    for _ in range(3000):
        stem = "".join(rng.choice(letters, size=int(rng.integers(1, 9))))
        tokens.append(stem + _SUFFIXES[int(rng.integers(0, len(_SUFFIXES)))])
    hashes, content = np.empty(len(tokens), np.uint64), np.empty(len(tokens), np.uint64)
    left = kern.token_hashes(native.word_table(kern, STOPWORDS), " ".join(tokens).encode("utf-8", "surrogatepass"),
                             hashes, content)
    assert left == [k for k, t in enumerate(tokens) if not t.isascii()]
    for k, token in enumerate(tokens):
        assert int(hashes[k]) == stable_hash64(token) == int.from_bytes(
            hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        if token.isascii():
            form = content_form(token)
            assert int(content[k]) == (stable_hash64(form) if form else 0), token
    with pytest.raises(ValueError, match="empty token"):
        kern.token_hashes(native.word_table(kern, STOPWORDS), b"a  b", hashes, content)
    with pytest.raises(ValueError, match="per token"):
        kern.token_hashes(native.word_table(kern, STOPWORDS), b"a b", hashes, content)


@pytest.mark.parametrize("native", [True, False])
def test_a_vocabulary_absorbs_the_tokens_another_recorded(native, monkeypatch):
    from dedupe.normalize import content_form
    from dedupe.similarity import shingle

    if native:
        compiled_kernels()
    rng = np.random.default_rng(4)
    words = [f"w{k}" for k in range(3000)] + ["caf\u00e9", "running", "the", "x", "naïve", "\u5317\u4eac"]
    texts = [" ".join(words[k] for k in rng.integers(0, len(words), size=200)) for _ in range(30)]
    worker = shingle.Vocabulary(content_form, native=native)
    worker.lookup_text(texts[0], words=True)  # known before the recording: not recorded
    with worker.recording() as learned:
        for text in texts[1:]:
            worker.lookup_text(text, words=True)
        got = learned()
    assert got.tokens and "w" not in got.tokens.split(" ")
    tokens = got.tokens.split(" ")
    fresh = shingle.Vocabulary(content_form, native=native)
    fresh_ids = fresh.lookup(tokens)
    want, want_content = fresh.hashes[fresh_ids], fresh.content[fresh_ids]
    assert np.array_equal(got.hashes, want) and np.array_equal(got.content, want_content)
    # The main process absorbs them (some it knows already), then looks them up without hashing;
    # a small one is emptied on the way (its limit is near), then holds them all the same.
    main = shingle.Vocabulary(content_form, native=native)
    small = shingle.Vocabulary(content_form, limit=3000, native=native)
    for vocab in (main, small):
        vocab.lookup_text(texts[5] + " " + " ".join(f"other{k}" for k in range(1000)), words=True)
        vocab.absorb(got)
        vocab.absorb(got)  # twice: the same values
    assert main.generation == 0 and small.generation >= 1
    ids = small.lookup(tokens)
    assert np.array_equal(small.hashes[ids], want) and np.array_equal(small.content[ids], want_content)
    monkeypatch.setattr(shingle, "stable_hash64", lambda s: pytest.fail(f"{s!r} hashed again"))
    ids = main.lookup(tokens)
    assert np.array_equal(main.hashes[ids], want) and np.array_equal(main.content[ids], want_content)


def test_compiled_pair_estimates_equal_numpy(monkeypatch):
    compiled_kernels()
    from dedupe.similarity.candidates import estimated_jaccard

    rng = np.random.default_rng(5)
    n = 300
    sigs = rng.integers(0, 6, size=(n, 128), dtype=np.uint32)  # small values: many agreements
    codes = np.unique(rng.integers(0, n, size=5000) * n + rng.integers(0, n, size=5000))
    fast = estimated_jaccard(sigs, codes, n)
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
    slow = estimated_jaccard(sigs, codes, n)
    assert fast.dtype == slow.dtype == np.float32
    assert np.array_equal(fast, slow)


def test_compiled_read_sets_and_set_jaccard_give_the_exact_jaccard(tmp_path):
    kernels = compiled_kernels()
    from dedupe.similarity.candidates import exact_jaccards
    from dedupe.store import Spill

    rng = np.random.default_rng(6)
    sets = [np.unique(rng.integers(0, 60, size=int(rng.integers(0, 50)))).astype(np.uint64) for _ in range(80)]
    spill = Spill(str(tmp_path))
    spill.append(b"header")
    offsets = np.array([spill.append(s.tobytes()) for s in sets], dtype=np.int64)
    lengths = np.array([len(s) for s in sets], dtype=np.int64)
    n = len(sets)
    values = np.empty(int(lengths.sum()), dtype=np.uint64)
    kernels.read_sets(spill.fileno(), offsets, lengths, values)
    assert np.array_equal(values, np.concatenate(sets))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    codes = np.unique(rng.integers(0, n, size=2000) * n + rng.integers(0, n, size=2000))
    out = np.empty(len(codes))
    kernels.set_jaccard(values, starts, lengths, codes, n, out)
    assert np.array_equal(out, exact_jaccards(codes, n, lambda k: sets[k]))
    with pytest.raises(OSError):
        kernels.read_sets(spill.fileno(), offsets + 10**9, lengths, values)  # past the end
    with pytest.raises(ValueError, match="fit"):
        kernels.read_sets(spill.fileno(), offsets, lengths + 1, values)  # more than out holds
    with pytest.raises(ValueError, match="out of range"):
        kernels.set_jaccard(values, starts, lengths, np.array([n * n], np.int64), n, out)
    with pytest.raises(ValueError, match="outside"):
        kernels.set_jaccard(values, starts + 5, lengths, codes, n, out)
    spill.close()


@pytest.mark.parametrize("no_kernels", ["", "1"])
def test_jaccards_to_many_sets_equal_jaccard_one_by_one(monkeypatch, no_kernels):
    """An index query's content check: one call for thousands of candidates, the values of
    ``jaccard`` (empty sets on either side included), compiled or not, from the stored bytes."""
    from dedupe.index.base import array_bytes, arrays_packed
    from dedupe.similarity.shingle import jaccards_to

    if not no_kernels:
        compiled_kernels()
    monkeypatch.setenv("DEDUPE_NO_KERNELS", no_kernels)
    rng = np.random.default_rng(7)
    sets = [np.unique(rng.integers(0, 80, size=int(rng.integers(0, 60)))).astype(np.uint64) for _ in range(300)]
    sets += [np.zeros(0, dtype=np.uint64), np.arange(2**64 - 5, 2**64, dtype=np.uint64)]
    for a in (sets[0], np.zeros(0, dtype=np.uint64), np.unique(rng.integers(0, 80, size=70)).astype(np.uint64),
              np.array([2**64 - 1], dtype=np.uint64)):
        values, offsets = arrays_packed([array_bytes(s) for s in sets])
        assert np.array_equal(values, np.concatenate(sets)) and offsets[-1] == len(values)
        got = jaccards_to(a, values, offsets)
        assert got.dtype == np.float64
        assert got.tolist() == [jaccard(a, s) for s in sets]
    values, offsets = arrays_packed([])
    assert jaccards_to(sets[0], values, offsets).tolist() == []


def test_stored_corpus_content_jaccards_equal_the_python_twin(tmp_path, monkeypatch):
    """The scan's exact content check: sets read once per document (kernels) or per pair (Python)."""
    compiled_kernels()
    from dedupe import pipeline
    from dedupe.models import Document
    from dedupe.pipeline import prepare, read_documents

    texts = [" ".join(f"w{(k * 7 + i * 3) % 90}x" for i in range(40)) + f" story {k}." for k in range(60)]
    table, keys = read_documents([Document(f"d{k}", t, "mem", k) for k, t in enumerate(texts)])
    corpus = prepare(table, keys, ScanConfig())
    n = len(texts)
    codes = np.array([i * n + j for i in range(n) for j in range(i + 1, n)], dtype=np.int64)
    fast = corpus.content_jaccards(codes)  # many pairs: documents placed by a table of all of them
    threaded = corpus.content_jaccards(codes, threads=3)
    monkeypatch.setattr(pipeline, "_SHARED_READ", 7)  # the sets read by the threads too
    shared = corpus.content_jaccards(codes, threads=3)
    monkeypatch.setattr(pipeline, "_SHARED_READ", 10_000)
    few = codes[::200]  # fewer pairs than a quarter of the documents: placed by searching
    assert len(few) < n // 4
    fast_few = corpus.content_jaccards(few, threads=2)  # and their documents sorted, not marked
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
    slow = corpus.content_jaccards(codes)
    assert np.array_equal(fast, slow) and (fast > 0).sum() > 100
    assert np.array_equal(threaded, slow) and np.array_equal(fast_few, slow[::200])
    assert np.array_equal(shared, slow)
    corpus.close()


def test_compiled_vocabulary_tokenizes_like_tokenize():
    """In ``words`` mode the compiled table splits text into ``\\w+`` runs itself: the same tokens
    as normalize.tokenize on every kind of character (4-byte, combining, numeric, surrogates)."""
    compiled_kernels()
    from dedupe.normalize import content_form
    from dedupe.similarity.shingle import Vocabulary

    alphabet = list("ab z09_ .,;'\"-\n\t") + ["é", "e\u0301", "北京", "£", "٣", "²", "½", "Ⅻ", "🙂", "\ud800", "𝒳",
                                                 "𠀀", "\u00a0", "\u2028", "ß", "ǅ", "\u200b", "x"]
    rng = np.random.default_rng(9)
    fast = Vocabulary(content_form, native=True)
    slow = Vocabulary(content_form, native=False)
    for _ in range(300):
        text = "".join(alphabet[k] for k in rng.integers(0, len(alphabet), size=int(rng.integers(0, 80))))
        ids_f, joined_f = fast.lookup_text(text, words=True)
        ids_s, joined_s = slow.lookup_text(text, words=True)
        assert joined_f == joined_s == " ".join(tokenize(text)).encode("utf-8", "surrogatepass"), repr(text)
        assert np.array_equal(fast.hashes[ids_f], slow.hashes[ids_s])


def test_compiled_kernels_reject_bad_buffers():
    kernels = compiled_kernels()
    sigs = np.zeros((4, 8), dtype=np.uint32)
    codes = np.array([1, 6], dtype=np.int64)
    with pytest.raises(ValueError, match="float"):
        kernels.agreement(sigs, 8, codes, 4, np.empty(2, dtype=np.float64))
    with pytest.raises(ValueError, match="integer"):
        kernels.agreement(sigs.astype(np.float32), 8, codes, 4, np.empty(2, dtype=np.float32))
    lengths = np.array([1, -1], dtype=np.int64)
    for bad in (lengths, np.array([1, 2**61 + 1], dtype=np.int64)):
        with pytest.raises(ValueError, match="non-negative"):
            kernels.read_sets(0, np.zeros(2, dtype=np.int64), bad, np.empty(2**3, dtype=np.uint64))


def test_vocabulary_recovers_when_the_compiled_lookup_fails(monkeypatch):
    """A lookup that fails midway may leave tokens in the compiled table without their hashes in
    Python: the vocabulary starts afresh, and later lookups give the right hashes."""
    kernels = compiled_kernels()
    from dedupe.normalize import content_form
    from dedupe.similarity.shingle import Vocabulary

    fast = Vocabulary(content_form, native=True)
    slow = Vocabulary(content_form, native=False)

    class Failing:
        vocab_new = staticmethod(kernels.vocab_new)

        @staticmethod
        def vocab_lookup(table, data, ids, words):
            return kernels.vocab_lookup(table, data + b" \xc3", ids, words)  # invalid UTF-8 at the end

    real = fast._native
    fast._native = Failing()
    with pytest.raises(UnicodeDecodeError):
        fast.lookup_text("alpha beta", words=True)
    fast._native = real
    for text in ("gamma alpha", "beta delta alpha"):
        ids_f, _ = fast.lookup_text(text, words=True)
        ids_s, _ = slow.lookup_text(text, words=True)
        assert np.array_equal(fast.hashes[ids_f], slow.hashes[ids_s])


@pytest.mark.parametrize("dense_cells", [None, 0])  # the dense product; the sparse one of long texts
def test_content_alignment_scores_are_the_weighted_dice_of_the_sentences(monkeypatch, dense_cells):
    import math
    import random
    from collections import Counter

    from dedupe.similarity import align

    if dense_cells is not None:
        monkeypatch.setattr(align, "_DENSE_CELLS", dense_cells)
    rng = random.Random(11)
    words = [f"w{k}x" for k in range(40)]  # content words (not stopwords), unchanged by stemming

    def text() -> str:
        return " ".join(" ".join(rng.sample(words, rng.randint(1, 7))).capitalize() + "."
                        for _ in range(rng.randint(1, 9)))

    for _ in range(60):
        a, b = prepare_sentences(text()), prepare_sentences(text())
        al = align_content(a, b, 0.3)
        df = Counter(w for sent in (*a.content, *b.content) for w in sent)
        n = len(a) + len(b)

        def weight(sent: tuple[str, ...], n: int = n, df: Counter[str] = df) -> float:
            return sum(math.log1p(n / df[w]) for w in sent)

        for p in al.pairs:
            sa, sb = a.content[p.a], b.content[p.b]
            dice = 2 * sum(math.log1p(n / df[w]) for w in set(sa) & set(sb)) / (weight(sa) + weight(sb))
            assert p.score == pytest.approx(round(dice, 4), abs=1e-4) and dice >= 0.3
        covered = {p.a for p in al.pairs}
        assert al.coverage_a == pytest.approx(sum(weight(a.content[i]) for i in covered)
                                              / sum(weight(s) for s in a.content))


@pytest.mark.parametrize("dense_cells", [None, 0])
def test_content_bound_never_refuses_an_alignment_that_reaches(monkeypatch, dense_cells):
    import random

    from dedupe.similarity import align

    if dense_cells is not None:
        monkeypatch.setattr(align, "_DENSE_CELLS", dense_cells)
    rng = random.Random(5)
    words = [f"w{k}x" for k in range(30)]
    refused = 0
    for _ in range(300):
        def text() -> str:
            pool = rng.sample(words, rng.randint(3, 30))  # small pools share few words, large ones many
            return " ".join(" ".join(rng.sample(pool, rng.randint(1, min(7, len(pool))))).capitalize() + "."
                            for _ in range(rng.randint(1, 9)))

        a, b = prepare_sentences(text()), prepare_sentences(text())
        for overlap in (0.1, 0.3, 0.6):
            full = align_content(a, b, overlap)
            # Asked for exactly what the alignment covers, the bound must let it through ...
            assert align.align_content_reaching(a, b, overlap, full.coverage_max, full.coverage_min) == full
            # ... and it refuses only what the alignment does not reach.
            for best, other in ((0.55, 0.3), (0.8, 0.8), (0.3, 0.0)):
                got = align.align_content_reaching(a, b, overlap, best, other)
                if got is None:
                    refused += 1
                    assert full.coverage_max < best or full.coverage_min < other
                else:
                    assert got == full
    assert refused > 100  # the bound does refuse pairs


_SENTENCE_TEXTS = [
    "", "  \n \n", "One.", "The cat sat. The cat sat on the cat mat, the mat! Cats and cat.\n\nNew line here; dogs dog.",
    "Caf\u00e9 cr\u00e8me \u2014 \u201cquoted\u201d \u0130stanbul STRASSE stra\u00dfe. \ud800 lone. 1,234 and 5.6% of 7.",
    "Mr. Smith went to Washington. He said: \"It's done.\" (Really?) Yes... 3 a.m. U.S. officials, e.g. them.",
]


@pytest.mark.parametrize("numpy_only", [False, True])
def test_scored_sentences_from_text_equal_those_of_the_sentence_set(monkeypatch, numpy_only):
    import random
    from pathlib import Path

    from dedupe.similarity.align import ScoredSentences, scored_sentences
    from dedupe.similarity.shingle import stable_hash64

    if not numpy_only:
        compiled_kernels()
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1" if numpy_only else "")
    rng = random.Random(2)
    words = ["the", "cat", "cats", "sat", "a", "on", "Mat", "running", "runs", "x", "caf\u00e9", "1", "2024", "it's"]
    texts = list(_SENTENCE_TEXTS)
    texts += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))]
    texts += [" ".join(rng.choice(words) + rng.choice(["", "", ".", ",", "!\n"]) for _ in range(rng.randint(0, 60)))
              for _ in range(200)]
    for text in texts:
        full = prepare_sentences(text)
        got, want = scored_sentences(text), ScoredSentences.of(full)
        # words numbered in order of first use, each sentence's words once
        first_use = list(dict.fromkeys(w for sentence in full.content for w in sentence))
        assert want.words.vocab.tolist() == [stable_hash64(w) for w in first_use]
        assert want.words.cols.tolist() == [first_use.index(w) for sentence in full.content for w in sentence]
        assert got.normalized == want.normalized and np.array_equal(got.char_counts, want.char_counts)
        for name in ("vocab", "df", "rows", "cols"):
            a, b = getattr(got.words, name), getattr(want.words, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), (text, name)


def test_hash_tokens_with_more_new_tokens_than_the_table_holds():
    from dedupe.similarity.shingle import stable_hash64

    tokens = [f"fresh{k}token" for k in range(5000)]  # the hash table starts at 1,024 entries and grows
    assert hash_tokens(tokens).tolist() == [stable_hash64(t) for t in tokens]


def test_vocabulary_lines_are_those_of_each_line():
    from dedupe.normalize import content_form
    from dedupe.similarity.shingle import Vocabulary

    compiled_kernels()
    fast, slow = Vocabulary(content_form, native=True), Vocabulary(content_form, native=False)
    for text in ("", "\n", "a b\n\nc", "\nalpha beta-gamma\n d\u00e9j\u00e0 vu \n\n\u00fcber\n", "x\ny\nz z"):
        ids_f, lines_f = fast.lookup_lines(text)
        ids_s, lines_s = slow.lookup_lines(text)
        assert np.array_equal(fast.hashes[ids_f], slow.hashes[ids_s]) and np.array_equal(lines_f, lines_s)
        per_line = [fast.hashes[fast.lookup_text(line, words=True)[0]] for line in text.split("\n")]
        assert np.array_equal(fast.hashes[ids_f], np.concatenate([np.zeros(0, np.uint64), *per_line]))
        assert np.array_equal(lines_f, np.repeat(np.arange(len(per_line)), [len(p) for p in per_line]))


def test_compiled_copy_reach_equals_numpy(monkeypatch):
    from dedupe.similarity import align

    compiled_kernels()
    rng = np.random.default_rng(4)
    for _ in range(200):
        a = rng.integers(0, 9, (rng.integers(0, 12), align.CHAR_BINS)).astype(np.int32)
        b = rng.integers(0, 9, (rng.integers(0, 12), align.CHAR_BINS)).astype(np.int32)
        ratio = float(rng.choice([0.5, 0.85, 0.95]))
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "")
        fast = align._copy_reach(a, b, ratio)
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
        assert align._copy_reach(a, b, ratio) == fast
    with pytest.raises(ValueError, match="rows of 32"):
        compiled_kernels().char_reach(np.zeros(5, np.int32), np.zeros(32, np.int32), 0.5, 1.0)


def test_compiled_content_reach_equals_numpy(monkeypatch):
    import random

    from dedupe.similarity import align

    kernels = compiled_kernels()
    rng = random.Random(6)
    words = [f"w{k}x" for k in range(25)]

    def text() -> str:
        return " ".join(" ".join(rng.sample(words, rng.randint(1, 6))).capitalize() + "."
                        for _ in range(rng.randint(1, 8)))

    for _ in range(200):
        a, b = prepare_sentences(text()), prepare_sentences(text())
        overlap = rng.choice([0.1, 0.3, 0.6])
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "")
        fast = align._content_reach(a, b, overlap)
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
        assert align._content_reach(a, b, overlap) == pytest.approx(fast, rel=1e-12)
    w = a.words
    keys, order = w.index
    with pytest.raises(ValueError, match="out of range"):
        kernels.content_reach(keys, order, w.df, w.rows, w.cols + 100, len(a), keys, order, w.df, w.rows, w.cols,
                              len(a), align._idf_table(2 * len(a)), 0.3, 1.0)


def test_copy_bound_never_refuses_an_alignment_that_reaches():
    import random

    from dedupe.similarity import align

    rng = random.Random(8)
    base = [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                                 "kappa", "lambda", "mu"]) for _ in range(rng.randint(2, 12))).capitalize() + "."
            for _ in range(40)]

    def noisy(sentence: str) -> str:
        chars = list(sentence)
        for _ in range(rng.randint(0, 6)):  # typos: ratios around the 0.85 line
            k = rng.randrange(len(chars))
            chars[k] = rng.choice("abcdefghijklmnopqrstuvwxyz \u00e9\u00df")
        return "".join(chars)

    refused = 0
    for _ in range(300):
        a = prepare_sentences(" ".join(rng.sample(base, rng.randint(1, 8))))
        b = prepare_sentences(" ".join(noisy(x) if rng.random() < 0.7 else x for x in rng.sample(base, rng.randint(1, 8))))
        for ratio in (0.6, 0.85, 0.95):
            full = align_copies(a, b, ratio)
            assert align.align_copies_reaching(a, b, ratio, full.coverage_max) == full
            for best in (0.3, 0.8, 1.0):
                got = align.align_copies_reaching(a, b, ratio, best)
                if got is None:
                    refused += 1
                    assert full.coverage_max < best
                else:
                    assert got == full
    assert refused > 100


_STORED_TEXTS = [
    "", "   \n\n", "One sentence only.", "Short. Words: the of and. Another one here!\nA new line, same words.",
    "Caf\u00e9 cr\u00e8me \u2014 \u201cquoted\u201d. \ud800 lone surrogate stays. Numbers 1,234 and 5.6%.",
    "word " * 300 + "end. Then more.",  # counts past 255: stored in two bytes
    "a" * 70_000 + " b. " + " ".join(f"w{k}" for k in range(70_000)) + ".",  # past 65,535: eight bytes
    " ".join(f"Sentence {k} of many words here." for k in range(300)),  # 300 sentences: numbers past 255
]


def test_stored_sentences_are_the_bytes_of_the_scored_sentences():
    import random
    from pathlib import Path

    from dedupe.similarity.align import scored_sentences, stored_sentences

    compiled_kernels()
    rng = random.Random(13)
    texts = list(_STORED_TEXTS) + [a + " " + b for a, b in _sentence_pairs(14, 60)]
    texts += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))]
    texts += ["".join(rng.choice("ab \u00e9\u00df.!?\n") for _ in range(rng.randint(0, 400))) for _ in range(100)]
    for text in texts:
        assert stored_sentences(text) == scored_sentences(text).to_bytes(), text[:80]


@pytest.mark.parametrize("compiled", [True, False])
def test_stored_sentences_without_their_text_read_back_with_it(compiled, monkeypatch):
    """Bytes stored without the sentences' text (what scan stores) give the same bounds, and the same
    sentences once their text is made again (sentence_text); without it, reading them is an error."""
    from pathlib import Path

    from dedupe.similarity.align import ScoredSentences, sentence_text, stored_reach, stored_sentences

    if compiled:
        compiled_kernels()
    else:
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
    texts = list(_STORED_TEXTS[:5]) + [a + " " + b for a, b in _sentence_pairs(3, 20)]
    texts += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))]
    for text in texts:
        full, bare = stored_sentences(text), stored_sentences(text, keep_text=False)
        want = ScoredSentences.from_bytes(full)
        got = ScoredSentences.from_bytes(bare, lambda text=text: sentence_text(text))
        assert got.normalized == want.normalized and np.array_equal(got.char_counts, want.char_counts), text[:60]
        assert got.to_bytes() == full and len(bare) == len(full) - len(sentence_text(text))
        if len(want):
            with pytest.raises(ValueError, match="without their text"):
                ScoredSentences.from_bytes(bare)
        if compiled:
            other = stored_sentences(texts[0])
            assert stored_reach(bare, other, 0.85, 0.3) == stored_reach(full, other, 0.85, 0.3)
    with pytest.raises(ValueError, match="differ in number"):
        ScoredSentences.from_bytes(stored_sentences(texts[3], keep_text=False), lambda: b"one sentence")
    bad = bytearray(stored_sentences(texts[3], keep_text=False))
    bad[56] = 2  # flags: no such
    with pytest.raises(ValueError, match="not stored sentences"):
        ScoredSentences.from_bytes(bytes(bad), lambda: b"")


def test_stored_sentences_kernel_checks_its_input():
    kernels = compiled_kernels()
    table = np.arange(5, dtype=np.uint64)
    counts = np.zeros((2, 32), dtype=np.int32)

    def run(ids: list[int], rows: list[int], counts: np.ndarray = counts) -> bytes:
        return kernels.stored_sentences(table, np.asarray(ids, np.int64), np.asarray(rows, np.int64), counts, b"x\ny")

    assert run([1, 2], [0, 1])
    for ids, rows, message in (([5], [0], "id out of range"), ([1, 2], [1, 0], "out of order"),
                               ([1], [2], "out of order or range"), ([1], [0, 1], "differ in length")):
        with pytest.raises(ValueError, match=message):
            run(ids, rows)
    with pytest.raises(ValueError, match="rows of 32"):
        run([1], [0], np.zeros(5, np.int32))
    with pytest.raises(ValueError, match="negative"):
        run([1], [0], counts - 1)


@pytest.mark.parametrize("text", [
    "", "   \n\n", "One sentence only.", "Short. Words: the of and. Another one here!\nA new line, same words.",
    "Caf\u00e9 cr\u00e8me \u2014 \u201cquoted\u201d. \ud800 lone surrogate stays. Numbers 1,234 and 5.6%.",
    "word " * 300 + "end. Then more.",  # counts past 255: stored in two bytes
    "a" * 70_000 + " b. " + " ".join(f"w{k}" for k in range(70_000)) + ".",  # past 65,535: eight bytes
])
def test_scored_sentences_round_trip_and_score_like_the_sentence_set(text):
    from dedupe.similarity.align import ScoredSentences

    full = prepare_sentences(text)
    other = prepare_sentences("Another one here, with words. Caf\u00e9 cr\u00e8me again. One sentence only.")
    back = ScoredSentences.from_bytes(ScoredSentences.of(full).to_bytes())
    assert len(back) == len(full) and back.normalized == full.normalized
    for name in ("vocab", "df", "rows", "cols"):
        got, want = getattr(back.words, name), getattr(full.words, name)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert back.char_counts.dtype == full.char_counts.dtype and np.array_equal(back.char_counts, full.char_counts)
    assert [int(c.sum()) for c in full.char_counts] == [len(s) for s in full.normalized]
    for x, y in ((back, other), (other, back)):
        plain = (full, other) if x is back else (other, full)
        assert align_copies(x, y, 0.85) == align_copies(*plain, 0.85)
        assert align_content(x, y, 0.3) == align_content(*plain, 0.3)


def _sentence_pairs(seed: int, count: int) -> list[tuple[str, str]]:
    """Pairs of texts from shared sentences, with typos and rewordings: bounds that pass and that fail."""
    import random

    rng = random.Random(seed)
    vocab = [f"w{k}x" for k in range(150)] + ["the", "of", "and", "caf\u00e9", "2024", "\u00fcber"]
    base = [" ".join(rng.choice(vocab) for _ in range(rng.randint(2, 14))).capitalize() + "." for _ in range(60)]

    def variant(sentence: str) -> str:
        words = sentence.split()
        for _ in range(rng.randint(0, 3)):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        return " ".join(words) + ("" if words[-1].endswith(".") else ".")

    pairs = [("", "One sentence."), ("Only one.", "")]
    for _ in range(count):
        a = rng.sample(base, rng.randint(1, 10))
        kept = rng.choice([0.1, 0.5, 0.8, 1.0])  # from unrelated texts to copies
        b = [variant(x) if rng.random() < 0.5 else x for x in a if rng.random() < kept] + rng.sample(base, rng.randint(0, 4))
        pairs.append((" ".join(a), "\n".join(b) if rng.random() < 0.5 else " ".join(b)))
    return pairs


def test_stored_reach_is_both_bounds_of_the_sentences():
    from dedupe.similarity import align

    compiled_kernels()
    long_text = " ".join(f"Sentence {k} here." for k in range(300))  # 300 x 300 sentence pairs: no copy bound
    pairs = _sentence_pairs(11, 300) + [(long_text, long_text), (long_text, "Sentence 1 here.")]
    for text_a, text_b in pairs:
        a, b = align.scored_sentences(text_a), align.scored_sentences(text_b)
        for ratio, overlap in ((0.85, 0.3), (0.5, 0.6)):
            got = align.stored_reach(a.to_bytes(), b.to_bytes(), ratio, overlap)
            assert got is not None and (got.sentences_a, got.sentences_b) == (len(a), len(b))
            assert got.content == align._content_reach(a, b, overlap)
            if len(a) and len(b) and len(a) * len(b) <= align._BOUND_CELLS:
                assert got.copies == align._copy_reach(a.char_counts, b.char_counts, ratio)
            else:
                assert got.copies is None


def test_stored_reach_refuses_bytes_that_are_no_stored_sentences():
    from dedupe.similarity import align

    kernels = compiled_kernels()
    good = align.scored_sentences("A first sentence. And a second one.").to_bytes()
    order_at = 64 + 8 * int(np.frombuffer(good, np.int64, 8)[2])
    bad_order = good[:order_at] + b"\xff" + good[order_at + 1 :]
    for blob, message in ((b"", "not stored"), (good[:-1], "wrong size"), (b"x" * 64, "not stored"),
                          (good + b"x", "wrong size"), (bad_order, "out of range")):
        with pytest.raises(ValueError, match=message):
            kernels.stored_reach(good, blob, 0.85, 0.3, 1.0, 100)
        with pytest.raises(ValueError):
            align.ScoredSentences.from_bytes(blob) if message != "out of range" else kernels.stored_reach(
                blob, good, 0.85, 0.3, 1.0, 100)


def _blob(n: int, vocab: list[int], order: list[int], df: list[int], rows: list[int], cols: list[int],
          counts: list[int], text: bytes = b"") -> bytes:
    """Stored sentences (ScoredSentences.to_bytes's layout) with 8-byte numbers and counts, as given."""
    head = [0x31534E5453, n, len(vocab), len(rows), 8, 8, len(text), 0]
    return b"".join((np.asarray(head, np.int64).tobytes(), np.asarray(vocab, np.uint64).tobytes(),
                     np.asarray(order + df + rows + cols, np.int64).tobytes(), np.asarray(counts, np.int64).tobytes(),
                     text))


def test_stored_reach_refuses_numbers_out_of_range():
    from dedupe.similarity.align import ScoredSentences

    kernels = compiled_kernels()
    counts = [1] * 32
    good = _blob(1, [7], [0], [1], [0], [0], counts, b"x" * 32)
    assert kernels.stored_reach(good, good, 0.85, 0.3, 1.0, 100)[0] == 1
    assert ScoredSentences.from_bytes(good).normalized == ("x" * 32,)
    for blob, message in ((_blob(1, [7], [0], [2**62], [0], [0], counts), "sentence count"),
                          (_blob(1, [7], [0], [-1], [0], [0], counts), "sentence count"),
                          (_blob(1, [7], [0], [1], [1], [0], counts), "entry out of range"),
                          (_blob(1, [7], [0], [1], [0], [1], counts), "entry out of range"),
                          (_blob(1, [7], [0], [1], [0], [-1], counts), "entry out of range"),
                          (_blob(1, [7], [0], [1], [0], [0], [-1] + counts[1:]), "character count"),
                          (_blob(1, [7], [0], [1], [0], [0], [2**40] + counts[1:]), "character count")):
        with pytest.raises(ValueError, match=message):
            kernels.stored_reach(good, blob, 0.85, 0.3, 1.0, 100)


def test_absorb_refuses_tokens_and_hashes_that_do_not_pair():
    from dedupe.normalize import content_form
    from dedupe.similarity import shingle

    for compiled in (True, False):
        if compiled:
            compiled_kernels()
        vocab = shingle.Vocabulary(content_form, native=compiled)
        one = np.ones(2, np.uint64)
        for learned in (shingle.Learned("new york city", one, one), shingle.Learned("a b", one, one[:1])):
            with pytest.raises(ValueError, match="one hash"):
                vocab.absorb(learned)
        vocab.absorb(shingle.Learned("a b", one, one))
        assert vocab.hashes[vocab.lookup(["a", "b"])].tolist() == [1, 1]


def test_compiled_sentence_tokens_are_those_of_the_sentences_folded_in_python():
    """``lookup_sentences`` (split, fold, collapse and look up in one compiled pass) gives what the
    strings give: the folded sentences joined, the ids and sentence of each token, the character
    classes, hence the same stored sentences; it leaves texts with a character that does not fold
    alone to Python (None), and a vocabulary emptied on the way keeps its hashes right."""
    kernels = compiled_kernels()
    from dedupe.normalize import content_form, fold_map, fold_text, split_sentences
    from dedupe.similarity.align import _CHAR_BIN_BYTES, char_counts, scored_sentences, stored_sentences
    from dedupe.similarity.shingle import Vocabulary

    ascii_fold, fold = fold_map()
    assert ascii_fold == "".join(fold_text(chr(c)) for c in range(128)).encode()
    assert {ord("£"), 0x2019, 0x2026, 0xA0, 0x3000, 0x2028} <= set(fold) and fold[0x2026] == "..."
    separators = [chr(c) for c in sorted(fold)]
    alphabet = list("aZ09_ .,;!?'`\"()-\n\r\t\x0b\x1c\x1f") + ["Mr.", "e.g.", "U.S.", "Dr. ", ". The", "? 4", "\u201cOk.\u201d A"]
    others = ["é", "e\u0301", "ß", "™", "\u200b", "\u00ad", "Ａ", "ﬁ", "🙂", "\ud800", "北", "\x85", "İ"]
    rng = np.random.default_rng(17)
    bins = _CHAR_BIN_BYTES
    fast = Vocabulary(content_form, limit=3000, native=True)  # small limit: emptied on the way
    slow = Vocabulary(content_form, limit=3000, native=True)
    compiled = 0
    for k in range(3000):
        pool = alphabet + separators[k % 7 :: 7]
        if k % 4 == 0:
            pool = pool + others
        text = "".join(pool[j] for j in rng.integers(0, len(pool), size=int(rng.integers(0, 80))))
        text += " ".join(f"w{j}" for j in rng.integers(0, 5000, size=int(rng.integers(0, 40))))
        found = fast.lookup_sentences(text, bins)
        if found is None:
            assert any(ord(c) >= 128 and ord(c) not in fold for c in text), repr(text)
            continue
        compiled += 1
        joined, ids, rows, counts = found
        normalized = [" ".join(fold_text(s).split()) for s in split_sentences(text)]
        assert joined == "\n".join(normalized).encode("utf-8", "surrogatepass"), repr(text)
        want_ids, want_rows = slow.lookup_lines("\n".join(normalized))
        assert np.array_equal(fast.hashes[ids], slow.hashes[want_ids]), repr(text)
        assert np.array_equal(fast.content[ids], slow.content[want_ids]), repr(text)
        assert np.array_equal(rows, want_rows), repr(text)
        assert np.array_equal(counts, char_counts(normalized).reshape(-1, 32)), repr(text)
        if k % 10 == 0:
            assert stored_sentences(text) == scored_sentences(text).to_bytes(), repr(text)
    assert 2000 < compiled < 3000 and fast.generation > 0  # both ways taken, the table renewed
    # Every character that folds alone, inside and between words and sentences.
    for char in separators:
        text = f"Ab{char}Cd x{char}{char}9. {char}Next one{char}! Mr.{char} B {char}"
        joined, *_ = fast.lookup_sentences(text, bins)
        assert joined.decode("utf-8", "surrogatepass").split("\n") == [" ".join(fold_text(s).split())
                                                                        for s in split_sentences(text)], repr(char)
    with pytest.raises(ValueError, match="128 bytes"):
        fast.lookup_sentences("Text.", bins[:5])
    with pytest.raises(TypeError, match="map code points to str"):
        kernels.sentence_tokens(fast._table, "a\u2019b", ("mr",), 16, lambda head: False, ascii_fold, {0x2019: 1}, bins)


@pytest.mark.parametrize("changes", [{}, {"near_coverage": 0.0}, {"paraphrase_threshold": 0.0, "paraphrase_other": 0.0},
                                     {"paraphrase": False}, {"min_containment_shingles": 1}, {"sentence_overlap": 0.6}])
def test_pairs_that_the_stored_bounds_rule_out_are_different(changes):
    import dataclasses

    from dedupe.similarity import align
    from dedupe.similarity.verify import sentences_may_decide, sentences_may_decide_many, verify_by_sentences

    compiled_kernels()
    config = dataclasses.replace(ScanConfig(), **changes)
    ruled_out = {10: 0, 60: 0}  # by the shingles of the shorter text: copies count from 40 on
    decided = 0
    blobs: list[bytes] = []
    scalar: list[bool] = []
    for text_a, text_b in _sentence_pairs(12, 250):
        a, b = align.scored_sentences(text_a), align.scored_sentences(text_b)
        blobs += [a.to_bytes(), b.to_bytes()]
        reach = align.stored_reach(a.to_bytes(), b.to_bytes(), config.sentence_ratio, config.sentence_overlap)
        assert reach is not None
        for smaller in ruled_out:
            found = verify_by_sentences(0, 1, smaller, [a, b].__getitem__, config)
            decided += found is not None
            scalar.append(sentences_may_decide(reach, smaller, config))
            if not scalar[-1]:
                ruled_out[smaller] += 1
                assert found is None, (text_a, text_b, smaller)
    assert decided > 10
    # The batched bounds and decision (scan's second verification pass) decide every pair alike.
    pairs = np.arange(len(blobs)).reshape(-1, 2).repeat(len(ruled_out), axis=0)
    many = align.stored_reach_many(blobs, pairs[:, 0], pairs[:, 1], config.sentence_ratio, config.sentence_overlap)
    assert many is not None
    smaller = np.tile(np.array(list(ruled_out)), len(blobs) // 2)
    assert sentences_may_decide_many(many, smaller, config).tolist() == scalar
    if "paraphrase_threshold" in changes:
        assert ruled_out == {10: 0, 60: 0}  # thresholds of 0: every pair is aligned
    elif "near_coverage" in changes:
        assert ruled_out[60] == 0 and ruled_out[10] > 10  # copies aligned where they count
    elif "min_containment_shingles" in changes:
        assert ruled_out[10] == ruled_out[60] > 10  # copies count for both
    else:
        assert min(ruled_out.values()) > 10


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.uint32])
def test_sorted_unique_is_np_unique(dtype):
    from dedupe.similarity.shingle import sorted_unique

    rng = np.random.default_rng(3)
    for size in (0, 1, 2, 7, 1000):
        values = rng.integers(0, 50, size).astype(dtype)
        original = values.copy()
        got = sorted_unique(values)
        assert got.dtype == values.dtype and np.array_equal(got, np.unique(values))
        assert np.array_equal(values, original)  # the input is left as it was


def test_verifying_by_sentences_alone_gives_the_verdict_of_every_test():
    """scan's second verification pass skips the shingle tests its first pass ran."""
    import random
    from pathlib import Path

    from dedupe.models import Document
    from dedupe.pipeline import prepare, read_documents
    from dedupe.similarity.verify import compare, verify_by_sentences, verify_pair

    config = ScanConfig()
    texts = [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))]
    rng = random.Random(3)
    noisy = ["".join(c if rng.random() > 0.04 else rng.choice("xq ") for c in t) for t in texts]
    docs = [Document(id=str(k), text=t, source="t", index=k) for k, t in enumerate(texts + noisy)]
    table, keys = read_documents(docs)
    corpus = prepare(table, keys, config)
    kinds: set[str] = set()
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            fa, fb = corpus.fingerprint(i), corpus.fingerprint(j)
            scores = compare(fa, fb, corpus.sentences, config, full=True).scores
            smaller = min(len(fa.shingles), len(fb.shingles))
            if fa.digest == fb.digest or scores["jaccard"] >= config.threshold or (
                    smaller >= config.min_containment_shingles and scores["containment"] >= config.containment):
                continue  # decided by the shingle tests: never in the second pass
            want = verify_pair(fa, fb, corpus.sentences, config)
            assert verify_by_sentences(i, j, smaller, corpus.sentences, config) == want
            kinds.add(want.kind if want else "different")
    assert kinds == {"near", "paraphrase", "different"}


def test_intersection_size_compiled_equals_numpy(monkeypatch):
    from dedupe.similarity.shingle import intersection_size

    compiled_kernels()
    rng = np.random.default_rng(12)
    for _ in range(200):
        pool = rng.integers(0, 2**64 - 1, 60, dtype=np.uint64)
        a = np.unique(rng.choice(pool, rng.integers(0, 40)))
        b = np.unique(rng.choice(pool, rng.integers(0, 40)))
        want = len(np.intersect1d(a, b))
        assert intersection_size(a, b) == want
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
        assert intersection_size(a, b) == want
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "")


def test_verify_by_shingles_gives_verify_pairs_verdicts_or_leaves_the_pair_to_the_sentences():
    """scan's first verification pass decides many pairs at once from counts alone; each verdict is
    the one verify_pair gives, and a pair it leaves (None) is one whose verdict needs the sentences."""
    from dedupe.similarity.verify import Fingerprint, verify_by_shingles, verify_pair

    class NeedsSentences(Exception):
        pass

    def no_sentences(index: int):
        raise NeedsSentences

    rng = np.random.default_rng(3)
    config = ScanConfig()
    fps, pairs, expected = [], [], []
    for k in range(600):
        base = np.unique(rng.integers(0, 400, size=int(rng.integers(0, 120)))).astype(np.uint64)
        kind = k % 4
        if kind == 0:  # a cut copy: containment
            other = base[: int(len(base) * rng.uniform(0.3, 1.0))]
        elif kind == 1:  # an edited copy: Jaccard around the threshold
            keep = base[rng.random(len(base)) < rng.uniform(0.5, 1.0)]
            other = np.unique(np.concatenate((keep, rng.integers(0, 400, size=int(rng.integers(0, 40))).astype(np.uint64))))
        else:
            other = np.unique(rng.integers(0, 400, size=int(rng.integers(0, 120)))).astype(np.uint64)
        digest = b"x" * 16 if kind == 3 and k % 8 == 3 else bytes([k % 256, k // 256]) * 8
        other_digest = b"x" * 16 if kind == 3 else bytes([k % 256, k // 256 + 100]) * 8
        a = Fingerprint(2 * k, digest, 100, base, np.zeros(0, dtype=np.uint64))
        b = Fingerprint(2 * k + 1, other_digest, 100, other, np.zeros(0, dtype=np.uint64))
        fps.append((a, b))
        pairs.append((a.index, b.index))
        try:
            expected.append(verify_pair(a, b, no_sentences, config))
        except NeedsSentences:
            expected.append(None)
    found = verify_by_shingles(pairs, [a.digest == b.digest for a, b in fps], [len(a.shingles) for a, _ in fps],
                               [len(b.shingles) for _, b in fps],
                               [len(np.intersect1d(a.shingles, b.shingles)) for a, b in fps], config)
    assert found == expected
    kinds = {m.measure for m in expected if m is not None}
    assert kinds == {"identical", "jaccard", "containment"} and None in expected


def _quick_hash64_reference(data: bytes) -> int:
    """The definition of ``quick_hash64``, written out in Python integers."""
    mask = (1 << 64) - 1

    def fmix(h: int) -> int:
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & mask
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & mask
        return h ^ (h >> 33)

    acc = 0
    for i in range(0, len(data), 8):
        word = int.from_bytes(data[i : i + 8], "little")  # a short last word: padded with zero bytes
        acc = (acc + fmix((word + (i // 8) * 0x9E3779B97F4A7C15) & mask)) & mask
    return fmix(acc ^ ((len(data) * 0xC2B2AE3D27D4EB4F) & mask))


def test_quick_hash64_is_its_definition_compiled_or_not(monkeypatch):
    from dedupe.similarity.shingle import quick_hash64

    compiled_kernels()
    rng = np.random.default_rng(7)
    datas = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes() for n in [*range(70), 2300, 100_003]]
    datas += ["Café «quoted» – \u2028 text".encode(), b"\x00" * 16]
    want = [_quick_hash64_reference(d) for d in datas]
    monkeypatch.delenv("DEDUPE_NO_KERNELS", raising=False)
    assert [quick_hash64(d) for d in datas] == want
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
    assert [quick_hash64(d) for d in datas] == want
    # Pinned: the sample a scan counts recurring lines on must not change by accident.
    assert quick_hash64(b"The quick brown fox") == _quick_hash64_reference(b"The quick brown fox") == 11758307784171529671
    assert len(set(want)) == len(set(datas)) == len(datas)


def test_compiled_vocabulary_folds_like_fold_text():
    """``lookup_folded`` (the compiled table folding the raw text itself, or leaving it to Python)
    gives the ids and joined tokens of ``lookup_text(fold_text(text), words=True)``, on texts mixing
    ASCII with separators it folds itself and characters it must leave to Python."""
    compiled_kernels()
    from dedupe.normalize import content_form, fold_separators, fold_text
    from dedupe.similarity.shingle import Vocabulary

    separators = fold_separators()
    folds = [chr(c) for c in range(0x10000) if (separators[c >> 3] >> (c & 7)) & 1]
    assert {"£", "\u2019", "\u201c", "\u2014", "\u00a0", "\u2026", "\u00b4", "\u00a8"} <= set(folds)
    assert not {"\u200b", "\u00ad", "\ufeff", "™", "½", "é", "ß", "\u0301", "Ａ", "ﬁ", "İ", "ǅ"} & set(folds)
    alphabet = list("aZ09_ .,;'`\"-\n\t") + ["£", "\u2019", "\u00a0", "\u2026", "\u00b4", "\u00a8", "«", "€", "\u3000",
                                            "é", "e\u0301", "ß", "™", "½", "\u200b", "\u00ad", "Ａ", "ﬁ", "İ", "🙂",
                                            "\ud800", "北", "\u2028", "ǅ", "\u0301"]
    rng = np.random.default_rng(11)
    fast = Vocabulary(content_form, native=True)
    slow = Vocabulary(content_form, native=False)
    folded_by_kernel = 0
    for _ in range(2000):
        pool = alphabet if rng.random() < 0.3 else alphabet[: alphabet.index("é")]  # most: ASCII and separators
        text = "".join(pool[k] for k in rng.integers(0, len(pool), size=int(rng.integers(0, 60))))
        ids_f, joined_f = fast.lookup_folded(text)
        ids_s, joined_s = slow.lookup_text(fold_text(text), words=True)
        assert joined_f == joined_s, repr(text)
        assert np.array_equal(fast.hashes[ids_f], slow.hashes[ids_s]), repr(text)
        assert np.array_equal(fast.content[ids_f], slow.content[ids_s]), repr(text)
        folded_by_kernel += fast._native.vocab_lookup(fast._table, text.encode("utf-8", "surrogatepass"),
                                                      np.empty(len(text) * 4 + 1, dtype=np.int64), True, None,
                                                      separators) is not None
    assert 1000 < folded_by_kernel < 2000  # both ways taken
    # Every separator, between words: the same tokens as folding in Python.
    for char in folds:
        text = f"Ab{char}Cd x{char}{char}9"
        ids_f, joined_f = fast.lookup_folded(text)
        assert joined_f == " ".join(tokenize(fold_text(text))).encode(), repr(char)


@pytest.mark.parametrize("changes", [{}, {"near_coverage": 0.0}, {"paraphrase_threshold": 0.0, "paraphrase_other": 0.0},
                                     {"paraphrase": False}, {"paraphrase_other": 0.0},
                                     {"near_coverage": 0.5, "paraphrase_threshold": 0.5, "paraphrase_other": 0.25}])
def test_the_batched_decision_is_the_scalar_one_on_ties_and_edges(changes):
    import dataclasses

    from dedupe.similarity.align import StoredReach
    from dedupe.similarity.verify import sentences_may_decide, sentences_may_decide_many

    config = dataclasses.replace(ScanConfig(), **changes)
    rng = np.random.default_rng(5)
    m = 4000
    values = rng.choice([0.0, 0.25, 0.5, 1.0, 2.0], size=(m, 8))  # equal shares: ties with the thresholds
    values[:, [1, 3, 5, 7]] = rng.choice([0.0, 1.0, 2.0, 4.0], size=(m, 4))  # totals, some zero
    n = rng.choice([0, 1, 7, 300], size=(m, 2))  # 300 x 300 sentence pairs: no copy bound
    reach = np.column_stack([n, values]).astype(np.float64)
    smaller = rng.choice([10, 40, 60], size=m)
    scalar = []
    for row, s in zip(reach.tolist(), smaller.tolist()):
        n_a, n_b = int(row[0]), int(row[1])
        copies = tuple(row[2:6]) if n_a and n_b and n_a * n_b <= 65_536 else None
        scalar.append(sentences_may_decide(StoredReach(n_a, n_b, copies, tuple(row[6:10])), s, config))
    assert sentences_may_decide_many(reach, smaller, config).tolist() == scalar
    assert 0 < sum(scalar) < m or changes.get("paraphrase_threshold") == 0.0  # there, every pair may
