"""End-to-end behaviour of scan on realistic variants of real articles."""

from __future__ import annotations

import gc
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from conftest import (
    CRUFT_BOTTOM,
    CRUFT_TOP,
    FIXTURES,
    SEEDS,
    article_body,
    compiled_kernels,
    seed_text,
    typo_noise,
)
from dedupe.cli import cli
from dedupe.config import ScanConfig
from dedupe.models import Document
from dedupe.pipeline import scan_paths
from dedupe.render import human
from dedupe.render import json as render_json


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def pairs_of(result) -> dict[frozenset[str], str]:
    """Every pair in a cluster -> the kind of its non-representative member."""
    out = {}
    for c in result.clusters:
        kinds = {m.id: m.kind for m in c.members}
        for a, b in itertools.combinations(kinds, 2):
            out[frozenset((Path(a).name, Path(b).name))] = kinds[b] if kinds[a] == "representative" else kinds[a]
    return out


def test_seeds_give_one_paraphrase_cluster():
    result = scan_paths([str(SEEDS)])
    assert len(result.clusters) == 1
    (cluster,) = result.clusters
    names = sorted(Path(m.id).name[:3] for m in cluster.members)
    assert names == ["000", "001"]
    kinds = {Path(m.id).name[:3]: m.kind for m in cluster.members}
    assert "paraphrase" in kinds.values()
    assert result.stats["documents"] == 5


