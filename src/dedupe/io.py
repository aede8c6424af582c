"""Reading input: files, directories, ``-`` (stdin), JSONL and HTML pages, as a stream of :class:`Document`.

HTML pages (``.html``/``.htm``, or any input whose content starts like HTML, and JSONL records
with an HTML field) go through the extract stage (:mod:`dedupe.extract`) here, so every
document leaves this module as text. Unreadable or unusable inputs are not fatal: they are
reported through the ``on_skip`` callback with a reason, so that the caller can count and show them.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import json
import os
import stat
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from dedupe.config import ExtractConfig
from dedupe.errors import ConfigError, InputError
from dedupe.extract import HTML_SUFFIXES, ExtractionError, decode_html, extract_article, looks_like_html
from dedupe.models import Document, PageInfo, Skipped
from dedupe.store import FileCutShort, pread_exactly

TEXT_SUFFIXES = frozenset({".txt", ".md", ".text"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
WALKED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""Largest plain-text document (and JSONL line) read, in bytes: larger ones are skipped."""

SkipCallback = Callable[[Skipped], None]

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_SNIFF = 8192  # bytes looked at for NUL bytes (binary files)
_DRAIN = 1 << 20  # chunk size when skipping the rest of an over-long JSONL line


@dataclass(frozen=True)
class ReadOptions:
    """How to read input.

    Attributes:
        text_field: JSONL field holding the text.
        id_field: JSONL field holding the id; records without it get ``FILE:LINE``.
        encoding: Encoding of text files; undecodable bytes are replaced (with a warning).
        strict: Malformed JSONL lines are fatal instead of skipped.
        html_field: JSONL field holding an HTML page, used when a record has no text field.
        extract: How articles are extracted from HTML pages.
        max_bytes: Plain-text files (and stdin) larger than this, and JSONL lines longer than
            this, are skipped with a warning instead of being read into memory.
        keep_records: Give each JSONL document its record (``Document.record``), for writing it
            back; without them a scan keeps half as much in its temporary file.

    Raises:
        ConfigError: an unknown encoding, or ``max_bytes`` below 1.
    """

    text_field: str = "text"
    id_field: str = "id"
    encoding: str = "utf-8"
    strict: bool = False
    html_field: str = "html"
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    max_bytes: int = DEFAULT_MAX_BYTES
    keep_records: bool = True

    def __post_init__(self) -> None:
        try:
            b"\n\n".decode(self.encoding)  # b"".decode() does not look the codec up
        except UnicodeError:
            pass
        except LookupError as exc:
            raise ConfigError(f"unknown encoding: {self.encoding!r}") from exc
        if self.max_bytes < 1:
            raise ConfigError(f"max_bytes must be >= 1, got {self.max_bytes}")


def _display_path(path: Path, given: str, root: Path) -> str:
    """The path as the user would write it: relative to what they gave us."""
    if path == root:
        return given
    rel = path.relative_to(root).as_posix()
    if given in (".", "./"):
        return rel
    return given.rstrip("/") + "/" + rel


