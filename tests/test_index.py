"""The persistent index, against both backends: a real SQLite file and a real redis-server."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import CRUFT_BOTTOM, CRUFT_TOP, SEEDS, article_body, compiled_kernels, seed_text, typo_noise
from dedupe.cli import cli
from dedupe.index import open_index

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def ok(*args: str):
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    return r


def dedupe_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dedupe", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """A real redis-server on 127.0.0.1 and a free port; fails instead of skipping when CI=true."""
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    try:
        import redis
    except ImportError:  # pragma: no cover
        redis = None
    if exe is None or redis is None:
        why = "redis-server not installed" if exe is None else "redis package not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Redis cannot start: {why}")
        pytest.skip(why)
    workdir = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    else:
        proc.poll()
    try:
        client.ping()
    except redis.ConnectionError:
        proc.kill()
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but redis-server did not start")
        pytest.skip("redis-server did not start")
    yield port
    client.close()
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path):
    """``make()`` returns a new, empty index location of the parametrized backend."""
    if request.param == "sqlite":
        counter = iter(range(1000))
        yield lambda: str(tmp_path / f"index{next(counter)}.db")
    else:
        port = request.getfixturevalue("redis_server")
        yield lambda: f"redis://127.0.0.1:{port}/0?prefix=t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def corpus(write):
    """Five seed articles plus a near copy (cruft), a noisy copy and a cut reprint."""
    paths = {}
    for p in sorted(SEEDS.glob("*.txt")):
        paths[p.stem[:3]] = write(f"corpus/{p.name}", p.read_text(encoding="utf-8"))
    body2 = article_body(seed_text("002"))
    paths["near"] = write("corpus/near_002.txt", CRUFT_TOP + body2 + CRUFT_BOTTOM)
    paths["noisy"] = write("corpus/noisy_003.txt", typo_noise(article_body(seed_text("003")), 0.08))
    paras = article_body(seed_text("004")).split("\n\n")
    paths["cut"] = write("corpus/cut_004.txt", "\n\n".join(paras[: max(2, len(paras) * 2 // 3)]))
    return paths


def stats(location: str) -> dict:
    return json.loads(ok("index", "stats", "--index", location, "--format", "json").stdout)


def clusters(*args: str) -> list:
    return json.loads(ok("scan", *args, "--format", "json", "-q").stdout)["clusters"]


def test_a_command_that_finds_no_document_leaves_no_index(backend, corpus, tmp_path: Path):
    """A mistyped path must not create the index with this command's settings (which the next,
    right, command would then be refused for asking otherwise)."""
    location = backend()
    missing = str(tmp_path / "nosuch.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01 not text")
    for path, said in ((missing, "no such file or directory"), (str(binary), "(1 input skipped): ")):
        for command in (["index", "add"], ["index", "query", "--add"]):
            r = run(*command, path, "--index", location)
            assert r.exit_code == 2 and said in r.stderr, r.stderr
            assert "no index at" in run("index", "stats", "--index", location).stderr
            assert location.startswith("redis://") or not Path(location).exists()
    assert f"no documents to add (1 input skipped): {binary}: binary file" in run(
        "index", "add", str(binary), "--index", location).stderr
    ok("index", "add", str(corpus["000"]), "--index", location, "--num-perm", "64", "--shingle", "word:4")
    settings = stats(location)["settings"]
    assert settings["num_perm"] == 64 and settings["shingle"] == "word:4"
    # An index that exists reports its own trouble before any input is read.
    r = run("index", "add", str(binary), "--index", location, "--num-perm", "128")
    assert r.exit_code == 2 and "other settings" in r.stderr and "no documents" not in r.stderr
    r = run("index", "query", missing, "--index", str(tmp_path / "none.db"))
    assert r.exit_code == 2 and "no index at" in r.stderr


def test_stats_for_people_in_two_columns(tmp_path: Path, corpus):
    loc = str(tmp_path / "i.db")
    ok("index", "add", str(corpus["000"]), "--index", loc, "-q")
    lines = ok("index", "stats", "--index", loc).stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["index", "documents", "characters", "bytes", "band entries",
                                                      "settings"]
    assert len({len(line) - len(line[line.index("  "):].lstrip()) for line in lines}) == 1  # values line up


def test_add_stats_and_readd_is_an_update(backend, corpus, tmp_path: Path):
    loc = backend()
    folder = str(Path(corpus["000"]).parent)
    r = ok("index", "add", folder, "--index", loc, "--format", "json", "-q")
    added = json.loads(r.stdout)
    assert (added["added"], added["updated"], added["index_documents"]) == (8, 0, 8)
    info = stats(loc)
    assert info["documents"] == 8
    assert info["settings"]["num_perm"] == 128 and info["settings"]["shingle"] == "word:5"
    assert info["settings"]["scheme"] == "affine32" and "datasketch" in info["settings"]
    again = json.loads(ok("index", "add", folder, "--index", loc, "--format", "json", "-q").stdout)
    assert (again["added"], again["updated"], again["unchanged"], again["batches"]) == (0, 0, 8, 0)
    Path(corpus["cut"]).write_text("A completely different short story about the harbour ferry.\n", encoding="utf-8")
    changed = json.loads(ok("index", "add", folder, "--index", loc, "--format", "json", "-q").stdout)
    assert (changed["added"], changed["updated"], changed["unchanged"]) == (0, 1, 7)
    assert stats(loc)["documents"] == 8
    # The replaced version is what the index now holds: the cut reprint no longer clusters with 004.
    members = {m["id"] for c in clusters("--index", loc) for m in c["members"]}
    assert corpus["cut"].as_posix() not in members and str(corpus["cut"]) not in members


def test_scan_index_equals_scan_of_the_files(backend, corpus):
    loc = backend()
    folder = str(Path(corpus["000"]).parent)
    ok("index", "add", folder, "--index", loc, "-q")
    from_files = clusters(folder)
    assert len(from_files) >= 3
    assert clusters("--index", loc) == from_files


def test_query_reports_matches_with_the_kind_scan_gives(backend, corpus, write):
    loc = backend()
    ok("index", "add", str(corpus["002"]), str(corpus["003"]), str(corpus["000"]), "--index", loc, "-q")
    q1 = corpus["near"]
    q2 = write("new/unrelated.txt", "The council approved a new budget for the city's libraries on Tuesday, "
               "after a long debate about opening hours and staff. " * 3)
    r = ok("index", "query", str(q1), str(q2), str(corpus["001"]), "--index", loc, "--format", "json", "-q")
    out = json.loads(r.stdout)
    assert set(out) >= {"version", "settings", "clusters", "documents", "stats"}
    by_id = {d["id"]: d for d in out["documents"]}
    assert [d["id"] for d in out["documents"]] == [str(q1), str(q2), str(corpus["001"])]
    near = by_id[str(q1)]["matches"]
    assert [m["id"] for m in near] == [str(corpus["002"])]
    assert by_id[str(q2)]["matches"] == []
    # Each kind is what scan says of the same pair.
    for doc in out["documents"]:
        for m in doc["matches"]:
            pair = clusters(m["id"], doc["id"])
            kinds = {x["id"]: x["kind"] for x in pair[0]["members"]}
            assert m["kind"] == (kinds[doc["id"]] if kinds[doc["id"]] != "representative" else kinds[m["id"]])
    assert by_id[str(corpus["001"])]["matches"][0]["kind"] == "paraphrase"  # 001 rewrites 000
    assert out["stats"]["documents"] == 3 and out["stats"]["index_documents"] == 3
    assert out["stats"]["matched"] == 2 and out["stats"]["new"] == 1 and out["stats"]["added"] == 0
    assert stats(loc)["documents"] == 3  # query alone adds nothing
    jsonl = [json.loads(line) for line in ok("index", "query", str(q1), "--index", loc, "--format", "jsonl",
                                             "-q").stdout.splitlines()]
    assert jsonl[0]["id"] == str(q1) and jsonl[0]["matches"][0]["kind"] == "near"
    assert ok("index", "query", str(q2), str(q1), "--index", loc, "--emit", "unique", "-q").stdout == f"{q2}\n"
    assert run("index", "query", str(q1), "--index", loc, "--check", "-q").exit_code == 1
    assert run("index", "query", str(q2), "--index", loc, "--check", "-q").exit_code == 0


def test_a_document_does_not_match_its_own_older_version(backend, corpus):
    loc = backend()
    ok("index", "add", str(corpus["002"]), "--index", loc, "-q")
    out = json.loads(ok("index", "query", str(corpus["002"]), "--index", loc, "--format", "json", "-q").stdout)
    assert out["documents"][0]["matches"] == []


def test_query_add_checks_each_document_against_everything_before_it(backend, corpus):
    loc = backend()
    ok("index", "add", str(corpus["000"]), "--index", loc, "-q")
    r = ok("index", "query", str(corpus["002"]), str(corpus["near"]), str(corpus["001"]), "--index", loc, "--add",
           "--format", "json", "-q")
    docs = {d["id"]: d["matches"] for d in json.loads(r.stdout)["documents"]}
    assert docs[str(corpus["002"])] == []
    assert [(m["id"], m["from_run"]) for m in docs[str(corpus["near"])]] == [(str(corpus["002"]), True)]
    assert [(m["id"], m["from_run"]) for m in docs[str(corpus["001"])]] == [(str(corpus["000"]), False)]
    assert stats(loc)["documents"] == 4
    # The next day: the same copy is now found in the index.
    again = json.loads(ok("index", "query", str(corpus["near"]), "--index", loc, "--format", "json", "-q").stdout)
    assert again["documents"][0]["matches"][0]["from_run"] is False


def test_remove(backend, corpus):
    loc = backend()
    ok("index", "add", str(corpus["002"]), str(corpus["near"]), "--index", loc, "-q")
    assert len(clusters("--index", loc)) == 1
    r = ok("index", "remove", str(corpus["near"]), "no/such/id", "--index", loc)
    assert r.stdout == f"{corpus['near']}\n" and "not in the index: no/such/id" in r.stderr
    assert "dedupe: removed 1 of the 2 ids given" in r.stderr
    assert "removed 0 of the 1 id given" in ok("index", "remove", "no/such/id", "--index", loc).stderr
    assert stats(loc)["documents"] == 1
    assert clusters("--index", loc) == []
    out = json.loads(ok("index", "query", str(corpus["near"]), "--index", loc, "--format", "json", "-q").stdout)
    assert out["documents"][0]["matches"][0]["id"] == str(corpus["002"])


def test_other_settings_are_refused(backend, corpus):
    loc = backend()
    ok("index", "add", str(corpus["000"]), "--index", loc, "-q")
    r = run("index", "add", str(corpus["001"]), "--index", loc, "--num-perm", "64", "--shingle", "char:5")
    assert r.exit_code == 2
    assert "dedupe: error: index" in r.stderr and "num_perm=128 (asked: 64)" in r.stderr
    assert "shingle=word:5 (asked: char:5)" in r.stderr
    assert stats(loc)["documents"] == 1
    # Same values given explicitly are fine.
    ok("index", "add", str(corpus["001"]), "--index", loc, "--num-perm", "128", "-q")
    rules = Path(corpus["000"]).parent.parent / "rules.toml"
    rules.write_text('phrases = ["Read more"]\n', encoding="utf-8")
    r = run("index", "query", str(corpus["002"]), "--index", loc, "--rules", str(rules))
    assert r.exit_code == 2 and "clean_rules=default" in r.stderr


def _tamper_settings(loc: str, **changes: object) -> None:
    idx = open_index(loc)
    settings = idx.read_settings()
    assert settings is not None
    settings.update(changes)
    if loc.startswith("redis://"):
        idx._r.set(idx._key("settings"), json.dumps(settings))  # type: ignore[attr-defined]
    else:
        idx._db.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (json.dumps(settings),))  # type: ignore[attr-defined]
    idx.close()


def test_index_of_another_version_is_refused(backend, corpus):
    loc = backend()
    ok("index", "add", str(corpus["000"]), "--index", loc, "-q")
    _tamper_settings(loc, dedupe="0.0.1")
    for args in (("index", "add", str(corpus["001"])), ("index", "query", str(corpus["001"]))):
        r = run(*args, "--index", loc)
        assert r.exit_code == 2
        assert "made by dedupe 0.0.1" in r.stderr and "rebuild it" in r.stderr
    assert stats(loc)["documents"] == 1


def test_errors(backend, tmp_path: Path, corpus):
    loc = backend()
    r = run("index", "query", str(corpus["000"]), "--index", loc)
    assert r.exit_code == 2 and "dedupe: error: no index at" in r.stderr
    r = run("index", "stats", "--index", "ftp://host/x")
    assert r.exit_code == 2 and "file path or redis://" in r.stderr
    r = run("scan", str(corpus["000"]), "--index", loc)
    assert r.exit_code == 2 and "not both" in r.stderr
    ok("index", "add", str(corpus["000"]), "--index", loc, "-q")
    r = run("scan", "--index", loc, "--num-perm", "64")
    assert r.exit_code == 2 and "--num-perm cannot be used with --index" in r.stderr
    bogus = tmp_path / "bogus.db"
    bogus.write_text("not sqlite at all " * 100, encoding="utf-8")
    r = run("index", "stats", "--index", str(bogus))
    assert r.exit_code == 2 and "not a dedupe index" in r.stderr


def test_redis_keys_are_raw_ids_not_pickles(redis_server, corpus):
    import redis

    prefix = "raw" + uuid.uuid4().hex[:8]
    loc = f"redis://127.0.0.1:{redis_server}/0?prefix={prefix}"
    ok("index", "add", str(corpus["000"]), "--index", loc, "-q")
    client = redis.Redis(port=redis_server)
    keys = client.hkeys(f"{prefix}:lsh:shingle_keys".encode())
    assert keys == [str(corpus["000"]).encode()]
    bucket = client.smembers(client.hvals(f"{prefix}:lsh:shingle_bucket_".encode() + b"\x00\x00")[0])
    assert bucket == {str(corpus["000"]).encode()}


# ---------------------------------------------------------------------------------------------
# Concurrency and crashes (real processes)
# ---------------------------------------------------------------------------------------------
def _generated(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` distinct articles mixed from the seeds' sentences, a fifth of them edited copies of others."""
    import re

    sentences = [s for p in sorted(SEEDS.glob("*.txt")) for s in re.split(r"(?<=[.!?])\s+", article_body(
        p.read_text(encoding="utf-8"))) if len(s.split()) >= 6]
    rng = random.Random(seed)
    docs: list[dict[str, str]] = []
    for k in range(n):
        if k % 5 == 4:
            src = docs[rng.randrange(len(docs))]["text"].split("\n\n")
            text = "\n\n".join(src[:-1]) + "\n\nShare this article\n"
        else:
            # Most longer words made up, so that unrelated documents share little but stopwords.
            paras = (" ".join(rng.sample(sentences, 3)) for _ in range(rng.randint(4, 7)))
            text = "\n\n".join(re.sub(r"\b[a-z]{4,}\b", lambda m: m.group(0) if rng.random() < 0.4 else "".join(
                rng.choice("bcdfglmnprstvz") + rng.choice("aeiou") for _ in range(3)), p) for p in paras)
        docs.append({"id": f"d{k:04d}", "text": text})
    return docs


