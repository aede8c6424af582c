"""Reading input: files, directories, ``-`` (stdin) and JSONL, as a stream of :class:`Document`.

Unreadable or unusable inputs are not fatal: they are reported through the ``on_skip``
callback with a reason, so that the caller can count and show them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dedupe.errors import InputError
from dedupe.models import Document, Skipped

TEXT_SUFFIXES = frozenset({".txt", ".md", ".text"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})

SkipCallback = Callable[[Skipped], None]


@dataclass(frozen=True)
class ReadOptions:
    """How to read input.

    Attributes:
        text_field: JSONL field holding the text.
        id_field: JSONL field holding the id; records without it get ``FILE:LINE``.
        encoding: Encoding of text files; undecodable bytes are replaced (with a warning).
        strict: Malformed JSONL lines are fatal instead of skipped.
    """

    text_field: str = "text"
    id_field: str = "id"
    encoding: str = "utf-8"
    strict: bool = False


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

    Directories are walked recursively (sorted), keeping files with a text or JSONL suffix;
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
                    if p.suffix.lower() in TEXT_SUFFIXES or p.suffix.lower() in JSONL_SUFFIXES:
                        found = True
                        yield _display_path(p, given, root), p
            if not found:
                on_skip(Skipped(given, "directory holds no .txt, .md, .text or .jsonl files"))
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
        if not isinstance(body, str):
            reason = (
                f"missing field {options.text_field!r}"
                if body is None
                else f"field {options.text_field!r} is not a string"
            )
            if options.strict:
                raise InputError(f"{where}: {reason}")
            on_skip(Skipped(where, reason))
            continue
        rid = record.get(options.id_field)
        doc_id = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) else where
        yield Document(id=doc_id, text=body, source=display, index=index, line=lineno, record=raw)
        index += 1


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
        text = _decode(data, options.encoding, display, skip)
        if text is None:
            continue
        if path is not None and path.suffix.lower() in JSONL_SUFFIXES:
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