def _os_reason(exc: OSError, path: Path | None = None) -> str:
    """A short reason for an OS error on an input."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if exc.errno == errno.ENOENT and path is not None and path.is_symlink():
        return "broken symbolic link"
    return exc.strerror or str(exc)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def iter_input_files(paths: Iterable[str], on_skip: SkipCallback) -> Iterator[tuple[str, Path | None]]:
    """Expand user paths into ``(display_path, path)`` pairs, in a deterministic order.

    Directories are walked recursively (sorted, symbolic links to directories not followed),
    keeping regular files with a text, HTML or JSONL suffix; files named explicitly are always read
    (a named pipe too). ``-`` yields ``("-", None)``. Everything left out on the way is reported
    through ``on_skip``: unreadable directories, symbolic links to directories, broken links and
    link loops, named pipes and devices found in a directory, and a file reached a second time
    (named twice, or through a link).

    Raises:
        InputError: a path that does not exist.
    """
    seen: dict[str, str] = {}

    def first_time(display: str, path: Path) -> bool:
        key = os.path.realpath(path)
        if key in seen:
            on_skip(Skipped(display, f"same file as {seen[key]}"))
            return False
        seen[key] = display
        return True

    for given in paths:
        if given == "-":
            yield "-", None
            continue
        root = Path(given)
        try:
            root.stat()
        except OSError as exc:
            if root.is_symlink():
                on_skip(Skipped(given, _os_reason(exc, root)))
                continue
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                raise InputError(f"no such file or directory: {given}") from exc
            on_skip(Skipped(given, _os_reason(exc, root)))
            continue
        if not root.is_dir():
            if first_time(given, root):
                yield given, root
            continue
        yield from _walk(given, root, on_skip, first_time)


def _walk(
    given: str, root: Path, on_skip: SkipCallback, first_time: Callable[[str, Path], bool]
) -> Iterator[tuple[str, Path]]:
    found = False
    failed = False

    def on_error(exc: OSError) -> None:
        nonlocal failed
        where = Path(exc.filename) if exc.filename else root
        failed = failed or where == root
        on_skip(Skipped(_display_path(where, given, root), _os_reason(exc, where)))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=on_error):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                on_skip(Skipped(_display_path(here / name, given, root), "symbolic link to a directory (not followed)"))
        dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
        for name in sorted(filenames):
            p = here / name
            if p.suffix.lower() not in WALKED_SUFFIXES:
                continue
            found = True
            display = _display_path(p, given, root)
            try:
                mode = p.stat().st_mode
            except OSError as exc:
                on_skip(Skipped(display, _os_reason(exc, p)))
                continue
            if not stat.S_ISREG(mode):
                on_skip(Skipped(display, _file_kind(mode)))
                continue
            if first_time(display, p):
                yield display, p
    if not found and not failed:
        on_skip(Skipped(given, "directory holds no .txt, .md, .text, .html, .htm, .jsonl or .ndjson files"))


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head[:_SNIFF] and not head.startswith(_UTF16_BOMS)


def _decode(data: bytes, encoding: str, display: str, on_skip: SkipCallback) -> str | None:
    if _is_binary(data):
        on_skip(Skipped(display, "binary file (NUL bytes)"))
        return None
    if data.startswith(_UTF16_BOMS):
        encoding = "utf-16"
    elif data.startswith(_UTF8_BOM):
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        on_skip(Skipped(display, f"invalid {encoding}: undecodable bytes replaced with U+FFFD", skipped=False))
        return data.decode(encoding, errors="replace")


def _too_large(max_bytes: int) -> str:
    return f"larger than {max_bytes:,} bytes (--max-bytes)"


_BUFFER = 1 << 16


def _open(display: str, path: Path, on_skip: SkipCallback) -> BinaryIO | None:
    try:
        # 64 KB buffers: reading JSONL line by line with the default 8 KB takes four times as long.
        return open(path, "rb", buffering=_BUFFER)  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        on_skip(Skipped(display, _os_reason(exc, path)))
        return None


def _read_capped(fh: BinaryIO, display: str, max_bytes: int, on_skip: SkipCallback) -> bytes | None:
    """The whole stream, or ``None`` (reported) when it holds more than ``max_bytes``."""
    with contextlib.suppress(OSError, ValueError):
        st = os.fstat(fh.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
            on_skip(Skipped(display, _too_large(max_bytes)))
            return None
    data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        on_skip(Skipped(display, _too_large(max_bytes)))
        return None
    return data


def _ascii_compatible(encoding: str) -> bool:
    """Whether ``\\n`` is the byte 0x0A in this encoding (so JSONL can be split into lines as bytes)."""
    try:
        return "\n{}".encode(encoding).removeprefix(_UTF8_BOM) == b"\n{}"
    except (UnicodeError, LookupError):
        return False


Problem = Callable[[int, str, bool], None]
"""``problem(line, reason, strict)``: a JSONL line left out, and why; ``strict``: whether
``ReadOptions.strict`` makes it fatal."""


def reporter(display: str, options: ReadOptions, on_skip: SkipCallback) -> Problem:
    """The :data:`Problem` callback of a file: ``FILE:LINE: reason`` raised as :class:`InputError`
    when strict, else reported to ``on_skip``."""

    def problem(lineno: int, reason: str, strict: bool) -> None:
        where = f"{display}:{lineno}"
        if strict and options.strict:
            raise InputError(f"{where}: {reason}")
        on_skip(Skipped(where, reason))

    return problem


def jsonl_lines(
    fh: BinaryIO, encoding: str, options: ReadOptions, problem: Problem, bad_lines: list[int], limit: int = -1,
    seen: LinesSeen | None = None, spans: list[tuple[int, int, int]] | None = None,
) -> Iterator[tuple[int, str]]:
    """Decoded lines of a JSONL stream from where ``fh`` is, numbered from 1, read one at a time;
    ``limit``: read whole lines up to this many bytes (-1: to the end).

    Lines longer than ``max_bytes`` are left out (``problem``, and not held in memory); the numbers
    of lines with undecodable bytes (replaced) are added to ``bad_lines``; ``seen.lines`` counts the lines.
    ``spans`` gets, for each line, where it is (bytes from where reading began), its length in bytes
    and their CRC-32 (of a line left out: 0): what :class:`JsonlSource` reads it again by.
    """
    lineno = 0
    left = limit
    at = 0
    while left:
        raw = fh.readline(options.max_bytes + 1)
        if not raw:
            break
        lineno += 1
        if seen is not None:
            seen.lines = lineno
        left = max(0, left - len(raw)) if left > 0 else left
        if len(raw) > options.max_bytes and not raw.endswith(b"\n"):
            size = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(_DRAIN)
                size += len(raw)
                left = max(0, left - len(raw)) if left > 0 else left
            if spans is not None:
                spans.append((at, size, 0))
            at += size
            problem(lineno, f"line {_too_large(options.max_bytes)}", True)
            continue
        if spans is not None:
            spans.append((at, len(raw), zlib.crc32(raw)))
        at += len(raw)
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            bad_lines.append(lineno)
            line = raw.decode(encoding, errors="replace")
        yield lineno, line


def _undecodable(encoding: str, bad_lines: list[int]) -> str:
    """The warning for a file with undecodable lines."""
    lines = f"line {bad_lines[0]}" if len(bad_lines) == 1 else f"{len(bad_lines)} lines, first {bad_lines[0]}"
    return f"invalid {encoding}: undecodable bytes replaced with U+FFFD ({lines})"


def _iter_jsonl_lines(
    fh: BinaryIO, display: str, options: ReadOptions, on_skip: SkipCallback, seen: LinesSeen
) -> Iterator[tuple[int, str]]:
    """Decoded lines of a JSONL stream with their 1-based numbers, read one at a time.

    Lines longer than ``max_bytes`` are skipped (and not held in memory); undecodable bytes are
    replaced and reported once for the file. A UTF-16 file (BOM) or an encoding in which a
    newline is not one byte is decoded whole, within ``max_bytes``.
    """
    encoding = options.encoding
    head = fh.peek(_SNIFF) if hasattr(fh, "peek") else b""
    if _is_binary(head):
        on_skip(Skipped(display, "binary file (NUL bytes)"))
        return
    if head.startswith(_UTF16_BOMS) or not _ascii_compatible(encoding):
        data = _read_capped(fh, display, options.max_bytes, on_skip)
        text = None if data is None else _decode(data, encoding, display, on_skip)
        if text == "":
            on_skip(Skipped(display, "empty file"))
        elif text is not None:
            yield from enumerate(text.split("\n"), 1)
        return
    if head.startswith(_UTF8_BOM):
        fh.read(len(_UTF8_BOM))
        encoding = "utf-8"
    bad_lines: list[int] = []
    yield from jsonl_lines(fh, encoding, options, reporter(display, options, on_skip), bad_lines, seen=seen)
    if not seen.lines:
        on_skip(Skipped(display, "empty file"))
    if bad_lines:
        on_skip(Skipped(display, _undecodable(encoding, bad_lines), skipped=False))


def parse_json(raw: str, id_field: str) -> Any:
    """``json.loads(raw)`` for a JSONL record: the same fields read (text, HTML, id), and the same
    error when there is no record.

    orjson parses a news record in less than half the time. Where it fails (malformed JSON, but also
    lone surrogates, ``NaN`` and numbers beyond a double, which the standard library accepts) the
    standard library decides, with its own messages. The one value orjson gives differently is an
    integer beyond 64 bits, as a float: the record is parsed again when its id (the only field read
    as a number) came out as a float. (Other fields may differ so; they are not read.) And orjson
    parses deeper nesting than json: a deeply nested record is parsed again.
    """
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _json_loads(raw)
    if type(record) is dict:
        return record if orjson_record_stands(record, id_field) else _json_loads(raw)
    return _json_loads(raw) if _nested_deeper_than(record, _SURELY_PARSED_DEPTH) else record


def orjson_record_stands(record: dict[Any, Any], id_field: str) -> bool:
    """Whether orjson's parse of a JSON object is what :func:`parse_json` keeps: its id is not a
    float (orjson's for an integer beyond 64 bits) and it is nested no deeper than json surely
    parses (orjson parses up to 1,023 levels, json fewer: RecursionError, where the limit of the
    interpreter's stack is)."""
    if type(record.get(id_field)) is float:
        return False
    for value in record.values():  # most records: a flat object of strings
        if type(value) is dict or type(value) is list:
            return not _nested_deeper_than(record, _SURELY_PARSED_DEPTH)
    return True


def id_value(rid: Any) -> str | None:
    """What a JSONL record's id field names it: the field when a string or an integer, else ``None``."""
    return str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) else None


_SURELY_PARSED_DEPTH = 400


def _json_loads(raw: str) -> Any:
    """``json.loads(raw)``, giving up on the same nesting wherever it is called. json gives up
    (RecursionError) where the interpreter's recursion limit is reached, which depends on how deep
    the caller's stack is: a line parsed by a worker (a JSONL file read in parts) or read again
    later would not be decided as in the main process. A line with at most ``_SURELY_PARSED_DEPTH``
    brackets is parsed here (no stack is that deep); another one in a thread of its own, whose
    stack always starts at the same depth."""
    if raw.count("[") + raw.count("{") <= _SURELY_PARSED_DEPTH:
        return json.loads(raw)
    out: list[Any] = []

    def parse() -> None:
        try:
            out.append((True, json.loads(raw)))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            out.append((False, exc))

    thread = threading.Thread(target=parse, name="dedupe-json")
    thread.start()
    thread.join()
    ok, value = out[0]
    if not ok:
        raise value
    return value


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) holds containers nested more than ``limit`` deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if type(item) is dict else item if type(item) is list else ()
        stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
    return False


