"""Bad input: skipped with a warning naming the file and reason, or exit 2 when nothing is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import seed_text
from dedupe.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\t\n", "whitespace-only file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ],
)
def test_unusable_files_are_skipped_and_reported(tmp_path: Path, name: str, data: bytes, reason: str):
    (tmp_path / "good.txt").write_text(seed_text("004"))
    (tmp_path / name).write_bytes(data)
    before = (tmp_path / name).read_bytes()
    r = run("scan", str(tmp_path), "--format", "json")
    assert r.exit_code == 0
    assert f"skipped {tmp_path / name}: {reason}" in r.stderr
    skipped = json.loads(r.stdout)["stats"]["skipped"]
    assert skipped == [{"path": str(tmp_path / name), "reason": skipped[0]["reason"]}]
    assert reason in skipped[0]["reason"]
    assert (tmp_path / name).read_bytes() == before


def test_nothing_usable_is_exit_2(tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    r = run("scan", str(tmp_path / "empty.txt"))
    assert r.exit_code == 2
    assert "dedupe: error: no documents to scan" in r.stderr


def test_directory_without_text_files(tmp_path: Path):
    (tmp_path / "pic.png").write_bytes(b"\x89PNG")
    r = run("scan", str(tmp_path))
    assert r.exit_code == 2
    assert "holds no .txt" in r.stderr


def test_invalid_utf8_is_decoded_with_a_warning(tmp_path: Path):
    (tmp_path / "latin.txt").write_bytes("Caf\u00e9 prices rose by \u00a35 in a week, traders said.".encode("latin-1"))
    r = run("scan", str(tmp_path), "--format", "json")
    assert r.exit_code == 0
    assert "latin.txt: invalid utf-8" in r.stderr
    assert json.loads(r.stdout)["stats"]["warnings"][0]["path"].endswith("latin.txt")


def test_bom_and_line_endings(tmp_path: Path):
    text = seed_text("004")
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    (tmp_path / "mac.txt").write_bytes(text.replace("\n", "\r").encode())
    r = run("scan", str(tmp_path), "--format", "json")
    assert r.exit_code == 0
    (cluster,) = json.loads(r.stdout)["clusters"]
    assert {m["kind"] for m in cluster["members"]} == {"representative", "exact"}
    assert len(cluster["members"]) == 3


def test_broken_symlink_is_skipped(tmp_path: Path):
    (tmp_path / "good.txt").write_text(seed_text("004"))
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    r = run("scan", str(tmp_path))
    assert r.exit_code == 0 and "broken symbolic link" in r.stderr


def test_malformed_jsonl_lines(tmp_path: Path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": "a", "text": "one article"}\nnot json\n{"id": "b"}\n{"id": "c", "text": 5}\n[1]\n')
    r = run("scan", str(p), "--format", "json")
    assert r.exit_code == 0
    reasons = {s["path"]: s["reason"] for s in json.loads(r.stdout)["stats"]["skipped"]}
    assert set(reasons) == {f"{p}:2", f"{p}:3", f"{p}:4", f"{p}:5"}
    assert "malformed JSON" in reasons[f"{p}:2"] and "missing field 'text'" in reasons[f"{p}:3"]
    r = run("scan", str(p), "--strict")
    assert r.exit_code == 2 and f"{p}:2: malformed JSON" in r.stderr


def test_stdin(tmp_path: Path):
    r = CliRunner().invoke(cli, ["scan", "-", "--format", "json"], input=seed_text("004"))
    assert r.exit_code == 0 and json.loads(r.stdout)["stats"]["documents"] == 1


def test_closed_pipe_is_quiet(tmp_path: Path):
    for i in range(30):
        (tmp_path / f"{i:02}.txt").write_text(seed_text("004") + f"\nCopy {i}.\n")
    proc = subprocess.run(
        f"'{sys.executable}' -m dedupe scan '{tmp_path}' --emit unique | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, check=False,
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.returncode == 0


def test_jsonl_records_are_kept_only_when_asked(tmp_path: Path):
    from dedupe.io import ReadOptions, iter_documents
    from dedupe.pipeline import read_documents

    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "one two"}\n{"id": "b", "text": "three", "x": 1}\n', encoding="utf-8")
    kept = list(iter_documents([str(path)]))
    assert [d.record for d in kept] == ['{"id": "a", "text": "one two"}', '{"id": "b", "text": "three", "x": 1}']
    table, _ = read_documents(iter_documents([str(path)], ReadOptions(keep_records=False)))
    assert [(d.id, d.text, d.record) for d in table] == [("a", "one two", None), ("b", "three", None)]
    assert table.spill.size == len(b"one twothree")  # the temporary file holds the texts only


_JSON_CASES = [
    '{"id": "a", "text": "x"}',
    '{"id": 1, "id": 2, "text": "last key wins"}',
    '{"id": 123456789012345678901234567890, "text": "an id beyond 64 bits"}',
    '{"id": -9223372036854775809, "text": "just below int64"}',
    '{"id": 1.5, "text": "a float id"}',
    '{"id": 1e400, "text": "an infinite id"}',
    '{"id": NaN, "text": "NaN"}',
    '{"text": "a lone surrogate \\ud800 escaped"}',
    '{"text": "a pair \\ud83d\\ude00 escaped", "n": 18446744073709551616}',
    '{"text": "nul \\u0000 and tab \\t"}',
    ' {"text": "spaces around"} ',
    '{"text": "trailing form feed"}\x0c',
    '{"text": "raw control \x01 char"}',
    '{"text": "unterminated',
    "[1, 2]",
    '"a string"',
    "[" * 5000 + "]" * 5000,
    '{"text": "deep", "meta": ' + "[" * 1010 + "]" * 1010 + "}",  # orjson parses it, json does not
    '{"text": "deep enough", "meta": ' + "[" * 450 + "]" * 450 + "}",
    '[{"a": ' + "{}" + "}]",
]


@pytest.mark.parametrize("raw", _JSON_CASES)
def test_parse_json_is_json_loads(raw: str):
    """The fast parser gives json.loads's record, as far as the fields read go (types included), or
    its exact error."""
    from dedupe.io import parse_json

    try:
        want: object = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        with pytest.raises(type(exc)) as got:
            parse_json(raw, "id")
        assert str(got.value) == str(exc)
        return
    got_value = parse_json(raw, "id")
    assert type(got_value) is type(want)
    if not isinstance(want, dict):
        assert repr(got_value) == repr(want)
        return
    assert isinstance(got_value, dict)
    for key in ("id", "text", "html"):
        assert repr(got_value.get(key)) == repr(want.get(key)) and type(got_value.get(key)) is type(want.get(key))


def test_jsonl_id_beyond_64_bits_is_kept_whole(tmp_path: Path):
    p = tmp_path / "in.jsonl"
    text = seed_text("004")
    p.write_text("".join(json.dumps({"id": 123456789012345678901234567890 + k, "text": text}) + "\n" for k in (0, 1)))
    r = run("scan", str(p), "--format", "json")
    assert r.exit_code == 0, r.output
    (cluster,) = json.loads(r.stdout)["clusters"]
    assert sorted(m["id"] for m in cluster["members"]) == ["123456789012345678901234567890", "123456789012345678901234567891"]