def _write_jsonl(path: Path, docs: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def test_two_concurrent_writers(backend, tmp_path: Path):
    docs = _generated(120, seed=3)
    a = _write_jsonl(tmp_path / "a.jsonl", docs[0::2])
    b = _write_jsonl(tmp_path / "b.jsonl", docs[1::2])
    shared = backend()
    procs = [subprocess.Popen(dedupe_cmd("index", "add", str(p), "--index", shared, "--batch-size", "4", "-q"),
                              cwd=ROOT, stderr=subprocess.PIPE, text=True) for p in (a, b)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    sequential = backend()
    ok("index", "add", str(a), "--index", sequential, "--batch-size", "4", "-q")
    ok("index", "add", str(b), "--index", sequential, "--batch-size", "4", "-q")
    assert stats(shared)["documents"] == stats(sequential)["documents"] == 120
    together = clusters("--index", shared)
    assert len(together) >= 10
    assert together == clusters("--index", sequential)


def test_sqlite_survives_kill_9_mid_add_and_a_rerun_completes(tmp_path: Path):
    docs = _generated(800, seed=5)
    src = _write_jsonl(tmp_path / "docs.jsonl", docs)
    db = tmp_path / "killed.db"
    proc = subprocess.Popen(dedupe_cmd("index", "add", str(src), "--index", str(db), "--batch-size", "10", "-q"),
                            cwd=ROOT, stderr=subprocess.DEVNULL)
    seen = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
                    seen = con.execute("SELECT count(*) FROM docs").fetchone()[0]
            except sqlite3.OperationalError:
                seen = 0
        if seen >= 50:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the add finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = con.execute("SELECT count(*) FROM docs").fetchone()[0]
    assert 50 <= n < 800 and n % 10 == 0  # whole batches only
    filed = sum(len(b) // 10 for (b,) in con.execute("SELECT bands FROM docs"))
    assert con.execute("SELECT count(*) FROM bands").fetchone()[0] == filed
    assert con.execute("SELECT count(*) FROM bands WHERE doc NOT IN (SELECT doc FROM docs)").fetchone()[0] == 0
    con.close()
    assert stats(str(db))["documents"] == n  # readable by dedupe

    rerun = json.loads(ok("index", "add", str(src), "--index", str(db), "--batch-size", "10", "--format", "json",
                          "-q").stdout)
    assert rerun["unchanged"] == n and rerun["added"] == 800 - n and rerun["index_documents"] == 800
    clean = tmp_path / "clean.db"
    ok("index", "add", str(src), "--index", str(clean), "--batch-size", "10", "-q")

    def content(path: Path) -> list:
        with sqlite3.connect(path) as c:
            return c.execute("SELECT id, digest, length, text, shingles, content FROM docs ORDER BY id").fetchall()

    assert content(db) == content(clean)


def test_sqlite_index_waits_for_another_process_creating_it(tmp_path: Path):
    """Two `index add` creating the same index at once: the second opens the file while the first
    holds the write lock of a fresh (not yet WAL) database, and must wait, not fail as "locked"."""
    import threading

    from dedupe.index.sqlite import SQLiteIndex

    path = tmp_path / "new.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("BEGIN IMMEDIATE")
    first.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    release = threading.Timer(0.5, lambda: first.execute("COMMIT"))
    release.start()
    try:
        index = SQLiteIndex(str(path), create=True)
        index.close()
    finally:
        release.join()
        first.close()


@pytest.mark.parametrize("create", [True, False])
def test_sqlite_index_locked_past_the_timeout_says_locked_not_foreign(tmp_path: Path, create: bool):
    """Another connection holds an exclusive lock (rollback journal) for longer than the index waits:
    the error names the lock, not 'not a dedupe index'; the file is left as it was."""
    from dedupe.index.base import IndexStoreError
    from dedupe.index.sqlite import SQLiteIndex

    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(IndexStoreError) as info:
            SQLiteIndex(str(path), create=create, timeout=0.3)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(info.value)
    assert "locked by another process" in message and "timeout 0.3 s" in message
    assert "not a dedupe index" not in message
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("meta",)]


def test_sqlite_file_of_another_program_with_a_meta_table_is_not_an_index(tmp_path: Path):
    """A database that happens to have a 'meta' table but not the index's other tables is refused
    as such (it was an internal error once a command reached for the missing table)."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    r = CliRunner().invoke(cli, ["index", "stats", "--index", str(path)])
    assert r.exit_code == 2
    assert r.stderr.strip() == f"dedupe: error: {path} is not a dedupe index (SQLite: no table bands, docs)"
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("meta",)]


@pytest.mark.parametrize("tables", [["notes"], ["meta"], ["meta", "docs", "notes"], ["sqlitebrowser_rename"]])
def test_index_add_refuses_another_programs_database_and_leaves_it_untouched(tmp_path: Path, tables: list[str]):
    """'index add --index F' on an existing SQLite database of another program does not add the
    index's tables to it (nor switch its journal): exit 2, and the file is byte for byte as it was."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        for name in tables:
            c.execute(f"CREATE TABLE {name} (x TEXT)")
        c.execute(f"INSERT INTO {tables[0]} VALUES ('keep me')")
    c.close()
    before = path.read_bytes()
    doc = tmp_path / "a.txt"
    doc.write_text("A short article about nothing in particular, written for this test.\n")
    r = CliRunner().invoke(cli, ["index", "add", str(doc), "--index", str(path)])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"dedupe: error: {path} is not a dedupe index (SQLite: ")
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists()


def test_index_add_creates_an_index_in_an_empty_sqlite_file(tmp_path: Path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a database with no table at all
    assert "no index at" in CliRunner().invoke(cli, ["index", "stats", "--index", str(path)]).stderr
    doc = tmp_path / "a.txt"
    doc.write_text("A short article about nothing in particular, written for this test.\n")
    r = CliRunner().invoke(cli, ["index", "add", str(doc), "--index", str(path)])
    assert r.exit_code == 0, r.output
    assert CliRunner().invoke(cli, ["index", "stats", "--index", str(path)]).exit_code == 0


@pytest.mark.parametrize(("shingle", "small_vocabulary"), [("word:5", False), ("word:5", True), ("char:7", False)])
def test_records_are_what_fingerprint_and_signer_give_one_by_one(shingle: str, small_vocabulary: bool, monkeypatch):
    """The index fingerprints a batch in bulk (pipeline.text_features): each record holds what
    fingerprint() and Signer.hashvalues() give for its document alone, also when the vocabulary's
    table is emptied in the middle of the batch."""
    from dedupe.config import ScanConfig, ShingleSpec
    from dedupe.index.pipeline import _records
    from dedupe.models import Document
    from dedupe.normalize import content_form
    from dedupe.pipeline import fingerprint
    from dedupe.similarity import native
    from dedupe.similarity import shingle as shingles
    from dedupe.similarity.signature import Signer

    if small_vocabulary:
        built = native.kernels() is not None
        vocab = shingles.Vocabulary(content_form, limit=400 if built else 150, native=built)
        monkeypatch.setitem(shingles._VOCABS, built, vocab)

    config = ScanConfig(shingle=ShingleSpec.parse(shingle), clean=False)
    signer = Signer(config.num_perm, config.seed)
    texts = [seed_text(p.stem[:3]) for p in sorted(SEEDS.glob("*.txt"))]
    n = len(texts)
    texts += ["", "the of and to in a", "Short one.", typo_noise(article_body(seed_text("003")), 0.1)]
    docs = [Document(f"d{k}", text, "x.txt", None, k) for k, text in enumerate(texts)]
    records = _records(docs, config, None, signer, {})
    for k, (doc, rec) in enumerate(zip(docs, records)):
        fp = fingerprint(k, doc.text, config)
        assert (rec.id, rec.length, rec.digest, rec.text) == (doc.id, fp.length, fp.digest, doc.text)
        assert np.array_equal(rec.shingles, fp.shingles) and np.array_equal(rec.content, fp.content)
        for sig, values in ((rec.shingle_sig, fp.shingles), (rec.content_sig, fp.content)):
            if len(values):
                assert sig is not None and np.array_equal(sig, signer.hashvalues(values))
            else:
                assert sig is None
    assert records[n].shingle_sig is None and records[n + 1].content_sig is None  # nothing; function words
    if small_vocabulary:
        assert vocab.generation > 0


def test_sqlite_batch_holds_the_entries_of_adding_one_by_one(corpus, tmp_path: Path):
    """A batch's LSH entries are written sorted, all at once; an id given twice in a batch keeps
    the entries of its last version only, as when the documents are added one at a time."""
    import numpy as np

    from dedupe.config import ScanConfig
    from dedupe.index.base import index_settings
    from dedupe.index.pipeline import _records
    from dedupe.index.sqlite import band_keys
    from dedupe.models import Document
    from dedupe.similarity.signature import Signer

    config = ScanConfig()
    signer = Signer(config.num_perm, config.seed)
    docs = [Document(name, Path(path).read_text(encoding="utf-8"), str(path), None, k)
            for k, (name, path) in enumerate(sorted(corpus.items()))]
    first = Document("000", Path(corpus["near"]).read_text(encoding="utf-8"), "first version", None, 0)
    records = _records([first, *docs], config, None, signer, {})

    def contents(location: str, batches: list[list]) -> tuple[list, list]:
        index = open_index(location, create=True)
        index.init_settings(index_settings(config, None))
        for batch in batches:
            index.add(batch)
        index.close()
        db = sqlite3.connect(location)
        rows = db.execute("SELECT band, key, d.id FROM bands JOIN docs d ON d.doc = bands.doc ORDER BY 1, 2, 3")
        out = rows.fetchall(), db.execute("SELECT id, source, bands FROM docs ORDER BY id").fetchall()
        db.close()
        return out

    together = contents(str(tmp_path / "batch.db"), [records])
    alone = contents(str(tmp_path / "alone.db"), [[r] for r in records[1:]])
    assert together == alone
    # An id already in the index, twice in a batch ("000" is records[1]: corpus names sorted).
    assert records[0].id == records[1].id == "000"
    assert contents(str(tmp_path / "again.db"), [records[1:], [records[0], records[1]]]) == alone
    assert len(together[0]) > 8 * 40 and {source for _, source, _ in together[1]} == {str(p) for p in corpus.values()}
    sigs = np.stack([r.shingle_sig for r in records])
    assert np.array_equal(band_keys(sigs, 9, 13), np.stack([band_keys(s, 9, 13) for s in sigs]))


def test_query_reads_each_content_array_once_a_run_and_forgets_what_it_adds(backend, corpus):
    """ContentCache: a query run reads a document's content array from the index once (its
    candidates come back query after query); what the run adds or replaces is read again."""
    from dedupe.index.base import ContentCache, array_from

    loc = backend()
    ok("index", "add", str(corpus["002"]), str(corpus["003"]), "--index", loc, "-q")
    index = open_index(loc)
    try:
        first = index.get([str(corpus["002"])])[str(corpus["002"])].content
        cache, uncached = ContentCache(index.content_blobs), ContentCache(index.content_blobs, limit=0)
        got = cache.blobs([str(corpus["002"]), "no such id"])
        assert list(got) == [str(corpus["002"])] and (array_from(got[str(corpus["002"])]) == first).all()
        # Another process replaces the document: the run keeps the version it read, unless told.
        Path(corpus["002"]).write_text(seed_text("004"), encoding="utf-8")
        ok("index", "add", str(corpus["002"]), "--index", loc, "-q")
        now = index.get([str(corpus["002"])])[str(corpus["002"])].content
        assert len(now) and not np.array_equal(now, first)
        assert (array_from(cache.blobs([str(corpus["002"])])[str(corpus["002"])]) == first).all()
        assert np.array_equal(array_from(uncached.blobs([str(corpus["002"])])[str(corpus["002"])]), now)
        cache.forget([str(corpus["002"])])
        assert np.array_equal(array_from(cache.blobs([str(corpus["002"])])[str(corpus["002"])]), now)
    finally:
        index.close()


@pytest.mark.parametrize(("limit", "no_kernels", "spare"), [(None, "", None), (None, "1", None), (3000, "", None),
                                                          (0, "", None), (None, "", 8), (2000, "", 8)])
def test_sqlite_screen_equals_lookup_and_the_content_check(corpus, tmp_path: Path, monkeypatch, limit, no_kernels,
                                                           spare):
    """SQLite's screen (rowids, content arrays held in one array, one compiled call) keeps exactly
    the candidates that lookup + content_blobs + jaccard keep, the query's own id left out, also
    past the cache's limit, without the kernels, and as the array grows (``spare``: its first size)."""
    from dedupe.index import sqlite as sqlite_index

    if spare is not None:
        monkeypatch.setattr(sqlite_index._Contents, "SPARE", spare)
    from dedupe.config import ScanConfig
    from dedupe.index.base import array_bytes, array_from
    from dedupe.index.pipeline import _records
    from dedupe.models import Document
    from dedupe.similarity.shingle import jaccard
    from dedupe.similarity.signature import Signer

    if not no_kernels:
        compiled_kernels()
    monkeypatch.setenv("DEDUPE_NO_KERNELS", no_kernels)
    loc = str(tmp_path / "screen.db")
    folder = str(Path(corpus["000"]).parent)
    ok("index", "add", folder, "--index", loc, "-q")
    config = ScanConfig()
    signer = Signer(config.num_perm, config.seed)
    texts = [Path(p).read_text(encoding="utf-8") for p in corpus.values()]
    docs = [Document(str(p), t, "q", k) for k, (p, t) in enumerate(zip(corpus.values(), texts))]
    docs += [Document(f"new{k}", t, "q", len(docs) + k) for k, t in enumerate(texts)]
    index = open_index(loc)
    try:
        if limit is not None:
            index._contents.limit = limit
        kept_any = 0
        for _ in range(2):  # the second time from what the first held
            for r in _records(docs, config, None, signer, {}):
                for floor in (0.0, 0.15, 0.3):
                    shingle_ids, content_ids = index.lookup(r.shingle_sig, r.content_sig)
                    shingle_ids.discard(r.id)
                    blobs = index.content_blobs(content_ids - shingle_ids - {r.id})
                    kept = {i for i, b in blobs.items() if jaccard(r.content, array_from(b)) >= floor}
                    assert index.screen(r.shingle_sig, r.content_sig, r.id, r.content, floor) == (shingle_ids, kept)
                    kept_any += len(kept)
        assert kept_any > 0
        assert array_bytes(r.content)  # the last query had content words
    finally:
        index.close()


def test_sqlite_screen_forgets_the_rows_its_connection_writes(corpus, tmp_path: Path):
    """A document replaced or removed through the same connection (query --add, remove) is checked
    on its new content, or not at all, by the next screen."""
    from dedupe.config import ScanConfig
    from dedupe.index.pipeline import _records
    from dedupe.models import Document
    from dedupe.similarity.signature import Signer

    loc = str(tmp_path / "forget.db")
    ok("index", "add", str(Path(corpus["000"]).parent), "--index", loc, "-q")
    config = ScanConfig()
    signer = Signer(config.num_perm, config.seed)
    query = _records([Document("q", Path(corpus["001"]).read_text(encoding="utf-8"), "q", 0)], config, None, signer,
                     {})[0]
    index = open_index(loc)
    try:
        from dedupe.similarity.shingle import jaccard

        x = str(corpus["000"])
        old_j = jaccard(query.content, index.get([x])[x].content)
        other = _records([Document(x, seed_text("003"), x, 0)], config, None, signer, {})
        new_j = jaccard(query.content, other[0].content)
        floor = (old_j + new_j) / 2  # 000 passes the content check before the change and not after
        assert old_j > floor > new_j
        assert x in index.screen(query.shingle_sig, query.content_sig, query.id, query.content, floor)[1]
        index.add(other)
        assert x not in index.screen(query.shingle_sig, query.content_sig, query.id, query.content, floor)[1]
        index.remove([str(corpus["001"])])
        assert str(corpus["001"]) not in set().union(*index.screen(query.shingle_sig, query.content_sig, "x",
                                                                   query.content, 0.0))
    finally:
        index.close()


def test_sqlite_screen_after_another_connection_gives_a_rowid_to_another_document(corpus, tmp_path: Path):
    """Another process removes the document with the highest rowid and adds a new one, which gets
    that rowid: a connection that held the first one's content array must not check the new one
    on it (review: a missed duplicate)."""
    from dedupe.config import ScanConfig
    from dedupe.index.pipeline import _records
    from dedupe.models import Document
    from dedupe.similarity.signature import Signer

    loc = str(tmp_path / "rowid.db")
    words = seed_text("004").split()
    folder = Path(corpus["004"]).parent
    # Words reversed: content candidates of the query, not shingle ones. The old document has
    # half of the query's content words, the new one all of them.
    old, new = folder / "old.txt", folder / "new.txt"
    old.write_text(" ".join(reversed(words[: len(words) // 2])), encoding="utf-8")
    new.write_text(" ".join(reversed(words)), encoding="utf-8")
    for path in (corpus["002"], corpus["003"], old):
        ok("index", "add", str(path), "--index", loc, "-q")
    config = ScanConfig()
    signer = Signer(config.num_perm, config.seed)
    query = _records([Document("q", seed_text("004"), "q", 0)], config, None, signer, {})[0]
    reader = open_index(loc)
    try:
        shingle_ids, kept = reader.screen(query.shingle_sig, query.content_sig, "q", query.content, 0.75)
        assert str(old) not in shingle_ids | kept
        assert reader._contents.held(np.array([3]))[0]  # its content array is held
        ok("index", "remove", str(old), "--index", loc, "-q")
        ok("index", "add", str(new), "--index", loc, "-q")
        db = sqlite3.connect(loc)
        assert db.execute("SELECT doc FROM docs WHERE id = ?", (str(new),)).fetchone()[0] == 3  # old's rowid
        db.close()
        shingle_ids, kept = reader.screen(query.shingle_sig, query.content_sig, "q", query.content, 0.75)
        assert str(new) in kept and str(old) not in shingle_ids | kept
    finally:
        reader.close()