@dataclass
class LinesSeen:
    """Lines read of a JSONL file (:func:`jsonl_lines`), and whether :func:`parse_records` was given
    any and found them all blank."""

    lines: int = 0
    read: bool = False
    blank: bool = True


def parse_records(
    lines: Iterable[tuple[int, str]], options: ReadOptions, problem: Problem, seen: LinesSeen
) -> Iterator[tuple[int, str, str | None, str, PageInfo | None]]:
    """``(line, text, id or None, raw line, page info)`` for every usable record; the others go to
    ``problem``.

    A record without the text field but with an HTML field is extracted (:mod:`dedupe.extract`).
    """
    for lineno, raw in lines:
        seen.read = True
        raw = raw.rstrip("\r\n")
        if not raw or raw.isspace():  # not raw.strip(), without copying the line
            continue
        seen.blank = False
        try:
            record = parse_json(raw, options.id_field)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or a number of over 4,300 digits
            msg = (exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                   if isinstance(exc, RecursionError) else "number too long")
            problem(lineno, f"malformed JSON ({msg})", True)
            continue
        if not isinstance(record, dict):
            problem(lineno, "record is not a JSON object", True)
            continue
        body = record.get(options.text_field)
        html = record.get(options.html_field) if body is None else None
        page = None
        if isinstance(html, str):
            try:
                extracted = extract_article(html, options.extract)
            except ExtractionError as exc:
                problem(lineno, str(exc), False)
                continue
            body, page = extracted.text, extracted.info
        if not isinstance(body, str):
            if body is not None:
                reason = f"field {options.text_field!r} is not a string"
            elif html is not None:
                reason = f"field {options.html_field!r} is not a string"
            else:
                reason = f"missing field {options.text_field!r} (or {options.html_field!r})"
            problem(lineno, reason, True)
            continue
        yield lineno, body, id_value(record.get(options.id_field)), raw, page


