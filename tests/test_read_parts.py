"""Reading a large JSONL file in parts, in worker processes (``pipeline.read_paths``): the same
documents, texts, records, ids, lines and reports as reading it in one process, in any order the
parts are done; texts read again from the file, and a file changed meanwhile is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, seed_text
from dedupe import pipeline
from dedupe.errors import InputError
from dedupe.io import ReadOptions, iter_documents
from dedupe.models import Skipped
from dedupe.pipeline import read_documents, read_paths, scan_paths

HTML = FIXTURES / "html"


@pytest.fixture(params=[300, 5000])
def small_parts(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Every JSONL file read in parts of a few hundred bytes (many parts, lines across their edges),
    or of a few thousand (documents and problems in the same part)."""
    monkeypatch.setattr(pipeline, "PARALLEL_READ_BYTES", 1)
    monkeypatch.setattr(pipeline, "READ_BLOCK_BYTES", request.param)


def _messy_lines() -> list[bytes]:
    """Every kind of line the reader reports, between ordinary records."""
    page = (HTML / "storm_broken.html").read_text(encoding="utf-8")
    lines = []
    for k in range(40):
        lines.append(json.dumps({"id": f"r{k}", "text": f"Record {k}. " + seed_text("000")[: 50 + 7 * k]}).encode())
        extra = {
            3: b"",  # blank
            5: b"   \t",  # whitespace only
            7: b"{not json",
            9: b"[1, 2]",  # not an object
            11: b'{"id": "x11", "body": "no text field"}',
            13: json.dumps({"id": "r2", "text": "a duplicate id"}).encode(),
            15: json.dumps({"text": "no id: named FILE:LINE"}).encode(),
            17: json.dumps({"id": "p17", "html": page}).encode(),
            19: b'{"id": "bad", "text": "undecodable \xff\xfe bytes"}',
            21: b'{"id": "long", "text": "' + b"x" * 3000 + b'"}',  # over max_bytes
            23: json.dumps({"id": "crlf", "text": "carriage return\r\nline end"}).encode() + b"\r",
            25: json.dumps({"id": 7, "text": "an integer id", "nested": {"a": [1, {"b": 2}]}}).encode(),
            27: json.dumps({"id": "u", "text": "caf\u00e9 \u201cquoted\u201d \U0001f600"}, ensure_ascii=False).encode(),
            29: json.dumps({"id": "d", "html": 3}).encode(),
        }.get(k)
        if extra is not None:
            lines.append(extra)
    return lines


def _write(path: Path, lines: list[bytes], bom: bool = False, final_newline: bool = True) -> Path:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _whole(paths: list[str], options: ReadOptions) -> tuple[list[tuple], list[Skipped], list[int]]:
    skipped: list[Skipped] = []
    table, keys = read_documents(iter_documents(paths, options, skipped.append))
    return _docs(table), skipped, keys


def _in_parts(paths: list[str], options: ReadOptions, jobs: int = 2) -> tuple[list[tuple], list[Skipped], list[int]]:
    skipped: list[Skipped] = []
    table, keys = read_paths(paths, options, skipped.append, jobs)
    return _docs(table), skipped, keys


def _docs(table) -> list[tuple]:
    docs = [(d.id, d.text, d.record, d.source, d.line, d.index, d.page) for d in table]
    assert table.texts(0, len(table)) == [d[1] for d in docs]
    assert [table.text(k) for k in range(len(table))] == [d[1] for d in docs]
    assert [table.is_page(k) for k in range(len(table))] == [d[6] is not None for d in docs]
    return docs


