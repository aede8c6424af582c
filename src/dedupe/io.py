"""Reading input: files, directories, ``-`` (stdin), JSONL and HTML pages, as a stream of :class:`Document`.

HTML pages (``.html``/``.htm``, or any input whose content starts like HTML, and JSONL records
with an HTML field) go through the extract stage (:mod:`dedupe.extract`) here, so every
document leaves this module as text. Unreadable or unusable inputs are not fatal: they are
reported through the ``on_skip`` callback with a reason, so that the caller can count and show them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dedupe.config import ExtractConfig
from dedupe.errors import InputError
from dedupe.extract import HTML_SUFFIXES, ExtractionError, decode_html, extract_article, looks_like_html
from dedupe.models import Document, Skipped

TEXT_SUFFIXES = frozenset({".txt", ".md", ".text"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
WALKED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

SkipCallback = Callable[[Skipped], None]


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
    """

    text_field: str = "text"
    id_field: str = "id"
    encoding: str = "utf-8"
    strict: bool = False
    html_field: str = "html"
    extract: ExtractConfig = field(default_factory=ExtractConfig)


def _display_path(path: Path, given: str, root: Path) -> str:
    """The path as the user would write it: relative to what they gave us."""
    if path == root:
        return given
    rel = path.relative_to(root).as_posix()
    if given in (".", "./"):
        return rel
    return given.rstrip("/") + "/" + rel


def iter_input_files(paths: Iterable[str], on_skip: SkipCallback) -> Iterator[tuple[str, Path | None]]:
    """Expand user paths into ``(display_path, path)`` pairs, in a deterministic order.

    Directories are walked recursively (sorted), keeping files with a text, HTML or JSONL suffix;
    files named explicitly are always read. ``-`` yields ``("-", None)``.

    Raises:
        InputError: a path that does not exist.
    """
    for given in paths:
        if given == "-":
            yield "-", None
            continue
        root = Path(given)
        if not root.exists():
            if root.is_symlink():
                on_skip(Skipped(given, "broken symbolic link"))
                continue
            raise InputError(f"no such file or directory: {given}")
        if root.is_dir():
            found = False
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
                dirnames.sort()
                for name in sorted(filenames):
                    p = Path(dirpath) / name
                    if p.suffix.lower() in WALKED_SUFFIXES:
                        found = True
                        yield _display_path(p, given, root), p
            if not found:
                on_skip(Skipped(given, "directory holds no .txt, .md, .text, .html, .htm or .jsonl files"))
        else:
            yield given, root


def _decode(data: bytes, encoding: str, display: str, on_skip: SkipCallback) -> str | None:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        on_skip(Skipped(display, "binary file (NUL bytes)"))
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        on_skip(Skipped(display, f"invalid {encoding}: undecodable bytes replaced with U+FFFD", skipped=False))
        return data.decode(encoding, errors="replace")
    except LookupError as exc:
        raise InputError(f"unknown encoding: {encoding}") from exc


def _read_bytes(display: str, path: Path | None, on_skip: SkipCallback) -> bytes | None:
    try:
        if path is None:
            return sys.stdin.buffer.read()
        return path.read_bytes()
    except PermissionError:
        on_skip(Skipped(display, "permission denied"))
    except IsADirectoryError:
        on_skip(Skipped(display, "is a directory"))
    except OSError as exc:
        if path is not None and path.is_symlink() and not path.exists():
            on_skip(Skipped(display, "broken symbolic link"))
        else:
            on_skip(Skipped(display, exc.strerror or str(exc)))
    return None


def _iter_jsonl(
    display: str, text: str, options: ReadOptions, start: int, on_skip: SkipCallback
) -> Iterator[Document]:
    index = start
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{display}:{lineno}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            if options.strict:
                raise InputError(f"{where}: malformed JSON ({exc.msg})") from exc
            on_skip(Skipped(where, f"malformed JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict):
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
                on_skip(Skipped(where, str(exc)))
                continue
            body, page = extracted.text, extracted.info
        if not isinstance(body, str):
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
        doc_id = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) else where
        yield Document(id=doc_id, text=body, source=display, index=index, line=lineno, record=raw, page=page)
        index += 1


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
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
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

    Args:
        paths: Files, directories (recursive) and ``-`` for stdin.
        options: How to read (JSONL fields, encoding, strictness).
        on_skip: Called for every input left out, with the reason.

    Raises:
        InputError: a missing path, or a malformed JSONL line with ``strict``.
    """
    options = options or ReadOptions()
    skip: SkipCallback = on_skip or (lambda s: None)
    index = 0
    for display, path in iter_input_files(paths, skip):
        data = _read_bytes(display, path, skip)
        if data is None:
            continue
        is_jsonl = path is not None and path.suffix.lower() in JSONL_SUFFIXES
        if not is_jsonl and _is_html(path, data):
            doc = _read_html(display, data, options, index, skip)
            if doc is not None:
                yield doc
                index += 1
            continue
        text = _decode(data, options.encoding, display, skip)
        if text is None:
            continue
        if is_jsonl:
            for doc in _iter_jsonl(display, text, options, index, skip):
                index += 1
                yield doc
            continue
        if not text.strip():
            skip(Skipped(display, "empty file" if not text else "whitespace-only file"))
            continue
        yield Document(id=display, text=text, source=display, index=index)
        index += 1


def write_atomic(path: Path, data: str, encoding: str = "utf-8") -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename,
    so that readers never see a half-written file.

    Raises:
        InputError: the file cannot be written.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException as exc:
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