def _is_html(path: Path | None, data: bytes) -> bool:
    """An HTML page: by its suffix, or (any other file, stdin) by how its content starts."""
    if path is not None and path.suffix.lower() in HTML_SUFFIXES:
        return True
    return looks_like_html(data[:4096])


def _read_html(
    display: str, data: bytes, options: ReadOptions, index: int, skip: SkipCallback
) -> Document | None:
    """Decode an HTML page and extract its article; ``None`` (with the reason reported) when there is none."""
    if not data.strip():
        skip(Skipped(display, "empty file" if not data else "whitespace-only file"))
        return None
    if _is_binary(data):
        skip(Skipped(display, "binary file (NUL bytes)"))
        return None
    decoded = decode_html(data)
    if decoded.warning:
        skip(Skipped(display, decoded.warning, skipped=False))
    try:
        page = extract_article(decoded.text, options.extract)
    except ExtractionError as exc:
        skip(Skipped(display, str(exc)))
        return None
    return Document(id=display, text=page.text, source=display, index=index, page=page.info)


def iter_documents(
    paths: Iterable[str],
    options: ReadOptions | None = None,
    on_skip: SkipCallback | None = None,
) -> Iterator[Document]:
    """Yield every document found under ``paths``, in a deterministic order.

    JSONL files are streamed a line at a time; a plain-text file (one document) is read whole,
    unless it is larger than ``options.max_bytes``. A record whose id was already used (in any
    input) keeps its place but is named ``FILE:LINE``, with a warning.

    Args:
        paths: Files, directories (recursive) and ``-`` for stdin.
        options: How to read (JSONL fields, encoding, strictness, size limit).
        on_skip: Called for every input left out, and for warnings, with the reason.

    Raises:
        InputError: a missing path, or a malformed JSONL line with ``strict``.
    """
    reader = DocumentReader(options, on_skip)
    for display, path in iter_input_files(paths, reader.skip):
        yield from reader.documents(display, path)


