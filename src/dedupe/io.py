"""Reading input: files, directories, ``-`` (stdin), JSONL and HTML pages, as a stream of :class:`Document`.

HTML pages (``.html``/``.htm``, or any input whose content starts like HTML, and JSONL records
with an HTML field) go through the extract stage (:mod:`dedupe.extract`) here, so every
document leaves this module as text. Unreadable or unusable inputs are not fatal: they are
reported through the ``on_skip`` callback with a reason, so that the caller can count and show them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from dedupe.config import ExtractConfig
from dedupe.errors import ConfigError, InputError
from dedupe.extract import HTML_SUFFIXES, ExtractionError, decode_html, extract_article, looks_like_html
from dedupe.models import Document, PageInfo, Skipped

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
        on_skip(Skipped(given, "directory holds no .txt, .md, .text, .html, .htm or .jsonl files"))


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


def _iter_jsonl_lines(
    fh: BinaryIO, display: str, options: ReadOptions, on_skip: SkipCallback
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
    lineno = 0
    while True:
        raw = fh.readline(options.max_bytes + 1)
        if not raw:
            break
        lineno += 1
        if len(raw) > options.max_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(_DRAIN)
            where = f"{display}:{lineno}"
            if options.strict:
                raise InputError(f"{where}: line {_too_large(options.max_bytes)}")
            on_skip(Skipped(where, f"line {_too_large(options.max_bytes)}"))
            continue
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            bad_lines.append(lineno)
            line = raw.decode(encoding, errors="replace")
        yield lineno, line
    if lineno == 0:
        on_skip(Skipped(display, "empty file"))
    if bad_lines:
        lines = f"line {bad_lines[0]}" if len(bad_lines) == 1 else f"{len(bad_lines)} lines, first {bad_lines[0]}"
        on_skip(Skipped(display, f"invalid {encoding}: undecodable bytes replaced with U+FFFD ({lines})", skipped=False))


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
        return json.loads(raw)
    if type(record) is dict:
        if type(record.get(id_field)) is float:
            return json.loads(raw)
        for value in record.values():  # most records: a flat object of strings
            if type(value) is dict or type(value) is list:
                break
        else:
            return record
    # orjson parses up to 1,023 levels of nesting, json fewer (RecursionError, where the limit of
    # the interpreter's stack is): json decides records nested deeper than it surely parses.
    return json.loads(raw) if _nested_deeper_than(record, _SURELY_PARSED_DEPTH) else record


_SURELY_PARSED_DEPTH = 400


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


def _parse_records(
    display: str, lines: Iterable[tuple[int, str]], options: ReadOptions, on_skip: SkipCallback
) -> Iterator[tuple[int, str, str | None, str, PageInfo | None]]:
    """``(line, text, id or None, raw line, page info)`` for every usable record; the others are reported.

    A record without the text field but with an HTML field is extracted (:mod:`dedupe.extract`).
    """
    read, blank = False, True
    for lineno, raw in lines:
        read = True
        raw = raw.rstrip("\r\n")
        if not raw or raw.isspace():  # not raw.strip(), without copying the line
            continue
        blank = False
        try:
            record = parse_json(raw, options.id_field)
        except (json.JSONDecodeError, RecursionError) as exc:
            where = f"{display}:{lineno}"
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            if options.strict:
                raise InputError(f"{where}: malformed JSON ({msg})") from exc
            on_skip(Skipped(where, f"malformed JSON ({msg})"))
            continue
        if not isinstance(record, dict):
            where = f"{display}:{lineno}"
            if options.strict:
                raise InputError(f"{where}: record is not a JSON object")
            on_skip(Skipped(where, "record is not a JSON object"))
            continue
        body = record.get(options.text_field)
        html = record.get(options.html_field) if body is None else None
        page = None
        if isinstance(html, str):
            try:
                extracted = extract_article(html, options.extract)
            except ExtractionError as exc:
                on_skip(Skipped(f"{display}:{lineno}", str(exc)))
                continue
            body, page = extracted.text, extracted.info
        if not isinstance(body, str):
            where = f"{display}:{lineno}"
            if body is not None:
                reason = f"field {options.text_field!r} is not a string"
            elif html is not None:
                reason = f"field {options.html_field!r} is not a string"
            else:
                reason = f"missing field {options.text_field!r} (or {options.html_field!r})"
            if options.strict:
                raise InputError(f"{where}: {reason}")
            on_skip(Skipped(where, reason))
            continue
        rid = record.get(options.id_field)
        doc_id = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) else None
        yield lineno, body, doc_id, raw, page
    if read and blank:
        on_skip(Skipped(display, "whitespace-only file"))


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
    options = options or ReadOptions()
    skip: SkipCallback = on_skip or (lambda s: None)
    ids: dict[str, str] = {}
    index = 0
    for display, path in iter_input_files(paths, skip):
        is_jsonl = path is not None and path.suffix.lower() in JSONL_SUFFIXES
        fh = sys.stdin.buffer if path is None else _open(display, path, skip)
        if fh is None:
            continue
        try:
            if is_jsonl:
                lines = _iter_jsonl_lines(fh, display, options, skip)
                for lineno, body, rid, raw, page in _parse_records(display, lines, options, skip):
                    where = f"{display}:{lineno}"
                    doc_id = rid if rid is not None else where
                    if doc_id in ids:
                        skip(Skipped(where, f"duplicate id {doc_id!r} (first at {ids[doc_id]}): named {where}",
                                     skipped=False))
                        doc_id = where
                    ids.setdefault(doc_id, where)
                    yield Document(id=doc_id, text=body, source=display, index=index, line=lineno,
                                   record=raw if options.keep_records else None, page=page)
                    index += 1
                continue
            data = _read_capped(fh, display, options.max_bytes, skip)
        except OSError as exc:
            skip(Skipped(display, _os_reason(exc, path)))
            continue
        finally:
            if path is not None:
                fh.close()
        if data is None:
            continue
        if _is_html(path, data):
            doc = _read_html(display, data, options, index, skip)
            if doc is not None:
                doc = _unique_file_id(doc, ids, skip)
                yield doc
                index += 1
            continue
        text = _decode(data, options.encoding, display, skip)
        if text is None:
            continue
        if not text.strip():
            skip(Skipped(display, "empty file" if not text else "whitespace-only file"))
            continue
        yield _unique_file_id(Document(id=display, text=text, source=display, index=index), ids, skip)
        index += 1


def _unique_file_id(doc: Document, ids: dict[str, str], skip: SkipCallback) -> Document:
    """Report a file whose path is already the id of a JSONL record (the file keeps its path)."""
    if doc.id in ids:
        skip(Skipped(doc.id, f"duplicate id {doc.id!r} (first at {ids[doc.id]})", skipped=False))
    ids.setdefault(doc.id, doc.id)
    return doc


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
        # The temporary file is named before it is created (mkstemp's way left it behind when Ctrl-C
        # came while the file was being created: the interruption was raised inside mkstemp, before
        # its name reached us), so that an interruption at any point below can remove it.
        for _attempt in range(100):
            tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
                break
            except FileExistsError:
                tmp = ""  # not ours
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name")
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
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