@pytest.mark.parametrize("keep_records", [True, False])
@pytest.mark.parametrize(("bom", "final_newline"), [(False, True), (True, False)])
def test_parts_read_as_the_whole_file(tmp_path: Path, small_parts: None, keep_records: bool, bom: bool,
                                      final_newline: bool):
    path = _write(tmp_path / "in.jsonl", _messy_lines(), bom, final_newline)
    options = ReadOptions(keep_records=keep_records, max_bytes=2000)
    whole = _whole([str(path)], options)
    parts = _in_parts([str(path)], options)
    assert parts == whole
    docs, skipped, _ = whole
    assert len(docs) == 47 and any(d[6] is not None for d in docs)  # the HTML record was extracted
    name = str(path)
    assert [(s.path, s.reason, s.skipped) for s in skipped] == [
        (f"{name}:11", "malformed JSON (Expecting property name enclosed in double quotes)", True),
        (f"{name}:14", "record is not a JSON object", True),
        (f"{name}:17", "missing field 'text' (or 'html')", True),
        (f"{name}:20", f"duplicate id 'r2' (first at {name}:3): named {name}:20", False),
        (f"{name}:32", "line larger than 2,000 bytes (--max-bytes)", True),
        (f"{name}:44", "field 'html' is not a string", True),
        (name, "invalid utf-8: undecodable bytes replaced with U+FFFD (line 29)", False),
    ]


def test_parts_with_other_files_and_ids_shared_across_them(tmp_path: Path, small_parts: None):
    (tmp_path / "a.txt").write_text(seed_text("001"), encoding="utf-8")
    _write(tmp_path / "b.jsonl", _messy_lines())
    _write(tmp_path / "c.jsonl", [json.dumps({"id": "r1", "text": "r1 again, in another file"}).encode(),
                                  json.dumps({"id": "a.txt", "text": "named like the file"}).encode()])
    _write(tmp_path / "d.jsonl", [b"", b"  "])  # whitespace only
    paths = [str(tmp_path)]
    options = ReadOptions(max_bytes=2000)
    assert _in_parts(paths, options) == _whole(paths, options)
    assert _in_parts(paths, options, jobs=3) == _whole(paths, options)


def test_strict_stops_at_the_first_problem_as_the_whole_file_does(tmp_path: Path, small_parts: None):
    path = _write(tmp_path / "in.jsonl", _messy_lines())
    options = ReadOptions(strict=True, max_bytes=2000)
    with pytest.raises(InputError) as whole:
        _whole([str(path)], options)
    with pytest.raises(InputError) as parts:
        _in_parts([str(path)], options)
    assert str(parts.value) == str(whole.value) == f"{path}:11: malformed JSON (Expecting property name enclosed in double quotes)"


def test_texts_are_read_again_from_the_file_and_a_change_is_an_error(tmp_path: Path, small_parts: None):
    lines = [json.dumps({"id": f"r{k}", "text": f"Text number {k}, long enough to matter."}).encode() for k in range(30)]
    path = _write(tmp_path / "in.jsonl", lines)
    table, _ = read_paths([str(path)], ReadOptions(keep_records=False), lambda s: None, 2)
    assert table.spill.size == 0  # no text copied
    assert table.text(3) == "Text number 3, long enough to matter."
    data = bytearray(path.read_bytes())
    at = data.index(b"number 3,")
    data[at : at + 6] = b"NUMBER"  # same length, changed in place
    path.write_bytes(bytes(data))
    assert table.text(2) == "Text number 2, long enough to matter."
    with pytest.raises(InputError, match="changed while it was read"):
        table.text(3)
    with pytest.raises(InputError, match="changed while it was read"):
        table.texts(0, 30)


def test_scan_in_parts_finds_the_clusters_of_one_process(tmp_path: Path, small_parts: None):
    lines = [json.dumps({"id": f"s{k}", "text": seed_text(f"00{k % 5}") + ("" if k < 5 else f"\nReprint {k}.")}).encode()
             for k in range(15)]
    lines.insert(4, b"{broken")
    path = _write(tmp_path / "in.jsonl", lines)
    one = scan_paths([str(path)], jobs=1)
    two = scan_paths([str(path)], jobs=2)
    assert two.clusters == one.clusters and len(one.clusters) == 4  # 000 and 001 (a rewrite) together
    assert [(s.path, s.reason) for s in two.skipped] == [(s.path, s.reason) for s in one.skipped] == [
        (f"{path}:5", "malformed JSON (Expecting property name enclosed in double quotes)")]