class DocumentReader:
    """Reads inputs a file at a time (:meth:`documents`), numbering documents and naming them
    uniquely across files: the state of one :func:`iter_documents`, for callers that read some
    files in other ways (``scan`` reads large JSONL files in parts, :func:`jsonl_plan`)."""

    def __init__(self, options: ReadOptions | None = None, on_skip: SkipCallback | None = None) -> None:
        self.options = options or ReadOptions()
        self.skip: SkipCallback = on_skip or (lambda s: None)
        self.ids: dict[str, str] = {}
        self.index = 0  # documents so far

    def record_id(self, rid: str | None, where: str) -> str:
        """The id of the JSONL record at ``where`` (``FILE:LINE``) whose id field is ``rid``: ``rid``,
        or ``where`` when there is none or it was used already (with a warning)."""
        doc_id = rid if rid is not None else where
        if doc_id in self.ids:
            self.skip(Skipped(where, f"duplicate id {doc_id!r} (first at {self.ids[doc_id]}): named {where}",
                              skipped=False))
            doc_id = where
        self.ids.setdefault(doc_id, where)
        return doc_id

    def jsonl_end(self, display: str, seen: LinesSeen, encoding: str, bad_lines: list[int]) -> None:
        """What is reported of a JSONL file once all of its lines are read."""
        if not seen.lines:
            self.skip(Skipped(display, "empty file"))
        if bad_lines:
            self.skip(Skipped(display, _undecodable(encoding, bad_lines), skipped=False))
        if seen.read and seen.blank:
            self.skip(Skipped(display, "whitespace-only file"))

    def documents(self, display: str, path: Path | None) -> Iterator[Document]:
        """The documents of one input (``path`` None: stdin)."""
        options, skip = self.options, self.skip
        is_jsonl = path is not None and path.suffix.lower() in JSONL_SUFFIXES
        fh = sys.stdin.buffer if path is None else _open(display, path, skip)
        if fh is None:
            return
        try:
            if is_jsonl:
                seen = LinesSeen()
                lines = _iter_jsonl_lines(fh, display, options, skip, seen)
                for lineno, body, rid, raw, page in parse_records(lines, options, reporter(display, options, skip),
                                                                  seen):
                    where = f"{display}:{lineno}"
                    yield Document(id=self.record_id(rid, where), text=body, source=display, index=self.index,
                                   line=lineno, record=raw if options.keep_records else None, page=page)
                    self.index += 1
                if seen.read and seen.blank:
                    skip(Skipped(display, "whitespace-only file"))
                return
            data = _read_capped(fh, display, options.max_bytes, skip)
        except OSError as exc:
            skip(Skipped(display, _os_reason(exc, path)))
            return
        finally:
            if path is not None:
                fh.close()
        if data is None:
            return
        if _is_html(path, data):
            doc = _read_html(display, data, options, self.index, skip)
            if doc is not None:
                yield self._unique_file_id(doc)
                self.index += 1
            return
        text = _decode(data, options.encoding, display, skip)
        if text is None:
            return
        if not text.strip():
            skip(Skipped(display, "empty file" if not text else "whitespace-only file"))
            return
        yield self._unique_file_id(Document(id=display, text=text, source=display, index=self.index))
        self.index += 1

    def _unique_file_id(self, doc: Document) -> Document:
        """Report a file whose path is already the id of a JSONL record (the file keeps its path)."""
        if doc.id in self.ids:
            self.skip(Skipped(doc.id, f"duplicate id {doc.id!r} (first at {self.ids[doc.id]})", skipped=False))
        self.ids.setdefault(doc.id, doc.id)
        return doc


