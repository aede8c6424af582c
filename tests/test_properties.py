"""Property tests (hypothesis): clean only removes lines, keeps their order and is idempotent; scan
results do not depend on input order or on the number of worker processes; no input text makes
scan, clean or diff fail with anything but a documented error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import CRUFT_BOTTOM, CRUFT_TOP, article_body, compiled_kernels, seed_text, typo_noise
from dedupe.clean import Cleaner
from dedupe.clean.cleaner import split_lines
from dedupe.cli import cli
from dedupe.config import ScanConfig
from dedupe.models import Document
from dedupe.pipeline import scan_documents

SEED_LINES = [line for k in range(5) for line in seed_text(f"00{k}").splitlines()]
CRUFT_LINES = (CRUFT_TOP + CRUFT_BOTTOM).splitlines()
ODD = ["\u202eRTL", "\u05e9\u05dc\u05d5\u05dd.", "\U0001f600\u200d\U0001f4bb", "e\u0301\u0301", "\ufeff", "\x00",
       "\x0b", "\x1c", "\x85", "\u2028", "\r", "\t", "Mr.", "J.", "\ud800", "\udfff"]  # fmt: skip

any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
piece = st.one_of(
    st.text(any_char, max_size=30),
    st.sampled_from(SEED_LINES),
    st.sampled_from(CRUFT_LINES),
    st.sampled_from(ODD),
    st.builds(lambda t, n: t * n, st.sampled_from(["word ", " ", ".", "|", "Mr. A ", "x" * 40]), st.integers(1, 500)),
)
line = st.lists(piece, max_size=5).map("".join)
texts = st.lists(line, max_size=25).flatmap(lambda ls: st.sampled_from(["\n", "\r\n", "\r"]).map(lambda nl: nl.join(ls)))
# What stdin and files can carry: no lone surrogates (they have no UTF-8 encoding).
encodable = texts.map(lambda t: t.encode("utf-8", "replace").decode("utf-8"))

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_clean_only_removes_lines_in_order_and_is_idempotent(text: str):
    cleaner = Cleaner()
    result = cleaner.clean(text)
    kept, _, _ = split_lines(result.text)
    original, _, _ = split_lines(text)
    assert is_subsequence(kept, original)
    assert len(result.text) <= len(text) or len(kept) == len(original)
    assert cleaner.clean(result.text).text == result.text
    assert all(original[r.line - 1] == r.text for r in result.removed)


def _corpus() -> list[tuple[str, str]]:
    """Ten documents: two stories with copies, a cut reprint, a noisy copy, and unrelated ones."""
    a, b = seed_text("000"), seed_text("001")
    body_a = article_body(a)
    return [
        ("a.txt", a),
        ("a_copy.txt", CRUFT_TOP + a + CRUFT_BOTTOM),
        ("a_cut.txt", body_a[: len(body_a) * 2 // 3]),
        ("a_noisy.txt", typo_noise(body_a, 0.05)),
        ("b.txt", b),
        ("b_copy.txt", b.replace("\n", "\r\n")),
        ("c.txt", seed_text("002")),
        ("d.txt", seed_text("003")),
        ("e.txt", seed_text("004")),
        ("e_noisy.txt", typo_noise(article_body(seed_text("004")), 0.03, seed=2)),
    ]


def _clusters(result) -> list[tuple[str, frozenset]]:
    return sorted(
        (c.representative, frozenset((m.id, m.kind, m.similarity, m.measure) for m in c.members))
        for c in result.clusters
    )


CORPUS = _corpus()
BASELINE = None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(range(len(CORPUS))))
def test_scan_does_not_depend_on_input_order(order: list[int]):
    global BASELINE
    if BASELINE is None:
        docs = [Document(id=n, text=t, source=n, index=i) for i, (n, t) in enumerate(CORPUS)]
        BASELINE = _clusters(scan_documents(docs, ScanConfig()))
        assert len(BASELINE) >= 2
    docs = [Document(id=CORPUS[k][0], text=CORPUS[k][1], source=CORPUS[k][0], index=i) for i, k in enumerate(order)]
    assert _clusters(scan_documents(docs, ScanConfig())) == BASELINE


def test_scan_does_not_depend_on_worker_processes(tmp_path: Path):
    for copy in range(4):  # 40 documents: more than one chunk per worker
        for name, text in CORPUS:
            (tmp_path / f"{copy}_{name}").write_text(text + f"\nEdition {copy}.\n" * (copy % 2))
    runs = {}
    for jobs in ("1", "2", "3"):
        r = CliRunner().invoke(cli, ["scan", str(tmp_path), "--format", "json", "--jobs", jobs])
        assert r.exit_code == 0, r.stderr
        out = json.loads(r.stdout)
        runs[jobs] = out["clusters"]
    assert runs["1"] == runs["2"] == runs["3"]
    assert runs["1"]


def _ok(result) -> None:
    """Success, or a documented error (exit 2, one line, no traceback): never a crash."""
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.splitlines()[-1].startswith("dedupe: error:")


@FAST
@given(encodable)
def test_no_stdin_text_makes_a_command_fail(text: str):
    runner = CliRunner()
    _ok(runner.invoke(cli, ["scan", "-", "--format", "json"], input=text))
    _ok(runner.invoke(cli, ["clean", "-"], input=text))
    _ok(runner.invoke(cli, ["clean", "-", "--format", "json"], input=text))


@FAST
@given(texts, texts)
def test_no_jsonl_text_makes_a_command_fail(tmp_path_factory, a: str, b: str):
    d = tmp_path_factory.mktemp("jsonl")
    p = d / "in.jsonl"
    p.write_text(json.dumps({"id": "a", "text": a}) + "\n" + json.dumps({"id": a[:20], "text": b}) + "\n")
    before = p.read_bytes()
    runner = CliRunner()
    _ok(runner.invoke(cli, ["scan", str(p), "--format", "json"]))
    _ok(runner.invoke(cli, ["scan", str(p), "--emit", "unique", "--format", "jsonl"]))
    _ok(runner.invoke(cli, ["scan", str(p)]))
    _ok(runner.invoke(cli, ["clean", str(p)]))
    _ok(runner.invoke(cli, ["diff", f"{p}#1", f"{p}#2"]))
    _ok(runner.invoke(cli, ["diff", f"{p}#1", f"{p}#2", "--format", "json", "--no-clean"]))
    assert p.read_bytes() == before


@FAST
@given(encodable, encodable)
def test_no_file_text_makes_diff_fail(tmp_path_factory, a: str, b: str):
    d = tmp_path_factory.mktemp("diff")
    (d / "a.txt").write_text(a, encoding="utf-8", newline="")
    runner = CliRunner()
    _ok(runner.invoke(cli, ["diff", str(d / "a.txt"), "-"], input=b))
    _ok(runner.invoke(cli, ["diff", str(d / "a.txt"), "-", "--unified"], input=b))


_SENTENCE_CHARS = st.sampled_from(
    list("Ab. !?\n\r\t x9'\"") + ["\u0301", "\u0327", "é", "e\u0301", "ﬁ", "Ａ", "\u2028", "\x85", "\u00a0", "ΑΣ",
                                  "İ", "ß", "\u1e9e", "½", "\u3000", "\ufeff", "\u200b", "\u2019", "—", "\x1c"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_SENTENCE_CHARS, max_size=60).map("".join) | st.text(max_size=80))
def test_sentences_are_normalized_as_one_by_one(text: str):
    """prepare_sentences folds all sentences at once: the same as normalizing each alone."""
    from dedupe.normalize import content_words, normalize_text
    from dedupe.similarity.align import prepare_sentences

    s = prepare_sentences(text)
    assert s.normalized == tuple(normalize_text(t) for t in s.texts)
    assert s.content == tuple(tuple(dict.fromkeys(content_words(n))) for n in s.normalized)


_SENTENCE_BITS = st.sampled_from([".", "!", "?", "...", " ", "  ", "\n", "\t", '"', "'", "\u201d", "\u201c", "\u2019",
                                  ")", "(", "[", "]", "A", "b", "7", "\u00c9", "Mr", "u.s", "e.g", "No", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_SENTENCE_BITS, max_size=40).map("".join))
def test_sentences_split_where_the_look_behind_pattern_splits(text: str):
    """split_sentences searches for the mark itself; this is the pattern it replaced (which looks
    behind for the mark), with the same loop."""
    import re

    from dedupe import normalize

    old = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u024f])")
    want: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        for m in old.finditer(line):
            head = line[max(start, m.start() - normalize._ABBREV_TAIL) : m.start()].rstrip("\"'\u201d\u2019)]")
            if normalize._ABBREV.search(head):
                continue
            if line[start : m.start()].strip():
                want.append(line[start : m.start()].strip())
            start = m.end()
        if line[start:].strip():
            want.append(line[start:].strip())
    assert normalize.split_sentences(text) == want


_TYPOGRAPHY = st.lists(st.sampled_from(["a", " ", "\u2019", "\u201c", "\u201d", "\u2014", "\u00ad", "\u200b", "`",
                                         "\ufeff", "\u00e9", "'", '"', "-", "\u00ab"]), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(_TYPOGRAPHY | st.text(any_char, max_size=40))
def test_typography_is_mapped_as_the_translation_table_maps_it(text: str):
    from dedupe.normalize import _TRANSLATE, map_typography

    assert map_typography(text) == text.translate(_TRANSLATE)


_SPLIT_BITS = st.sampled_from([".", "!", "?", " ", "\n", "\r\n", "\r", "\x0b", "\x1c", "\x85", "\u2028", "\u00a0", "\u3000",
                               "\t", '"', "'", "\u201d", "\u201c", "\u2019", "\u2018", ")", "(", "[", "]", "A", "b", "Z",
                               "7", "_", "\u00c9", "\u0250", "\u00bf", "Mr", "mrs", "u.s", "U.K", "e.g", "No", "etc",
                               "Sept", "x", "abcde", "abcdefghijklmnop", "\u0130", "\u0131", "\u017f", "\u212a",
                               "\u017ft", "caf\u00e9", "\u00e9t\u00e9", "\u0663", "\u00bd", "\u024f", "\u00c0",
                               "\u00bf", ". A", ". \u024f", ". \u0250", "Mr. ", "xMr. ", "_no. ", "e.g. B", "U.S. ",
                               "k. ", "\u00e9k. "])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_SPLIT_BITS, max_size=50).map("".join) | st.text(max_size=80))
@example("He met xMr. Smith. Then Mr. Jones. Then abcdefghijklmnopMr. Brown.")
@example("End. \u024fnd. \u0250nd. \u00c0nd. (\u00bfnd.")
@example("Dr. A. B. Smith said \u201cno.\u201d Then sept. 5 U.K. Team _Mr. X")
def test_compiled_sentence_splitting_is_the_python_loops(text: str):
    """The compiled splitter against the Python loop (regexes), on ASCII and non-ASCII heads,
    every line break str.splitlines knows and letters that match ASCII ones without case."""
    import pytest

    from dedupe import normalize

    compiled_kernels()
    compiled = normalize.split_sentences(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUPE_NO_KERNELS", "1")
        assert normalize.split_sentences(text) == compiled


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=40) | st.text(st.characters(max_codepoint=127), max_size=40), max_size=12))
def test_compiled_character_classes_are_numpys(sentences: list[str]):
    """align.char_counts compiled and in NumPy: the same counts per sentence and class."""
    import numpy as np
    import pytest

    from dedupe.similarity.align import CHAR_BINS, char_counts

    compiled_kernels()
    got = char_counts(sentences)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUPE_NO_KERNELS", "1")
        want = char_counts(sentences)
    assert got.dtype == want.dtype == np.int32 and got.shape == want.shape == (len(sentences), CHAR_BINS)
    assert np.array_equal(got, want)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(st.sampled_from([" ", "\t", "\x1c", "\x85", "\u00a0", "\u3000", "\u2028", "a", "B",
                                         "\u00e9", "\U0001f600", "\x00", "\u200b"]), max_size=20) | st.text(max_size=30),
                max_size=8))
@example(["a  b", " x", "y ", "a \tb", "", "   ", "a\u3000\u3000b"])
def test_compiled_whitespace_collapsing_is_split_and_join(strings: list[str]):
    compiled_kernels()
    from dedupe.similarity.native import kernels

    assert kernels().collapse_whitespace(strings) == [" ".join(s.split()) for s in strings]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["", " ", "\n", "\r\n", "\r", "Plain words here.", "\t"] + SEED_LINES[:20]),
                max_size=12).map("".join))
def test_clean_returns_what_rendering_would_when_nothing_is_removed(text: str):
    """The shortcut for texts with nothing removed gives what rendering their lines gives."""
    from dedupe.clean.cleaner import _render

    result = Cleaner().clean(text)
    if result.removed_lines == 0:
        lines, newline, trailing = split_lines(text)
        out = newline.join(_render(lines, set())[0])
        assert result.text == (out + newline if out and trailing else out)
        assert result.kept_lines == sum(1 for line in lines if line.strip())


_PARAGRAPHS = ["The council voted on Tuesday to close the old bridge for repairs.",
               "The council voted on Tuesday to close the old bridge for repairs. It reopens in May.",
               "the council  voted on Tuesday to close the old bridge for repairs",
               "Residents said they had not been told about the plan before the vote.",
               "Short line", "Share this", "Advertisement", "", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PARAGRAPHS + SEED_LINES[:10]), max_size=14).map("\n".join))
def test_texts_spared_the_repeat_index_clean_as_with_it(text: str):
    """repeated_paragraph skips indexing the kept lines when no two lines of 6+ words share a
    normalised form or a 16-character head: cleaning is the same as when it always indexes them."""
    import pytest

    from dedupe.clean import rules

    fast = Cleaner().clean(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rules, "_may_repeat", lambda lines: True)
        assert Cleaner().clean(text) == fast


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["", "\n", "\r\n"] + SEED_LINES[:15] + CRUFT_LINES), max_size=16).map("\n".join),
       st.booleans())
def test_clean_text_is_the_text_clean_gives(text: str, extracted: bool):
    """What scan uses (the text alone, no record of the removed lines) is clean()'s text."""
    recurring = frozenset({"share this", "advertisement"})
    cleaner = Cleaner()
    assert cleaner.clean_text(text, recurring, extracted) == cleaner.clean(text, recurring, extracted).text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([1, 2, 3, 5, 2**63 + 7, 2**64 - 1, 1 << 29, (1 << 29) + 1])
                          | st.integers(1, 2**64 - 1)), max_size=60))
@example([(0, 5), (0, 5), (1, 5), (1, 3), (1, 5), (3, 3)])
def test_compiled_sentence_words_are_numpys(entries: list[tuple[int, int]]):
    """align._SentenceWords.of_hashes compiled and in NumPy: the same words, numbers and entries
    (repeats within a sentence once, words numbered by first use, colliding table slots)."""
    import numpy as np
    import pytest

    from dedupe.similarity.align import _SentenceWords

    compiled_kernels()
    gaps = [g for g, _ in entries]
    rows = np.cumsum(np.array(gaps, dtype=np.int64)) if entries else np.zeros(0, dtype=np.int64)
    hashes = np.array([h for _, h in entries], dtype=np.uint64)
    got = _SentenceWords.of_hashes(hashes, rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUPE_NO_KERNELS", "1")
        want = _SentenceWords.of_hashes(hashes, rows)
    for name in ("vocab", "df", "rows", "cols"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