def test_a_file_changed_during_a_scan_is_a_clear_error(tmp_path: Path, small_parts: None,
                                                        monkeypatch: pytest.MonkeyPatch):
    lines = [json.dumps({"id": f"s{k}", "text": seed_text(f"00{k % 5}")}).encode() for k in range(10)]
    path = _write(tmp_path / "in.jsonl", lines)
    prepare = pipeline.prepare

    def changed_then_prepare(*args, **kwargs):  # the file is rewritten after it was read
        path.write_bytes(path.read_bytes().replace(b'"s3"', b'"S3"'))
        return prepare(*args, **kwargs)

    monkeypatch.setattr(pipeline, "prepare", changed_then_prepare)
    with pytest.raises(InputError, match=f"^{path}: the file changed while it was read; scan it again$"):
        scan_paths([str(path)], jobs=2)


def test_parts_in_a_single_byte_encoding(tmp_path: Path, small_parts: None):
    lines = [json.dumps({"id": f"w{k}", "text": f"Caf\u00e9 na\u00efve \u2014 \u201cquote\u201d {k}"},
                        ensure_ascii=False).encode("cp1252") for k in range(20)]
    path = _write(tmp_path / "in.jsonl", lines)
    options = ReadOptions(encoding="cp1252", keep_records=True)
    whole = _whole([str(path)], options)
    assert _in_parts([str(path)], options) == whole
    assert whole[0][3][1] == "Caf\u00e9 na\u00efve \u2014 \u201cquote\u201d 3"


def test_a_file_cut_short_during_a_scan_is_the_same_clear_error(tmp_path: Path, small_parts: None):
    lines = [json.dumps({"id": f"r{k}", "text": f"Text number {k}, long enough to matter."}).encode() for k in range(50)]
    path = _write(tmp_path / "in.jsonl", lines)
    table, _ = read_paths([str(path)], ReadOptions(), lambda s: None, 2)
    with path.open("r+b") as fh:
        fh.truncate(len(path.read_bytes()) // 2)
    for read in (lambda: table.text(49), lambda: table.texts(0, 50), lambda: table[49]):
        with pytest.raises(InputError, match="changed while it was read"):
            read()


def test_a_file_removed_once_opened_is_read_whole_from_the_open_file(tmp_path: Path, small_parts: None,
                                                                     monkeypatch: pytest.MonkeyPatch):
    from dedupe import io as dedupe_io

    path = _write(tmp_path / "in.jsonl", _messy_lines())
    options = ReadOptions(max_bytes=2000)
    whole = _whole([str(path)], options)
    opened = dedupe_io.JsonlSource.__init__

    def open_then_remove(self, plan, opts):  # type: ignore[no-untyped-def]
        opened(self, plan, opts)
        plan.path.unlink()  # the parts are read from the file as opened

    monkeypatch.setattr(dedupe_io.JsonlSource, "__init__", open_then_remove)
    assert _in_parts([str(path)], options) == whole


def test_deep_nesting_is_decided_alike_in_any_process(tmp_path: Path, small_parts: None):
    """json gives up nesting where the interpreter's recursion limit is reached, which depends on the
    caller's stack: records are decided alike by the workers, by re-reading and in one process."""
    import sys

    lines = [json.dumps({"id": f"n{d}", "text": "deep", "x": json.loads("[" * d + "]" * d)}
                        if d < 900 else {"id": f"n{d}", "text": "deep"}).encode()
             if d < 900 else (b'{"id": "n%d", "text": "deep", "x": ' % d + b"[" * d + b"]" * d + b"}")
             for d in range(380, 1100, 12)]
    path = _write(tmp_path / "deep.jsonl", lines)
    options = ReadOptions(keep_records=True)
    whole = _whole([str(path)], options)
    assert _in_parts([str(path)], options) == whole
    assert any("nested too deeply" in s.reason for s in whole[1]) and len(whole[0]) > 10

    def deeper(n: int):  # type: ignore[no-untyped-def]
        return deeper(n - 1) if n else _whole([str(path)], options)

    assert deeper(min(200, sys.getrecursionlimit() // 4)) == whole


def test_a_number_too_long_for_python_is_a_malformed_line(tmp_path: Path):
    path = _write(tmp_path / "in.jsonl", [b'{"id": "a", "text": "fine"}', b'{"id": 1' + b"0" * 5000 + b', "text": "x"}'])
    docs, skipped, _ = _whole([str(path)], ReadOptions())
    assert [d[0] for d in docs] == ["a"]
    assert [(s.path, s.reason) for s in skipped] == [(f"{path}:2", "malformed JSON (number too long)")]
