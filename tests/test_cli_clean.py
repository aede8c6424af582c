"""The clean command: stdout, --explain, --format json, --out-dir, --in-place, JSONL."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from conftest import SEEDS, seed_text
from dedupe.cli import cli


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_clean_file_to_stdout_keeps_lines_unchanged():
    r = run("clean", str(next(SEEDS.glob("001_*.txt"))))
    assert r.exit_code == 0
    original = seed_text("001").splitlines()
    kept = [line for line in r.stdout.splitlines() if line.strip()]
    assert "Advertisement" not in kept and "AdChoices" not in kept
    it = iter(original)
    assert all(any(line == o for o in it) for line in kept), "kept lines must be unchanged and in order"


def test_clean_stdin_and_json():
    r = run("clean", "-", "--format", "json", input=seed_text("002"))
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert set(data) == {"text", "removed", "kept_lines", "removed_lines"}
    assert [x["line"] for x in data["removed"]] == [17]
    assert data["removed_lines"] == 1 and data["removed"][0]["rule"]


def test_explain_goes_to_stderr():
    r = run("clean", str(next(SEEDS.glob("004_*.txt"))), "--explain")
    assert r.exit_code == 0
    assert "Back to top button" in r.stderr and "Back to top button" not in r.stdout
    assert ":30: [" in r.stderr


def test_list_rules():
    r = run("clean", "--list-rules")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) >= 10


def test_out_dir_mirrors_tree_and_leaves_inputs_alone(tmp_path: Path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text(seed_text("003"))
    (src / "sub" / "b.txt").write_text(seed_text("004"))
    before = {p: p.read_bytes() for p in src.rglob("*.txt")}
    out = tmp_path / "out"
    r = run("clean", str(src), "--out-dir", str(out))
    assert r.exit_code == 0, r.stderr
    assert (out / "a.txt").exists() and (out / "sub" / "b.txt").exists()
    assert "bottom of page" not in (out / "a.txt").read_text()
    assert {p: p.read_bytes() for p in src.rglob("*.txt")} == before
    assert not list(out.rglob("*.tmp"))


def test_out_dir_files_get_the_mode_of_new_files_and_in_place_keeps_its_own(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(seed_text("003"))
    (src / "b.txt").write_text(seed_text("004"))
    (src / "b.txt").chmod(0o640)
    old = os.umask(0o022)
    try:
        assert run("clean", str(src), "--out-dir", str(tmp_path / "out")).exit_code == 0
        assert run("clean", str(src / "b.txt"), "--in-place").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out" / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((src / "b.txt").stat().st_mode) == 0o640


def test_a_private_file_written_over_is_never_readable_by_others_on_the_way(tmp_path: Path, monkeypatch):
    from dedupe.io import write_atomic

    p = tmp_path / "private.txt"
    p.write_text("secret")
    p.chmod(0o600)
    real_open, modes = os.open, []

    def recording_open(name, flags, mode=0o777, *args, **kwargs):
        if str(name).endswith(".tmp"):
            modes.append(mode)
        return real_open(name, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    write_atomic(p, "cleaned secret")
    assert modes == [0o600]
    assert stat.S_IMODE(p.stat().st_mode) == 0o600 and p.read_text() == "cleaned secret"


def test_json_format_is_for_stdout_only(tmp_path: Path):
    (tmp_path / "a.txt").write_text(seed_text("003"))
    for where in (["--out-dir", str(tmp_path / "out")], ["--in-place"]):
        r = run("clean", str(tmp_path / "a.txt"), "--format", "json", *where)
        assert r.exit_code == 2 and "--format json" in r.stderr
    assert not (tmp_path / "out").exists() and (tmp_path / "a.txt").read_text() == seed_text("003")


def test_out_dir_inside_input_is_refused(tmp_path: Path):
    (tmp_path / "a.txt").write_text(seed_text("003"))
    r = run("clean", str(tmp_path), "--out-dir", str(tmp_path / "out"))
    assert r.exit_code == 2 and "inside the input" in r.stderr
    assert not (tmp_path / "out").exists()


def test_in_place_only_when_asked(tmp_path: Path):
    p = tmp_path / "a.txt"
    p.write_text(seed_text("004"))
    assert run("clean", str(p)).exit_code == 0
    assert p.read_text() == seed_text("004")
    assert run("clean", str(p), "--in-place").exit_code == 0
    assert "Back to top button" not in p.read_text()
    assert run("clean", str(p), "--in-place").exit_code == 0  # idempotent


def test_many_inputs_need_out_dir(tmp_path: Path):
    (tmp_path / "a.txt").write_text(seed_text("003"))
    (tmp_path / "b.txt").write_text(seed_text("004"))
    r = run("clean", str(tmp_path))
    assert r.exit_code == 2 and "--out-dir" in r.stderr and r.stdout == ""


def test_jsonl_records_keep_other_fields(tmp_path: Path):
    p = tmp_path / "in.jsonl"
    rec = {"id": "x", "text": seed_text("004"), "url": "https://example.com/a", "n": 3}
    p.write_text(json.dumps(rec) + "\n")
    r = run("clean", str(p))
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["url"] == rec["url"] and out["n"] == 3 and out["id"] == "x"
    assert "Back to top button" not in out["text"]


def test_bad_rules_file_is_a_usage_error(tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text("disable = [\n")
    r = run("clean", str(next(SEEDS.glob("004_*.txt"))), "--rules", str(rules))
    assert r.exit_code == 2 and r.stderr.startswith("dedupe: error:")
    assert "Traceback" not in r.stderr