@dataclass(frozen=True)
class JsonlPlan:
    """A JSONL file to read in parts (:func:`jsonl_plan`): its lines from ``start`` (after a byte
    order mark) in ``encoding``."""

    display: str
    path: Path
    encoding: str
    start: int
    size: int


def jsonl_plan(display: str, path: Path | None, options: ReadOptions, min_bytes: int) -> JsonlPlan | None:
    """Whether the JSONL file ``path`` can be read in parts, each by its own process
    (:func:`line_blocks`, :func:`read_jsonl_block`): a regular file of at least ``min_bytes``, in an
    encoding where a line feed is the byte 10, not binary. ``None``: read it whole
    (:meth:`DocumentReader.documents`), which also reports what is wrong with it."""
    if path is None or path.suffix.lower() not in JSONL_SUFFIXES or not _ascii_compatible(options.encoding):
        return None
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size < min_bytes:
            return None
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return None
    if _is_binary(head) or head.startswith(_UTF16_BOMS):
        return None
    bom = head.startswith(_UTF8_BOM)
    return JsonlPlan(display, path, "utf-8" if bom else options.encoding, len(_UTF8_BOM) if bom else 0,
                     info.st_size)


def line_blocks(plan: JsonlPlan, size: int, fd: int) -> Iterator[tuple[int, int]]:
    """The file of ``plan`` (open as ``fd``) in parts of whole lines, of about ``size`` bytes each:
    ``(start, limit)``, ``limit`` the part's bytes (-1 for the last: to the end of the file, as it
    is when read). A part that cannot be told (OSError) is the last: its reader reports why."""
    start = plan.start
    with contextlib.suppress(OSError):
        while start + size < plan.size:
            at = start + size - 1  # the part ends after the first line feed from there
            end = -1
            while end < 0:
                window = os.pread(fd, 1 << 16, at)
                if not window:
                    break
                k = window.find(b"\n")
                if k >= 0:
                    end = at + k + 1
                at += len(window)
            if end < 0 or end >= plan.size:
                break
            yield start, end - start
            start = end
    yield start, -1


@dataclass
class JsonlBlock:
    """What :func:`read_jsonl_block` found in a part of a JSONL file; line numbers count from the
    part's first line (1)."""

    records: list[tuple[int, str, str | None, str | None, PageInfo | None]]  # as parse_records gives them (but
    # for the raw line, None when JsonlParts._read_ordinary read the part)
    problems: list[tuple[int, str, bool]]  # (line, reason, fatal): lines left out, in order
    bad_lines: list[int]
    seen: LinesSeen
    spans: list[tuple[int, int, int]]  # of every line read: (where from the part's start, bytes, CRC-32)
    failure: str | None = None  # the file could not be read on (OSError): the reason


class _Fatal(Exception):
    """A strict problem: the part is read no further."""