def test_seed_ids_are_paths_as_given():
    result = CliRunner().invoke(cli, ["scan", "seeds/", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    ids = {m["id"] for c in data["clusters"] for m in c["members"]}
    assert ids == {"seeds/000_709126cb00e08acb.txt", "seeds/001_a1b7f16f65bc66aa.txt"}


@pytest.mark.parametrize("fmt", ["json", "human"])
def test_output_is_written_with_the_collector_off_and_left_as_found(monkeypatch, fmt):
    """The cyclic collector would walk what the scan leaves each time the output's objects pile up
    (0.9 of 1.3 s of JSON at a million documents): it is off while the output is made, and the
    command leaves it as it was, not frozen (an embedding process keeps its own collection)."""
    seen: list[bool] = []
    for module, name in ((render_json, "scan_to_dict"), (human, "render_scan")):
        real = getattr(module, name)

        def spy(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            seen.append(gc.isenabled())
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    assert gc.isenabled()
    result = CliRunner().invoke(cli, ["scan", "seeds/", "--format", fmt, "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0
    assert seen == [False]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_human_output_columns_line_up(tmp_path: Path):
    for p in SEEDS.glob("*.txt"):
        shutil.copy(p, tmp_path / p.name)
    shutil.copy(next(SEEDS.glob("002_*.txt")), tmp_path / "copy_002.txt")
    (tmp_path / "記事_001.txt").write_text(seed_text("001")[:1500], encoding="utf-8")  # wide characters
    r = CliRunner().invoke(cli, ["scan", str(tmp_path), "-q"], catch_exceptions=False)
    assert r.exit_code == 0
    blocks = [b.splitlines()[1:] for b in r.stdout.strip().split("\n\n")]
    assert sorted(len(b) for b in blocks) == [2, 3]  # the paraphrase and the cut with 001, the copy with 002
    for members in blocks:
        assert len({cell_len(line[: line.index(" chars")]) for line in members}) == 1, members
        assert len({cell_len(line[: line.index(f" {m} ")]) for line in members
                    for m in ("exact", "near", "paraphrase", "representative") if f" {m} " in line}) == 1, members


def test_command_lists_are_not_cut_short():
    for args in (["--help"], ["index", "--help"]):
        out = CliRunner().invoke(cli, args).stdout
        commands = out.split("Commands:")[1].strip().splitlines()
        assert len(commands) >= 4 and not [c for c in commands if c.endswith("...")], commands


def test_summary_line_counts_in_words():
    r = CliRunner().invoke(cli, ["scan", "seeds/"], catch_exceptions=False)
    assert r.exit_code == 0
    assert "dedupe: 5 documents, 1 cluster, 1 duplicate, " in r.stderr
    assert human.counted(0, "cluster") == "0 clusters" and human.counted(2, "candidate pair") == "2 candidate pairs"


BASE = article_body(seed_text("001"))
THIRD = "\n\n".join(BASE.split("\n\n")[: max(1, len(BASE.split("\n\n")) // 3)])


@pytest.mark.parametrize(
    ("name", "variant", "kinds"),
    [
        ("exact", BASE.replace("\n", "\r\n").replace("\u2019", "'"), {"exact"}),
        ("cruft", CRUFT_TOP + BASE + CRUFT_BOTTOM, {"exact", "near"}),
        ("third", THIRD + "\n" + CRUFT_BOTTOM, {"near"}),
        ("edited", "Xinjiang report: UN cites possible crimes against humanity\n\n"
         + BASE.replace("The report calls for an urgent international response", "The report urges a swift global response"),
         {"near"}),
        ("typos", typo_noise(BASE, 0.15), {"near"}),
        ("ocr", typo_noise(BASE, 0.35, seed=3), {"near"}),
    ],
)
def test_variants_are_found(write, name: str, variant: str, kinds: set[str]):
    write("orig.txt", BASE)
    write(f"{name}.txt", variant)
    write("other.txt", seed_text("002"))
    result = scan_paths([str(write("orig.txt", BASE).parent)])
    found = pairs_of(result)
    assert found.get(frozenset(("orig.txt", f"{name}.txt"))) in kinds, found
    assert all("other.txt" not in p for p in found)


def test_rewrite_is_found_as_paraphrase(write):
    write("a.txt", seed_text("004"))
    write("b.txt", (FIXTURES / "rewrite_004.txt").read_text())
    write("c.txt", seed_text("002"))
    result = scan_paths([str(write("d.txt", seed_text("003")).parent)])
    assert pairs_of(result) == {frozenset(("a.txt", "b.txt")): "paraphrase"}


def test_same_subject_different_articles_are_not_clustered(write):
    for k in ("002", "003", "004"):
        write(f"{k}.txt", seed_text(k))
    result = scan_paths([str(write("x.txt", seed_text("000")).parent)])
    assert result.clusters == ()


def test_shared_site_boilerplate_alone_does_not_cluster(write):
    nav = "Home\nWorld\nPolitics\nBusiness\nTechnology\nSport\n"
    related = (
        "\nRelated Articles\n"
        "UN rights chief to visit China in May after years of talks with Beijing officials\n"
        "Uyghur activists call on world leaders to act on the findings of the long-awaited report\n"
        "Beijing rejects criticism of its policies in Xinjiang as interference in internal affairs\n"
        "Western diplomats say the report was ready for months before it was finally published\n"
    )
    write("a.txt", nav + seed_text("002") + related)
    write("b.txt", nav + seed_text("004") + related)
    result = scan_paths([str(write("c.txt", nav + seed_text("003") + related).parent)])
    assert result.clusters == ()
    assert scan_paths([str(write("c.txt", "").parent)], ScanConfig(clean=False)).clusters == ()


def test_results_do_not_depend_on_file_order(write, tmp_path: Path):
    texts = {"a.txt": BASE, "b.txt": typo_noise(BASE, 0.1), "c.txt": THIRD, "d.txt": seed_text("004"),
             "e.txt": (FIXTURES / "rewrite_004.txt").read_text(), "f.txt": BASE}
    for name, t in texts.items():
        write(name, t)
    order1 = [str(tmp_path / n) for n in sorted(texts)]
    order2 = list(reversed(order1))

    def strip(r):
        data = json.loads(r.stdout)
        data["stats"].pop("seconds")
        data["stats"].pop("timings")
        data["stats"].pop("peak_rss_mb")
        return data

    r1 = run("scan", *order1, "--format", "json")
    r2 = run("scan", *order2, "--format", "json")
    assert r1.exit_code == 0 and r2.exit_code == 0
    assert strip(r1) == strip(r2)
    assert len(strip(r1)["clusters"]) == 2


def test_keep_policies(write, tmp_path: Path):
    write("long.txt", BASE)
    write("short.txt", THIRD)
    for keep, expected in (("longest", "long.txt"), ("shortest", "short.txt")):
        r = run("scan", str(tmp_path), "--format", "json", "--keep", keep)
        data = json.loads(r.stdout)
        assert Path(data["clusters"][0]["representative"]).name == expected
        assert keep in data["clusters"][0]["reason"]


def test_jsonl_emit_unique_writes_input_records_unchanged(write, tmp_path: Path):
    records = [
        {"id": "r1", "text": BASE, "url": "https://a.example/1"},
        {"id": "r2", "text": seed_text("004"), "extra": [1, 2]},
        {"id": "r3", "text": CRUFT_TOP + BASE, "url": "https://b.example/9"},
        {"text": seed_text("002")},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path = write("in.jsonl", "\n".join(lines) + "\n")
    r = run("scan", str(path), "--emit", "unique", "--format", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [lines[0], lines[1], lines[3]]
    r = run("scan", str(path), "--emit", "duplicates")
    assert r.stdout.splitlines() == ["r3"]
    r = run("scan", str(path), "--format", "json")
    ids = {m["id"] for c in json.loads(r.stdout)["clusters"] for m in c["members"]}
    assert ids == {"r1", "r3"}
    r = run("scan", str(path), "--emit", "unique", "--format", "json")
    assert json.loads(r.stdout)["unique"] == ["r1", "r2", f"{path}:4"]


def test_json_shape_and_clean_stdout():
    r = run("scan", "seeds/", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert set(data) == {"version", "settings", "clusters", "stats"}
    c = data["clusters"][0]
    assert c["id"] == 1 and c["representative"] == c["members"][0]["id"]
    for m in c["members"]:
        assert set(m) >= {"id", "similarity", "kind"}
        assert 0.0 <= m["similarity"] <= 1.0
    for key in ("documents", "clusters", "duplicates", "seconds", "skipped", "candidate_pairs", "timings"):
        assert key in data["stats"]
    assert "dedupe:" in r.stderr and "dedupe:" not in r.stdout


def test_jsonl_format_is_one_cluster_per_line():
    r = run("scan", "seeds/", "--format", "jsonl")
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["id"] == 1


def test_human_output_has_no_colour_when_piped():
    r = run("scan", "seeds/")
    assert r.exit_code == 0
    assert "\x1b[" not in r.stdout
    assert "seeds/000_709126cb00e08acb.txt" in r.stdout and "paraphrase" in r.stdout


def test_check_exit_status(write, tmp_path: Path):
    assert run("scan", "seeds/", "--check").exit_code == 1
    write("a.txt", seed_text("002"))
    write("b.txt", seed_text("004"))
    assert run("scan", str(tmp_path), "--check").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "does/not/exist"], "no such file or directory"),
        (["scan", "seeds/", "--shingle", "word"], "shingle must look like"),
        (["scan", "seeds/", "--shingle", "byte:5"], "shingle kind must be one of"),
        (["scan", "seeds/", "--threshold", "1.5"], "1.5"),
        (["scan", "seeds/", "--bogus"], "No such option"),
        (["scan"], "Missing argument"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], message: str):
    r = run(*args)
    assert r.exit_code == 2
    assert r.stderr.startswith("dedupe: error:")
    assert message in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_no_paraphrase_and_char_shingles():
    r = run("scan", "seeds/", "--no-paraphrase", "--format", "json")
    assert json.loads(r.stdout)["clusters"] == []
    r = run("scan", "seeds/", "--shingle", "char:5", "--format", "json")
    assert len(json.loads(r.stdout)["clusters"]) == 1


def workers_for_every_stage(monkeypatch) -> None:
    """Make the verification stages use worker processes whenever more than one job is asked for
    (on their own they do from thousands of pairs: a small corpus would stay in one process)."""
    import dedupe.pipeline as pipeline

    for name in ("POOL_FROM_PAIRS", "POOL_FROM_SENTENCES", "POOL_FROM_ALIGN"):
        monkeypatch.setattr(pipeline, name, 0)


def test_results_do_not_depend_on_the_number_of_workers_or_the_kernels(write, tmp_path: Path, monkeypatch):
    workers_for_every_stage(monkeypatch)
    texts = [BASE, typo_noise(BASE, 0.1), THIRD, seed_text("004"), (FIXTURES / "rewrite_004.txt").read_text(),
             seed_text("002"), seed_text("003"), BASE]
    for k, t in enumerate(texts * 9):  # 72 documents: workers from 65 on
        write(f"{k:02}.txt", t if k < len(texts) else t + f"\n\nUpdate {k}: more text follows here.")
    outs = []
    for jobs, numpy_only in (("1", False), ("2", False), ("3", False), ("2", True)):
        # the compiled kernel and its NumPy fallback give the same results
        monkeypatch.setenv("DEDUPE_NO_KERNELS", "1" if numpy_only else "")
        r = run("scan", str(tmp_path), "--format", "json", "--jobs", jobs)
        assert r.exit_code == 0, r.stderr
        data = json.loads(r.stdout)
        data["stats"].pop("seconds")
        data["stats"].pop("timings")
        data["stats"].pop("peak_rss_mb")
        outs.append(data)
    assert outs[0] == outs[1] == outs[2] == outs[3]
    assert outs[0]["stats"]["clusters"] >= 2


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_stored_sentences_give_the_same_result_as_preparing_them_per_pair(write, tmp_path: Path, monkeypatch,
                                                                          jobs: str):
    import dedupe.pipeline as pipeline

    workers_for_every_stage(monkeypatch)
    texts = [BASE, typo_noise(BASE, 0.1), THIRD, seed_text("004"), (FIXTURES / "rewrite_004.txt").read_text(),
             seed_text("000"), seed_text("001"), seed_text("002"), seed_text("003")]
    for k, t in enumerate(texts * 3):
        write(f"{k:02}.txt", t + f"\n\nUpdate {k}: the story was changed here." if k >= len(texts) else t)
    outs = []
    for below in (0.0, 10.0):  # never store, always store
        monkeypatch.setattr(pipeline, "STORE_SENTENCES_BELOW", below)
        r = run("scan", str(tmp_path), "--format", "json", "--jobs", jobs)
        assert r.exit_code == 0, r.stderr
        data = json.loads(r.stdout)
        for key in ("seconds", "timings", "peak_rss_mb"):
            data["stats"].pop(key)
        outs.append(data)
    assert outs[0] == outs[1]
    assert {m["kind"] for c in outs[0]["clusters"] for m in c["members"]} >= {"paraphrase", "near"}


def test_pairs_ruled_out_by_the_stored_bounds_change_no_result(monkeypatch):
    """Documents that share a few sentences each are candidates whose sentences are stored and
    whose pairs the stored bounds mostly rule out: the results are those of aligning them."""
    import random

    from dedupe import pipeline
    from dedupe.normalize import split_sentences

    compiled_kernels()
    pool = [s for k in ("000", "001", "002", "003", "004") for s in split_sentences(seed_text(k)) if len(s) > 40]
    rng = random.Random(21)
    docs = []
    for k in range(90):  # eight sentences: two neighbours in the pool, six at random
        start = rng.randrange(len(pool) - 12)
        picked = pool[start : start + 2] + rng.sample(pool, 6)
        rng.shuffle(picked)
        docs.append(Document(f"d{k}", " ".join(picked), "mem", k))
    docs += [Document("copy", docs[0].text + " One more sentence here, added at the end.", "mem", 90)]
    decided: list[bool] = []
    may_decide = pipeline.sentences_may_decide_many

    def counting(reach, smaller, config):  # type: ignore[no-untyped-def]
        decided.extend(may_decide(reach, smaller, config).tolist())
        return may_decide(reach, smaller, config)

    def scanned() -> list[Any]:
        result = pipeline.scan_documents(docs, ScanConfig(), jobs=1)
        return [(c.representative, [(m.id, m.kind, m.measure, m.similarity) for m in c.members]) for c in result.clusters]

    monkeypatch.setattr(pipeline, "sentences_may_decide_many", counting)
    monkeypatch.setattr(pipeline, "STORE_SENTENCES_BELOW", 10.0)  # always store
    screened = scanned()
    assert decided.count(False) > 10 and decided.count(True) > 10 and screened  # both ways; clusters found
    monkeypatch.setattr(pipeline, "STORE_SENTENCES_BELOW", 0.0)  # never store: every pair aligned
    assert scanned() == screened
    monkeypatch.setattr(pipeline, "STORE_SENTENCES_BELOW", 10.0)
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")  # stored, but no compiled bounds: every pair aligned
    decided.clear()
    assert scanned() == screened and not decided


def test_rewrite_found_when_common_words_leave_the_content_index(write, tmp_path: Path):
    import random

    vocab = sorted({w for k in ("002", "003") for w in seed_text(k).split()})  # same topic as 004
    rng = random.Random(5)
    for k in range(60):  # filler articles that make the story's everyday words common
        write(f"filler{k:02}.txt", " ".join(rng.choice(vocab) for _ in range(250)) + ".")
    write("a.txt", seed_text("004"))
    write("b.txt", (FIXTURES / "rewrite_004.txt").read_text())
    config = ScanConfig(rare_word_min_docs=5, rare_word_max_share=0.05)
    result = scan_paths([str(tmp_path)], config)
    assert pairs_of(result).get(frozenset(("a.txt", "b.txt"))) == "paraphrase"
    assert result.stats["lsh_collisions"] < 200


def test_batch_sample_is_bounded_and_order_free():
    from dedupe.pipeline import sample_indices, text_key

    texts = [f"document {k}\nshared menu line" for k in range(1000)]
    keys = [text_key(t) for t in texts]
    assert sample_indices(keys, size=2000) == list(range(1000))
    sample = {texts[k] for k in sample_indices(keys, size=100)}
    assert 50 <= len(sample) <= 200
    rev = list(reversed(texts))
    assert {rev[k] for k in sample_indices([text_key(t) for t in rev], size=100)} == sample


def test_chunks_are_bounded_by_documents_and_by_bytes():
    from dedupe.pipeline import CHUNK_BYTES, _spans
    from dedupe.store import DocumentTable

    table = DocumentTable()
    sizes = [10] * 5 + [CHUNK_BYTES // 2] * 3 + [2 * CHUNK_BYTES] + [10] * 3
    for k, n in enumerate(sizes):
        table.append(Document(f"d{k}", "x" * n, "-", k))
    spans = list(_spans(table, 4))
    assert [k for a, b in spans for k in range(a, b)] == list(range(len(sizes)))
    assert all(b - a <= 4 for a, b in spans)
    assert all(sum(sizes[a:b]) <= CHUNK_BYTES or b - a == 1 for a, b in spans)
    assert [b - a for a, b in spans] == [4, 2, 2, 1, 3]  # two halves make one full chunk


def test_texts_of_a_span_are_read_in_one_call_and_are_the_documents_texts():
    from dedupe.store import DocumentTable

    table = DocumentTable()
    texts = ["", "caf\u00e9 \u201cquoted\u201d", "x" * 5000, "\ud800 lone surrogate", "last"]
    for k, text in enumerate(texts):  # JSONL records kept between some of the texts
        table.append(Document(f"d{k}", text, "x.jsonl", k, k + 1, f'{{"id": "d{k}"}}' if k % 2 else None))
    for a in range(len(texts) + 1):
        for b in range(a, len(texts) + 1):
            assert table.texts(a, b) == [table.text(k) for k in range(a, b)]
    assert table.texts(0, len(texts))[1:3] == texts[1:3]


def test_scan_keeps_texts_out_of_memory_and_reads_them_back(tmp_path):
    from dedupe.pipeline import scan_documents

    bodies = [seed_text("000"), seed_text("002")]
    docs = [Document(f"d{k}", f"Headline {k}\n\n" + bodies[k % 2], "x.jsonl", k, k + 1, f'{{"id": "d{k}"}}')
            for k in range(6)]
    result = scan_documents(iter(docs), ScanConfig())
    assert list(result.documents) == docs  # rebuilt from the temporary file, record included
    assert [d.record for d in result.documents] == [d.record for d in docs]
    assert result.stats["peak_rss_mb"] > 0


def test_scan_diff_shows_each_member_against_the_representative():
    r = run("scan", "seeds/", "--diff")
    assert r.exit_code == 0
    assert "sentences matched" in r.stdout and "\x1b[" not in r.stdout
    assert "; lines - from the representative, + from this document" in r.stdout  # which side is which
    r = run("scan", "seeds/", "--diff", "--format", "json")
    member = json.loads(r.stdout)["clusters"][0]["members"][1]
    d = member["diff"]
    assert d["alignment"] == "content" and d["member_sentences"] >= 10
    assert 0.5 <= d["matched_fraction"] <= 1.0 and len(d["first_changes"]) == 3
    assert "diff" not in json.loads(run("scan", "seeds/", "--format", "json").stdout)["clusters"][0]["members"][1]


def test_scan_and_clean_count_recurring_lines_on_the_same_sample(monkeypatch):
    """Beyond the sample size, scan and clean still remove the same batch boilerplate."""
    import dedupe.pipeline as pipeline
    from dedupe.clean import find_recurring_lines
    from dedupe.config import CleanConfig
    from dedupe.pipeline import clean_documents, prepare, read_documents

    monkeypatch.setattr(pipeline, "RECURRING_SAMPLE", 12)
    body = seed_text("002")
    docs = [Document(f"d{k}", f"Story {k} of the day\n\n{body}\n\nMore from the Evening Gazette app\n"
                     + ("Listen to the podcast\n" if k < 4 else ""), "x", k) for k in range(40)]
    cc = CleanConfig(recurring_min_docs=3, recurring_min_fraction=0.0)
    # The line in 4 of 40 documents recurs in the whole batch but not in the sample: the case
    # where counting on different sets made clean and scan disagree.
    sample = pipeline.sample_indices([pipeline.text_key(d.text) for d in docs], 12)
    assert find_recurring_lines([d.text for d in docs], cc) != find_recurring_lines([docs[k].text for k in sample], cc)
    table, keys = read_documents(docs)
    corpus = prepare(table, keys, ScanConfig(), cc)
    cleaned = clean_documents(docs, cc)
    assert [corpus.text(k) for k in range(len(docs))] == [c.text for c in cleaned]
    assert all("Evening Gazette app" not in c.text for c in cleaned)


def test_spill_reads_back_buffered_and_large_blobs():
    from dedupe.store import Spill

    spill = Spill()
    blobs = [b"a" * 10, b"", bytes(range(256)) * 5000, b"tail"]  # one blob over the 1 MB buffer
    offsets = [spill.append(b) for b in blobs]
    assert [spill.read(o, len(b)) for o, b in zip(offsets, blobs)] == blobs  # read flushes as needed
    more = spill.append(b"later")
    assert spill.read(more, 5) == b"later" and spill.read(offsets[0], 10) == b"a" * 10
    spill.close()


def _append_in_child(spill, blob: bytes, conn) -> None:
    conn.send(spill.append_shared(blob))


def test_spill_shared_appends_from_forked_processes_do_not_overlap():
    """Processes forked after share() append to the same file at the same time (the sentences of
    candidate documents, written by the workers that prepared them): every blob reads back whole."""
    import multiprocessing

    from dedupe.store import Spill

    ctx = multiprocessing.get_context("fork")
    spill = Spill()
    first = spill.append(b"before")  # buffered: share() writes it first
    spill.share(ctx)
    blobs = [bytes([k]) * (1000 + 37 * k) for k in range(24)]
    children = []
    for blob in blobs:
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_append_in_child, args=(spill, blob, theirs))
        proc.start()
        children.append((proc, ours))
    mine = spill.append(b"from the parent")  # append() goes through the shared end too
    offsets = [conn.recv() for _, conn in children]
    for proc, _ in children:
        proc.join()
        assert proc.exitcode == 0
    spill.unshare()
    assert spill.size == 6 + len(b"from the parent") + sum(map(len, blobs))
    assert [spill.read(o, len(b)) for o, b in zip(offsets, blobs)] == blobs
    assert spill.read(first, 6) == b"before" and spill.read(mine, 15) == b"from the parent"
    assert spill.read(spill.append(b"after"), 5) == b"after"  # buffered appends again
    spill.close()


@pytest.mark.parametrize("clean", [True, False])
def test_texts_read_back_are_the_cleaned_ones_whether_cleaning_changed_them_or_not(clean: bool):
    """A text that cleaning leaves as it is is read back from the documents' own file, not stored
    twice; either way the corpus gives back exactly the cleaned text."""
    from dedupe.config import CleanConfig
    from dedupe.pipeline import clean_documents, prepare, read_documents

    prose = seed_text("002").split("\n", 1)[1].replace("Exit mobile version", "").strip()  # the article alone
    texts = [f"Headline number {k} of the day\n\n{prose}\n" if k % 2 else
             f"Share this\n\nHeadline number {k} of the day\n\n{prose}\n\nAdvertisement\n" for k in range(80)]
    texts[3] = texts[3].replace("\n", "\r\n")  # other line endings
    docs = [Document(f"d{k}", t, "x", k) for k, t in enumerate(texts)]
    table, keys = read_documents(docs)
    cc = CleanConfig(recurring_min_docs=0)  # the same article in every document: its subheadings would recur
    corpus = prepare(table, keys, ScanConfig(clean=clean), cc, jobs=2)
    expected = [c.text for c in clean_documents(docs, cc)] if clean else texts
    assert [corpus.text(k) for k in range(len(docs))] == expected
    unchanged = [k for k in range(len(docs)) if expected[k] == texts[k]]
    assert len(unchanged) >= (39 if clean else 80)
    assert all(corpus._n_text[k] == -1 for k in unchanged)  # not stored again
    assert all(corpus._n_text[k] >= 0 for k in range(len(docs)) if k not in unchanged)


@pytest.mark.parametrize(("shingle", "native"), [("word:5", True), ("word:5", False), ("char:5", True)])
def test_fingerprints_after_the_sentences_overwrite_the_sets_are_the_stored_ones(shingle: str, native: bool,
                                                                                monkeypatch):
    """The stored sentences are written over the sets (shingles, rare content words) in the same
    file; from then on a fingerprint is made again from the text: the same digest, length, shingles
    and rare content words as the ones the workers stored, whether cleaning changed the text or not."""
    import os

    from dedupe.config import CleanConfig, ShingleSpec
    from dedupe.pipeline import _context, prepare, read_documents

    if native:
        compiled_kernels()
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "" if native else "1")
    texts = [article_body(seed_text(f"{k % 5:03}")) for k in range(90)]  # over 64: in worker processes
    texts = [CRUFT_TOP + t + CRUFT_BOTTOM if k % 3 == 0 else typo_noise(t, 0.02 * (k % 4)) + f" Note {k}."
             for k, t in enumerate(texts)]
    docs = [Document(f"d{k}", t, "x", k) for k, t in enumerate(texts)]
    table, keys = read_documents(docs)
    # words in more than 2 of the 90 documents are common: left out of the rare content words
    config = ScanConfig(shingle=ShingleSpec.parse(shingle), rare_word_min_docs=2)
    corpus = prepare(table, keys, config, CleanConfig(recurring_min_docs=0), jobs=2)
    assert corpus.common is not None and len(corpus.common)
    assert any(corpus._n_text >= 0) and any(corpus._n_text < 0)  # some texts changed by cleaning, some not
    n = len(docs)
    before = [corpus.fingerprint(k) for k in range(n)]
    assert sum(len(fp.content) > 0 for fp in before) >= n // 3  # and some rare ones
    texts_before = [corpus.text(k) for k in range(n)]
    size = os.fstat(corpus.spill.fileno()).st_size
    corpus._fps.clear()
    corpus.share_sentences(_context())
    blob = -(-size // n)
    try:
        at = corpus.append_sentences([b"\xff" * blob] * n)  # all of the sets are overwritten
    finally:
        corpus.close_sentences()
    corpus.stored_sentences(list(range(n)), at, np.full(n, blob))
    assert at == 0 and os.fstat(corpus.spill.fileno()).st_size == n * blob < size + n
    for read_sets in (lambda: corpus._shingles(0), lambda: corpus._content(0),
                      lambda: corpus.common_shingles(np.array([1], dtype=np.int64))):
        with pytest.raises(RuntimeError):
            read_sets()
    after = [corpus.fingerprint(k) for k in range(n)]
    assert [len(fp.shingles) for fp in after] == corpus.n_shingles.tolist()
    assert [len(fp.content) for fp in after] == corpus._n_content.tolist()
    for a, b in zip(before, after):
        assert (a.index, a.digest, a.length) == (b.index, b.digest, b.length)
        assert np.array_equal(a.shingles, b.shingles) and np.array_equal(a.content, b.content)
    assert [corpus.text(k) for k in range(n)] == texts_before
    corpus.close()


def test_spill_background_writes_read_back_and_report_errors(monkeypatch):
    """Full buffers are written by a thread while appends go on; reads and flush wait for it, and
    a write error (a full disk) reaches the owner as SpillError, at the latest on flush."""
    import errno
    import os

    from dedupe.store import Spill, SpillError

    spill = Spill()
    blobs = [bytes([k % 251]) * (300_000 + k) for k in range(40)]  # 12 MB: several background writes
    offsets = [spill.append(b) for b in blobs]
    assert spill._writer is not None  # writing while we append
    assert [spill.read(o, len(b)) for o, b in zip(offsets, blobs)] == blobs
    assert spill._writer is None  # the read waited for it, and it is gone
    huge = spill.append(b"h" * (9 << 20))  # one huge document: written at once, not queued
    assert spill._writer is None and spill.read(huge + (9 << 20) - 3, 3) == b"hhh"
    spill.close()

    spill = Spill()
    real = os.pwrite

    def full_disk(fd, data, offset):
        if offset >= 2_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full_disk)
    with pytest.raises(SpillError, match="No space left"):
        for b in blobs:
            spill.append(b)
        spill.flush()
    spill.close()


def test_text_keys_of_read_documents_are_text_key():
    """read_documents hashes the texts it has encoded for the table: the keys are text_key's, in input
    order (lone surrogates and non-ASCII included)."""
    from dedupe.pipeline import read_documents, text_key

    for count in (3, 2000):
        docs = [Document(f"d{k}", f"text {k} " + "word " * (k % 700) + "\udc80é", "x", k) for k in range(count)]
        table, keys = read_documents(docs)
        assert keys == [text_key(d.text) for d in docs]
        assert len(table) == count


def test_a_failed_read_leaves_no_writer_thread_behind():
    """Reading stops with an error after megabytes of text (a library caller's generator fails):
    the table's writer thread stops and its temporary file is closed at once."""
    import threading

    from dedupe.pipeline import read_documents

    def documents():
        for k in range(3000):
            yield Document(f"d{k}", f"document {k} " + "word " * 300, "x", k)
        raise ValueError("the caller's input broke")

    with pytest.raises(ValueError, match="input broke"):
        read_documents(documents())
    assert not [t for t in threading.enumerate() if t.name == "dedupe-spill-writer"]


def test_spill_unshare_does_not_wait_for_the_lock_of_a_killed_appender():
    """A worker killed while it held the shared end's lock (pool.terminate() on Ctrl-C) leaves the
    lock taken: unshare() in the parent must not wait for it."""
    import multiprocessing
    import os
    import signal

    from dedupe.store import Spill

    ctx = multiprocessing.get_context("fork")
    spill = Spill()
    spill.share(ctx)
    spill.append_shared(b"abc")

    def die_holding_the_lock():
        spill._end.get_lock().acquire()
        os.kill(os.getpid(), signal.SIGKILL)

    proc = ctx.Process(target=die_holding_the_lock)
    proc.start()
    proc.join()
    import threading

    done = threading.Thread(target=spill.unshare, daemon=True)  # would block for good if it took the lock
    done.start()
    done.join(10)
    assert not done.is_alive()
    assert spill.size == 3 and spill.read(0, 3) == b"abc"
    spill.close()


_INDENTED_CASES = [
    {"a": [1, 2, {}], "b": {}, "c": [], "d": "é\n\"\x01\u2028", "e": None, "f": True, "g": -0.0, "h": 0.8},
    {"small": 1e-05, "tiny": -3e-07},  # floats orjson writes otherwise ("0.00001", "-3e-7")
    {"large": 1e16, "larger": 1.2345678901234568e17, "edge": 0.0001, "up": 9999999999999998.0},
    {"id": 2**64},  # an integer beyond 64 bits
    {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},  # orjson: null
    {"none": None, "value": 0.5},
    {"surrogate": "a\ud800b"},
    {1: "int key"},
    {"text": "looks like a number: 0.00001, [1e-5"},
    [[], [{}], "x"],
]


@pytest.mark.parametrize("obj", _INDENTED_CASES)
def test_indented_json_is_json_dumps_byte_for_byte(obj):
    from dedupe.render.json import dumps_indented

    assert dumps_indented(obj) == json.dumps(obj, ensure_ascii=False, indent=2)


def test_indented_scan_json_is_written_by_orjson_as_json_would(monkeypatch):
    """A scan's JSON (similarities, timings, unicode ids) goes the fast way, with json's bytes."""
    from dedupe.pipeline import settings_summary
    from dedupe.render import json as render_json

    result = scan_paths([str(SEEDS)], ScanConfig())
    obj = render_json.scan_to_dict(result, settings_summary(ScanConfig()))
    want = json.dumps(obj, ensure_ascii=False, indent=2)
    monkeypatch.setattr(render_json.json, "dumps", lambda *a, **k: pytest.fail("json.dumps used"))
    assert render_json.dumps_indented(obj) == want


def test_installed_version_is_importlib_metadatas(tmp_path, monkeypatch):
    """The versions JSON output reports are importlib.metadata's, found without importing it where a
    directory on sys.path holds one dist-info of the name; other layouts are left to it."""
    import importlib.metadata

    from dedupe.pipeline import installed_version

    def dist(folder: str, info: str, version: str, meta: str = "METADATA") -> None:
        (tmp_path / folder / info).mkdir(parents=True)
        (tmp_path / folder / info / meta).write_text(f"Metadata-Version: 2.1\nName: x\nVersion: {version}\n\nBody\n")

    for name in ("datasketch", "numpy", "rapidfuzz", "click"):
        assert installed_version(name) == importlib.metadata.version(name)
    dist("plain", "Some_Dist-1.2.3.dist-info", "1.2.3")
    (tmp_path / "plain" / "some_dist-9.9.9.dist-info.txt").write_text("not a dist-info")
    dist("plain", "odd_dist-1.0.0rc1.dist-info", "1.0.0-rc1")  # the directory's name normalized, METADATA not
    dist("new", "old_dist-1.0.dist-info", "1.0")
    dist("egg", "old_dist-0.9-py3.11.egg-info", "0.9", meta="PKG-INFO")  # first on the path: it wins
    dist("two", "twice-1.0.dist-info", "1.0")
    dist("two", "Twice-2.0.dist-info", "2.0")
    for folder in ("new", "egg", "plain", "two"):
        monkeypatch.syspath_prepend(str(tmp_path / folder))
    for name, want in (("some-dist", "1.2.3"), ("Some.Dist", "1.2.3"), ("some__dist", "1.2.3"),
                       ("odd-dist", "1.0.0-rc1"), ("old-dist", "0.9"), ("twice", None)):
        assert installed_version(name) == importlib.metadata.version(name)
        assert want is None or installed_version(name) == want
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        installed_version("no-such-distribution-here")


def test_one_job_fingerprinting_keeps_no_worker_state():
    """Run in this process, the fingerprint stage leaves nothing behind: the signatures are freed
    with the corpus's, before the content index is banded (half a gigabyte at a million documents)."""
    from dedupe import pipeline

    docs = [Document(f"d{k}", seed_text(f"{k % 5:03}") + f" Copy {k}.", "mem", k) for k in range(20)]
    table, keys = pipeline.read_documents(docs)
    corpus = pipeline.prepare(table, keys, ScanConfig(), jobs=1)
    assert corpus.shingle_sigs.any()
    assert pipeline._W.get("signatures") is None and pipeline._W.get("table") is None
    corpus.close()


@pytest.mark.parametrize("often", [True, False])  # emptied at every document, or every few
@pytest.mark.parametrize("native", [True, False])
def test_a_vocabulary_emptied_within_a_chunk_gives_the_same_fingerprints(native, often, monkeypatch):
    """The fingerprint stage looks a chunk's token ids up after its last document: a vocabulary
    emptied in between (it is bounded) must not change them."""
    from dedupe import pipeline
    from dedupe.normalize import content_form
    from dedupe.similarity import shingle

    if native:
        compiled_kernels()
    monkeypatch.setenv("DEDUPE_NO_KERNELS", "" if native else "1")
    docs = [Document(f"d{k}", seed_text(f"{k % 5:03}") + f" Copy {k} with words{k} of its own.", "mem", k)
            for k in range(30)]

    def prepared(limit: int | None) -> tuple[np.ndarray, list[Any]]:
        vocab = shingle.Vocabulary(content_form, native=native) if limit is None else \
            shingle.Vocabulary(content_form, limit=limit, native=native)
        monkeypatch.setitem(shingle._VOCABS, native, vocab)
        table, keys = pipeline.read_documents(docs)
        corpus = pipeline.prepare(table, keys, ScanConfig(), jobs=1)
        out = corpus.shingle_sigs.copy(), [corpus.fingerprint(k) for k in range(len(docs))]
        emptied = vocab.generation
        corpus.close()
        return out, emptied

    (sigs, fps), _ = prepared(None)
    # The compiled table makes room for a text's bytes / 2 new tokens, the Python one for its tokens.
    limit = {(True, True): 400, (True, False): 2500, (False, True): 150, (False, False): 600}[native, often]
    (small_sigs, small_fps), emptied = prepared(limit)
    assert emptied > 3
    assert np.array_equal(sigs, small_sigs)
    for a, b in zip(fps, small_fps):
        assert a.digest == b.digest and np.array_equal(a.shingles, b.shingles) and np.array_equal(a.content, b.content)


def test_reuse_freed_memory_keeps_large_blocks_for_reuse():
    """The CLI's scan sets glibc's malloc to serve large blocks from the heap and keep them when
    freed (on a VM, fresh pages cost as much as the work in them): a freed 64 MB block stays
    resident (by default it is unmapped at once)."""
    import platform
    import subprocess
    import sys

    code = (
        "import os, numpy as np\n"
        "from dedupe.pipeline import reuse_freed_memory\n"
        "applied = reuse_freed_memory()\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') >> 20\n"
        "before = rss(); a = np.ones(8 << 20); del a\n"
        "print(applied, rss() - before)\n"
    )
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    applied, kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.split()
    assert applied == "True" and int(kept) >= 60
    default = subprocess.run([sys.executable, "-c", code.replace("applied = reuse_freed_memory()", "applied = True")],
                             capture_output=True, text=True, check=True).stdout.split()
    assert int(default[1]) < 8  # without it, the block went back at once


@pytest.mark.parametrize("entry", ["paths", "documents"])
def test_scan_pauses_the_cycle_collector_and_restores_it(tmp_path, entry):
    """The collector is off while a scan runs (in its workers too: they are forked inside), and as
    it was afterwards, also when the scan fails."""
    import gc

    from dedupe.errors import InputError
    from dedupe.pipeline import scan_documents

    (tmp_path / "a.txt").write_text("One article about the river and the town. " * 20, encoding="utf-8")
    (tmp_path / "b.txt").write_text("One article about the river and the town. " * 20, encoding="utf-8")
    seen: list[bool] = []

    def progress(stage: str, done: int, total: int) -> None:
        seen.append(gc.isenabled())

    def scan(progress: Any = None, empty: bool = False) -> Any:
        if entry == "paths":
            return scan_paths([str(tmp_path / ("none" if empty else ""))], progress=progress)
        docs = [] if empty else [Document(p.name, p.read_text(encoding="utf-8"), str(p), None, k)
                                 for k, p in enumerate(sorted(tmp_path.iterdir()))]
        return scan_documents(docs, progress=progress)

    for was in (True, False):
        (gc.enable if was else gc.disable)()
        try:
            seen.clear()
            assert len(scan(progress).clusters) == 1
            assert seen and not any(seen) and gc.isenabled() is was
            with pytest.raises(InputError):
                scan(empty=True)
            assert gc.isenabled() is was
        finally:
            gc.enable()
