"""dedupe diff: the diff model, its agreement with scan, JSON output, rendering and input syntax."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from conftest import CRUFT_BOTTOM, CRUFT_TOP, FIXTURES, article_body, seed_text, typo_noise
from dedupe.cli import cli
from dedupe.config import ScanConfig
from dedupe.diff import DiffResult, build_diff, diff_documents, read_document, word_ops
from dedupe.models import Document
from dedupe.render.diff import render_diff
from dedupe.similarity import align
from dedupe.similarity.align import prepare_sentences
from dedupe.similarity.verify import Verdict

S000 = "seeds/000_709126cb00e08acb.txt"
S001 = "seeds/001_a1b7f16f65bc66aa.txt"
S002 = "seeds/002_958857ff62c85e7f.txt"
S004 = "seeds/004_9bfbc175f57da46a.txt"

BASE = article_body(seed_text("001"))
PARAS = BASE.split("\n\n")
THIRD = "\n\n".join(PARAS[: max(1, len(PARAS) // 3)])


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def diff_json(*args: str) -> dict:
    result = run("diff", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "ops"),
    [
        ("The cat sat.", "The cat sat.", ["equal"]),
        ("The cat sat.", "the  CAT sat.", ["equal"]),
        ("The cat sat.", "The dog sat.", ["equal", "replace", "equal"]),
        ("The cat sat down.", "The cat sat.", ["equal", "replace", "delete"]),
        ("It rained.", "Then it rained.", ["insert", "equal"]),
        ("\u201cYes,\u201d he said.", '"Yes," he said.', ["equal"]),
    ],
)
def test_word_ops(a: str, b: str, ops: list[str]):
    assert [o.op for o in word_ops(a, b)] == ops


def _verdict(kind: str) -> Verdict:
    return Verdict(kind, 1.0, "test", {})


def test_moved_block_is_reported_as_moved():
    sents = [
        "The council met on Monday to discuss the budget.",
        "Residents complained about potholes on Main Street.",
        "A new library will open in the spring of next year.",
        "Police reported a quiet weekend across the district.",
        "The football club signed two young strikers.",
        "Heavy rain is expected to reach the coast by Thursday.",
        "Local farmers welcomed the early harvest season.",
        "The museum extends its opening hours during the holidays.",
    ]
    a = prepare_sentences("\n".join(sents))
    b = prepare_sentences("\n".join(sents[5:] + sents[:5]))
    d = build_diff(_verdict("near"), a, b, ScanConfig())
    assert d.alignment == "copies"
    assert [(p.a, p.b) for p in d.pairs] == [(0, 3), (1, 4), (2, 5), (3, 6), (4, 7)]
    assert [(p.a, p.b) for p in d.moved] == [(5, 0), (6, 1), (7, 2)]
    assert d.only_a == () and d.only_b == ()


def test_rows_list_every_sentence_once_in_order():
    a = prepare_sentences("One thing happened. Something only in A here. Then two things happened at the port.")
    b = prepare_sentences("Extra sentence only in B here. One thing happened. Then two things happened at the port.")
    d = build_diff(_verdict("near"), a, b, ScanConfig())
    rows = list(d.iter_rows())
    kinds = [r.kind for r in rows]
    assert kinds == ["only_b", "pair", "only_a", "pair"]
    seen_a = sorted([r.pair.a for r in rows if r.pair] + [r.unmatched.index for r in rows if r.kind == "only_a"])
    seen_b = sorted([r.pair.b for r in rows if r.pair] + [r.unmatched.index for r in rows if r.kind == "only_b"])
    assert seen_a == list(range(len(a))) and seen_b == list(range(len(b)))


@pytest.mark.parametrize(("kind", "alignment"), [("exact", "copies"), ("near", "copies"),
                                                 ("paraphrase", "content"), ("different", "content")])
def test_alignment_follows_verdict(kind: str, alignment: str):
    s = prepare_sentences("A short sentence about the harbour.")
    assert build_diff(_verdict(kind), s, s, ScanConfig()).alignment == alignment


# ---------------------------------------------------------------------------
# The seeds
# ---------------------------------------------------------------------------
def test_seed_rewrite_is_paraphrase_with_most_sentences_aligned():
    data = diff_json(S000, S001)
    assert data["verdict"] == "paraphrase"
    assert data["alignment"] == "content"
    aligned_a = {p["a"] for p in data["pairs"] + data["moved"]}
    assert len(aligned_a) >= 0.6 * data["a"]["sentences"]
    camps = [p for p in data["pairs"] if p["a_text"].startswith("Many of the camps have since been shut down by Beijing")]
    assert len(camps) == 1
    assert camps[0]["b_text"].startswith("Beijing has since closed many of the camps")


def test_unrelated_seeds_are_different():
    data = diff_json(S002, S004)
    assert data["verdict"] == "different"
    assert data["measure"] == "none"


def test_json_shape():
    data = diff_json(S000, S001)
    assert list(data) == ["version", "a", "b", "verdict", "similarity", "measure", "scores", "alignment",
                          "pairs", "only_a", "only_b", "moved"]
    assert data["a"]["id"] == S000 and data["b"]["id"] == S001
    assert set(data["scores"]) >= {"jaccard", "containment", "copied_sentences", "reworded_sentences"}
    assert list(data["scores"]) == sorted(data["scores"])
    pairs = data["pairs"]
    assert [p["a"] for p in pairs] == sorted(p["a"] for p in pairs)
    assert [p["b"] for p in pairs] == sorted(p["b"] for p in pairs)
    for p in pairs + data["moved"]:
        assert set(p) == {"a", "b", "score", "a_text", "b_text", "changes"}
        assert 0 <= p["score"] <= 1
        for c in p["changes"]:
            assert c["op"] in {"replace", "delete", "insert"}
    # Indices are 0-based sentence numbers of the cleaned text, and every sentence is listed once.
    sa = prepare_sentences(_cleaned(S000, S001)[0])
    for p in pairs:
        assert sa.texts[p["a"]] == p["a_text"]
    listed_a = sorted([p["a"] for p in pairs + data["moved"]] + [u["index"] for u in data["only_a"]])
    listed_b = sorted([p["b"] for p in pairs + data["moved"]] + [u["index"] for u in data["only_b"]])
    assert listed_a == list(range(data["a"]["sentences"]))
    assert listed_b == list(range(data["b"]["sentences"]))


def _cleaned(a: str, b: str) -> tuple[str, str]:
    from dedupe.pipeline import compare_documents

    _, corpus = compare_documents(read_document(a), read_document(b), ScanConfig())
    return corpus.text(0), corpus.text(1)


# ---------------------------------------------------------------------------
# diff agrees with scan
# ---------------------------------------------------------------------------
def _unrelated() -> str:
    return seed_text("002")


PAIRS = {
    "exact": (BASE, BASE.replace("\u2019", "'")),
    "cruft": (BASE, CRUFT_TOP + BASE + CRUFT_BOTTOM),
    "typos": (BASE, typo_noise(BASE, 0.15)),
    "ocr": (BASE, typo_noise(BASE, 0.35, seed=3)),
    "third": (BASE, THIRD + "\n" + CRUFT_BOTTOM),
    "rewrite": (seed_text("004"), (FIXTURES / "rewrite_004.txt").read_text(encoding="utf-8")),
    "unrelated": (BASE, _unrelated()),
    "seeds": (seed_text("000"), seed_text("001")),
}


def _scan_kind(a: Path, b: Path, *extra: str) -> str:
    result = run("scan", str(a), str(b), "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    clusters = json.loads(result.stdout)["clusters"]
    if not clusters:
        return "different"
    (cluster,) = clusters
    (member,) = [m for m in cluster["members"] if not m["representative"]]
    return member["kind"]


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("extra", [(), ("--no-clean",), ("--threshold", "0.9", "--paraphrase-threshold", "0.8")])
def test_verdict_agrees_with_scan(write, name: str, extra: tuple[str, ...]):
    text_a, text_b = PAIRS[name]
    a, b = write("a.txt", text_a), write("b.txt", text_b)
    data = diff_json(str(a), str(b), *extra)
    assert data["verdict"] == _scan_kind(a, b, *extra)


@pytest.mark.parametrize(("name", "kind"), [("exact", "exact"), ("typos", "near"), ("third", "near"),
                                            ("rewrite", "paraphrase"), ("unrelated", "different")])
def test_generated_pairs_verdicts(write, name: str, kind: str):
    a, b = write("a.txt", PAIRS[name][0]), write("b.txt", PAIRS[name][1])
    data = diff_json(str(a), str(b))
    assert data["verdict"] == kind
    if kind == "exact":
        assert data["only_a"] == data["only_b"] == data["moved"] == []
        assert all(p["changes"] == [] for p in data["pairs"])
    if name == "third":
        assert data["only_b"] == [] and len(data["only_a"]) > len(data["pairs"])


def test_typos_show_word_changes(write):
    a, b = write("a.txt", BASE), write("b.txt", typo_noise(BASE, 0.15))
    data = diff_json(str(a), str(b))
    changed = [p for p in data["pairs"] if p["changes"]]
    assert changed
    assert all(c["op"] == "replace" for p in changed for c in p["changes"])


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("unified", [False, True])
def test_human_output_has_no_colour_when_piped(write, unified: bool):
    a, b = write("a.txt", BASE), write("b.txt", typo_noise(BASE, 0.15) + "\n\nA closing line only in the copy.")
    result = run("diff", str(a), str(b), *(["--unified"] if unified else []))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out
    assert "verdict: near" in out
    assert "[-" in out and "{+" in out  # changed words are marked instead of coloured
    assert "only B" in out if not unified else "+ B" in out
    assert result.stderr == ""


def test_unified_lines():
    a = prepare_sentences("The mayor opened the new bridge on Monday. Crowds cheered loudly.")
    b = prepare_sentences("The mayor opened the new bridge on Tuesday. Traffic resumes tomorrow morning.")
    d = build_diff(_verdict("near"), a, b, ScanConfig(sentence_ratio=0.8))
    console = Console(width=200, color_system=None, file=_Buffer())
    render_diff(d, console, unified=True)
    lines = console.file.getvalue().splitlines()
    assert "~ A0 B0  changed 0.9" in "\n".join(lines)
    assert "  - The mayor opened the new bridge on [-Monday.-]" in lines
    assert "  + The mayor opened the new bridge on {+Tuesday.+}" in lines
    assert "- A1  Crowds cheered loudly." in lines
    assert "+ B1  Traffic resumes tomorrow morning." in lines


def test_terminal_output_is_coloured_without_marks():
    a = prepare_sentences("The mayor opened the new bridge on Monday.")
    b = prepare_sentences("The mayor opened the new bridge on Tuesday.")
    d = build_diff(_verdict("near"), a, b, ScanConfig(sentence_ratio=0.8))
    console = Console(width=120, force_terminal=True, color_system="standard", file=_Buffer())
    render_diff(d, console)
    out = console.file.getvalue()
    assert "\x1b[" in out
    assert "[-" not in out and "{+" not in out


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------------------
# Input syntax, options, exit status
# ---------------------------------------------------------------------------
def test_jsonl_record_syntax(write):
    lines = [
        json.dumps({"id": "orig", "text": BASE}),
        json.dumps({"id": "copy", "text": typo_noise(BASE, 0.1)}),
        json.dumps({"text": seed_text("002")}),
    ]
    path = write("docs.jsonl", "\n".join(lines) + "\n")
    data = diff_json(f"{path}#orig", f"{path}#copy")
    assert data["verdict"] == "near"
    assert data["a"]["id"] == "orig" and data["b"]["id"] == "copy"
    # A record without an id is named by its line number.
    data = diff_json(f"{path}#orig", f"{path}#3")
    assert data["verdict"] == "different"
    assert data["b"]["id"] == f"{path}:3"


def test_custom_fields(write):
    path = write("docs.jsonl", json.dumps({"key": "x", "body": BASE}) + "\n" + json.dumps({"key": "y", "body": BASE}))
    data = diff_json(f"{path}#x", f"{path}#y", "--text-field", "body", "--id-field", "key")
    assert data["verdict"] == "exact"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.txt", S000], "no such file or directory"),
        (["{jsonl}#nope", S000], "no record with id 'nope'"),
        (["{jsonl}", S000], "holds 2 records"),
        (["-", "-"], "only one of A and B can be -"),
        (["seeds", S000], "is a directory"),
        ([S000], "Missing argument"),
    ],
)
def test_errors_exit_2(write, args: list[str], message: str):
    jsonl = write("two.jsonl", json.dumps({"id": "a", "text": "x y z"}) + "\n" + json.dumps({"id": "b", "text": "x"}))
    result = run("diff", *[a.format(jsonl=jsonl) for a in args])
    assert result.exit_code == 2
    assert result.stderr.startswith("dedupe: error:")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_stdin(write):
    a = write("a.txt", BASE)
    result = run("diff", str(a), "-", "--format", "json", input=BASE)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "exact"
    assert data["b"]["id"] == "-"


def test_check_exit_status(write):
    a, b, c = write("a.txt", BASE), write("b.txt", typo_noise(BASE, 0.1)), write("c.txt", _unrelated())
    assert run("diff", str(a), str(b), "--check").exit_code == 1
    assert run("diff", str(a), str(c), "--check").exit_code == 0
    assert run("diff", str(a), str(b)).exit_code == 0


def test_no_clean_shows_cruft(write):
    a, b = write("a.txt", BASE), write("b.txt", CRUFT_TOP + BASE + CRUFT_BOTTOM)
    cleaned = diff_json(str(a), str(b))
    raw = diff_json(str(a), str(b), "--no-clean")
    assert not any("newsletter" in u["text"] for u in cleaned["only_b"])
    assert any("newsletter" in u["text"] for u in raw["only_b"])
    assert raw["b"]["sentences"] > cleaned["b"]["sentences"]


# ---------------------------------------------------------------------------
# Long texts (the banded alignment; timing lives in benchmarks/bench_diff.py)
# ---------------------------------------------------------------------------
def _long_pair(n: int, seed: int = 5) -> tuple[str, str]:
    rng = random.Random(seed)
    words = BASE.split()
    tail = ["".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3)) for _ in range(3000)]

    def sentence() -> str:
        ws = [rng.choice(words) if rng.random() < 0.8 else rng.choice(tail) for _ in range(rng.randint(8, 20))]
        return " ".join(ws).capitalize() + "."

    a = [sentence() for _ in range(n)]
    b = [typo_noise(s, 0.2, seed=i) if i % 3 == 0 else s for i, s in enumerate(a)]
    b = b[n // 2 :] + b[: n // 2]  # a moved half
    del b[10:20]
    return "\n".join(a), "\n".join(b)


def test_banded_alignment_equals_full_alignment(monkeypatch: pytest.MonkeyPatch):
    ta, tb = _long_pair(600)
    sa, sb = prepare_sentences(ta), prepare_sentences(tb)
    full_copies = align.align_copies(sa, sb, 0.85)
    full_content = align.align_content(sa, sb, 0.3)
    monkeypatch.setattr(align, "FULL_CELLS", 1000)
    assert align.align_copies(sa, sb, 0.85) == full_copies
    assert align.align_content(sa, sb, 0.3) == full_content


def test_long_diff_finds_the_moved_half():
    ta, tb = _long_pair(600)
    d: DiffResult = diff_documents(Document("a", ta, "a", 0), Document("b", tb, "b", 1))
    assert d.verdict == "near"
    assert len(d.pairs) + len(d.moved) >= 580
    assert len(d.moved) >= 250