class JsonlSource:
    """A JSONL file whose records' texts are read again from it, by the byte range of their line
    (:meth:`~dedupe.store.DocumentTable.extend_stored`), instead of being copied: the line is decoded
    and parsed as :func:`parse_records` did (the same text, the same record). The file stays open
    (processes forked later read it by ``pread``); a line whose CRC-32 is no longer the one read
    first means the file was changed during the scan (:class:`InputError`)."""

    def __init__(self, plan: JsonlPlan, options: ReadOptions) -> None:
        self.display, self.encoding, self.options = plan.display, plan.encoding, options
        self._utf8 = codecs.lookup(plan.encoding).name == "utf-8"
        self._fh = plan.path.open("rb", buffering=0)

    def fileno(self) -> int:
        """The open file: its parts are read from it too (:func:`line_blocks`, :class:`JsonlParts`),
        so a file removed or replaced meanwhile is still the one read."""
        return self._fh.fileno()

    def _changed(self) -> InputError:
        return InputError(f"{self.display}: the file changed while it was read; scan it again")

    def read(self, offset: int, length: int) -> bytes:
        """The ``length`` bytes at ``offset``: some lines as read first (:class:`InputError` when the
        file is now shorter, or cannot be read)."""
        try:
            return pread_exactly(self.fileno(), length, offset)
        except FileCutShort as exc:
            raise self._changed() from exc
        except OSError as exc:
            raise InputError(f"{self.display}: cannot read it again ({exc.strerror or exc})") from exc

    def _record(self, line: bytes, crc: int) -> tuple[str, Any]:
        if zlib.crc32(line) != crc:
            raise self._changed()
        raw = line.decode(self.encoding, errors="replace").rstrip("\r\n")
        try:  # the parse of parse_records, which took this line: the same record
            record = parse_json(raw, self.options.id_field)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict) or not isinstance(record.get(self.options.text_field), str):
            raise self._changed()
        return raw, record

    def text(self, line: bytes, crc: int) -> str:
        """The text of the record of ``line`` (its bytes as read first, whose CRC-32 was ``crc``)."""
        if self._utf8 and zlib.crc32(line) == crc:
            # Most lines: orjson parses the bytes themselves (valid UTF-8, or it fails), and gives the
            # text field that parse_json gives (it parses again, with json, only records whose id or
            # nesting orjson reads otherwise: their texts are the same).
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
            if type(record) is dict:
                text = record.get(self.options.text_field)
                if type(text) is str:
                    return text
        found: str = self._record(line, crc)[1][self.options.text_field]
        return found

    def record(self, line: bytes, crc: int) -> str:
        """The record itself, as :attr:`Document.record` holds it."""
        return self._record(line, crc)[0]


class _PartReader(io.RawIOBase):
    """Reads a file descriptor from ``at`` on by ``pread``: processes that share the descriptor (and
    its position) each read their own part."""

    def __init__(self, fd: int, at: int) -> None:
        super().__init__()
        self.fd, self.at = fd, at

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if hasattr(os, "preadv"):  # straight into the buffer
            n = os.preadv(self.fd, [buffer], self.at)
        else:
            data = os.pread(self.fd, len(buffer), self.at)
            n = len(data)
            buffer[:n] = data
        self.at += n
        return n


class JsonlParts:
    """Reads parts of the JSONL file of ``plan`` (:func:`line_blocks`) as :meth:`DocumentReader.documents`
    reads them, in a process of its own (the file is opened at the first part, and kept)."""

    def __init__(self, plan: JsonlPlan, options: ReadOptions, fd: int) -> None:
        self.plan, self.options, self.fd = plan, options, fd
        self._utf8 = codecs.lookup(plan.encoding).name == "utf-8"

    def read(self, start: int, limit: int) -> JsonlBlock:
        """The records of the part ``start``, ``limit``. A problem that ``strict`` makes fatal ends
        the part (it is the last of ``problems``); so does an OSError (``failure``)."""
        if self._utf8:
            ordinary = self._read_ordinary(start, limit)
            if ordinary is not None:
                return ordinary
        block = JsonlBlock([], [], [], LinesSeen(), [])
        options = self.options

        def problem(lineno: int, reason: str, strict: bool) -> None:
            fatal = strict and options.strict
            block.problems.append((lineno, reason, fatal))
            if fatal:
                raise _Fatal

        try:
            fh = io.BufferedReader(_PartReader(self.fd, start), 1 << 16)
            lines = jsonl_lines(fh, self.plan.encoding, options, problem, block.bad_lines, limit, block.seen,
                                block.spans)
            block.records.extend(parse_records(lines, options, problem, block.seen))
        except _Fatal:
            pass
        except OSError as exc:
            block.failure = _os_reason(exc, self.plan.path)
        return block

    def _read_ordinary(self, start: int, limit: int) -> JsonlBlock | None:
        """:meth:`read` of a part whose every line is an ordinary record: valid UTF-8 of at most
        ``max_bytes`` that orjson parses (from the bytes, as :meth:`JsonlSource.text` does) into an
        object with a string text field, an id that is not a float, and no nesting deeper than
        :func:`parse_json` leaves to orjson; ``None`` at the first other line (or an OSError), and
        the part is read the general way (:func:`jsonl_lines`, :func:`parse_records`), which
        reports what it has to. For such lines both give the same records, spans and lines seen;
        the records' raw lines are left out (``None``): the part's reader needs them only for HTML
        pages. Without the general way's layers, ``pipeline._read_block`` took 10.1 instead of 12.2
        us a record of the generated 1M corpus (medians of six interleaved rounds, same output)."""
        options = self.options
        text_field, id_field, max_bytes = options.text_field, options.id_field, options.max_bytes
        records: list[tuple[int, str, str | None, str | None, PageInfo | None]] = []
        spans: list[tuple[int, int, int]] = []
        loads, crc32, decode_error = orjson.loads, zlib.crc32, orjson.JSONDecodeError
        left, at, lineno = limit, 0, 0
        try:
            readline = io.BufferedReader(_PartReader(self.fd, start), 1 << 16).readline
            while left:
                raw = readline(max_bytes + 1)
                if not raw:
                    break
                size = len(raw)
                if size > max_bytes and raw[-1] != 10:  # longer than max_bytes: reported
                    return None
                try:
                    record = loads(raw)
                except decode_error:
                    return None
                if type(record) is not dict or not orjson_record_stands(record, id_field):
                    return None
                body = record.get(text_field)
                if type(body) is not str:
                    return None
                lineno += 1
                left = max(0, left - size) if left > 0 else left
                spans.append((at, size, crc32(raw)))
                at += size
                records.append((lineno, body, id_value(record.get(id_field)), None, None))
        except OSError:
            return None
        return JsonlBlock(records, [], [], LinesSeen(lineno, lineno > 0, lineno == 0), spans)


def no_documents(action: str, skipped: Iterable[Skipped]) -> InputError:
    """The error of a command that found no document to ``action`` (``scan``, ``clean``...): how many
    inputs were left out, and why (the first three)."""
    left = [s for s in skipped if s.skipped]
    message = f"no documents to {action}"
    if left:
        message += (f" ({len(left)} input{'' if len(left) == 1 else 's'} skipped): "
                    + "; ".join(f"{s.path}: {s.reason}" for s in left[:3]) + ("; ..." if len(left) > 3 else ""))
    return InputError(message)


def write_atomic(path: Path, data: str, encoding: str = "utf-8") -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename,
    so that readers never see a half-written file.

    Raises:
        InputError: the file cannot be written.
    """
    import secrets

    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A file written over keeps its mode, and its text is never more readable on the way (the
        # temporary file starts no wider than it); a new one gets what any new file gets: 0o666
        # less the umask.
        existing = path.stat().st_mode & 0o7777 if path.exists() else None
        # The temporary file is named before it is created (mkstemp's way left it behind when Ctrl-C
        # came while the file was being created: the interruption was raised inside mkstemp, before
        # its name reached us), so that an interruption at any point below can remove it.
        for _attempt in range(100):
            tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                             0o666 if existing is None else existing & 0o666)
                break
            except FileExistsError:
                tmp = ""  # not ours
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name")
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if existing is not None:
            os.chmod(tmp, existing)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def safe_output_path(out_dir: Path, relative: str) -> Path:
    """``out_dir / relative``, refusing anything that would land outside ``out_dir``.

    Raises:
        InputError: ``relative`` is absolute or climbs out with ``..``.
    """
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(f"refusing to write outside the output directory: {relative}")
    target = (out_dir / rel).resolve()
    root = out_dir.resolve()
    if target != root and root not in target.parents:
        raise InputError(f"refusing to write outside the output directory: {relative}")
    return out_dir / rel
