"""Where ``scan`` keeps what it read and computed, so that memory holds only the small parts.

A million news articles are about 2.4 GB of text, and what verification needs of them (shingle
and content hashes, the cleaned text) about three times that. None of it is needed all the time:
scan streams every text once through cleaning and signatures, and later reads back only the
documents of candidate pairs. So texts, JSONL records and verification data go to an anonymous
temporary file (:class:`Spill`, unlinked at once: nothing is left behind, even after SIGKILL),
read back with ``pread`` (the kernel's page cache does the caching, outside our RSS); memory
keeps ids, offsets and signatures. The texts of a large JSONL input read in parts are not copied
at all: they are read again from its lines (:class:`LineSource`).
"""

from __future__ import annotations

import functools
import os
import queue
import tempfile
import threading
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, overload

from dedupe.errors import DedupeError
from dedupe.models import Document, PageInfo

ENCODING = "utf-8"
ERRORS = "surrogatepass"  # texts may hold lone surrogates (decoded JSON); they round-trip


class SpillError(DedupeError):
    """The temporary file cannot be written."""


def _pwrite(fd: int, data: bytes, at: int) -> None:
    """Write all of ``data`` at offset ``at`` of ``fd``.

    Raises:
        SpillError: the file cannot be written.
    """
    view = memoryview(data)
    try:
        while view:  # pwrite may write less than asked (2 GiB per call on Linux, a full disk)
            done = os.pwrite(fd, view, at)
            at += done
            view = view[done:]
    except OSError as exc:
        raise SpillError(
            f"cannot write dedupe's temporary file in {tempfile.gettempdir()} ({exc.strerror}); "
            "set TMPDIR to a directory with more space"
        ) from exc


class FileCutShort(OSError):
    """A file ended before the bytes asked for (:func:`pread_exactly`)."""


def pread_exactly(fd: int, length: int, offset: int) -> bytes:
    """The ``length`` bytes at ``offset`` of ``fd``.

    Raises:
        FileCutShort: the file ends before them.
    """
    data = os.pread(fd, length, offset)
    while len(data) < length:  # pread may return less than asked on some file systems
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            raise FileCutShort(f"file truncated at {offset + len(data)}")
        data += more
    return data


class _Writer(threading.Thread):
    """Writes a :class:`Spill`'s full buffers in the background, so that the process goes on
    producing (parsing input, receiving results) while the kernel copies the bytes into the page
    cache, on another core: a fresh page costs as much as the bytes it holds take to parse.
    Holds at most ``_DEPTH`` buffers; the first error stops the writes and is re-raised by the
    owner (:meth:`Spill.flush` and the next append)."""

    _DEPTH = 8

    def __init__(self, write: Any) -> None:
        super().__init__(name="dedupe-spill-writer", daemon=True)
        self._write = write
        self.queue: queue.Queue[tuple[bytes, int] | None] = queue.Queue(self._DEPTH)
        self.error: BaseException | None = None

    def run(self) -> None:  # holds the file descriptor only: a Spill dropped unflushed is still freed
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the owner, which raises it
                    self.error = exc


class Spill:
    """An append-only anonymous temporary file of byte blobs, read back by offset.

    Reads use ``os.pread`` on the file descriptor, which does not move a shared file position, so
    processes forked after the writes (verification workers) can read concurrently. Appends are
    buffered and written in megabytes, by a thread of the owning process (:class:`_Writer`) while
    the appends go on; :meth:`flush`, :meth:`read` and :meth:`fileno` wait for it, and no thread is
    left running after them (workers are forked after a flush).
    """

    def __init__(self, directory: str | None = None) -> None:
        try:
            self._fh = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (lives as long as the scan)
        except OSError as exc:
            raise SpillError(f"cannot create dedupe's temporary file in {directory or tempfile.gettempdir()} "
                             f"({exc.strerror}); set TMPDIR to a writable directory") from exc
        self._fd = self._fh.fileno()
        self.size = 0  # bytes appended, written or not
        self._written = 0  # bytes handed to pwrite (on disk once the writer is done)
        self._pending: list[bytes] = []  # small appends, written together (one system call per MB)
        self._end: Any = None  # between share() and unshare(): the shared end of the file
        self._writer: _Writer | None = None
        self._owner = os.getpid()

    _FLUSH = 1 << 20
    _BACKGROUND_MAX = 8 << 20  # a larger buffer (a huge document) is written at once: memory in flight stays bounded

    def append(self, data: bytes) -> int:
        """Append ``data``; returns its offset. Small blobs are buffered and written together.

        Raises:
            SpillError: the temporary file cannot be written (typically: no space left in ``$TMPDIR``).
        """
        if self._end is not None:
            return self.append_shared(data)
        at = self.size
        self.size += len(data)
        self._pending.append(data)
        if self.size - self._written >= self._FLUSH:
            self._write_pending(background=True)
        return at

    def flush(self) -> None:
        """Write what is buffered, and wait until it is written (reads and forks of workers that
        read need it on disk).

        Raises:
            SpillError: the temporary file cannot be written.
        """
        self._write_pending(background=False)
        self._wait()

    def _write_pending(self, background: bool) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = []
        at = self._written
        self._written += len(data)
        if not background or os.getpid() != self._owner or len(data) > self._BACKGROUND_MAX:
            self._wait()
            _pwrite(self._fd, data, at)
            return
        if self._writer is None:
            self._writer = _Writer(functools.partial(_pwrite, self._fd))
            self._writer.start()
        self._raise_error()
        self._writer.queue.put((data, at))

    def _wait(self) -> None:
        """Wait for the writer thread to finish its writes, and stop it; raise its error."""
        writer = self._writer
        if writer is None or os.getpid() != self._owner:  # a forked child: the thread is the parent's
            return
        self._writer = None
        writer.queue.put(None)
        writer.join()
        if writer.error is not None:
            raise writer.error

    def _raise_error(self) -> None:
        if self._writer is not None and self._writer.error is not None:
            self._wait()

    def __del__(self) -> None:
        # A Spill dropped without close() (an error while reading the input, in a program that goes
        # on): its writer thread stops once it has written what it holds.
        writer = getattr(self, "_writer", None)
        if writer is not None and getattr(self, "_owner", None) == os.getpid():
            writer.queue.put(None)

    def share(self, context: Any) -> None:
        """Let processes forked after this call append to the file too (:meth:`append_shared`),
        until :meth:`unshare`: the end of the file is then kept in shared memory (``context.Value``,
        ``context`` a :mod:`multiprocessing` context), where each append reserves its bytes."""
        if self._end is not None:
            raise RuntimeError("share() twice")
        self.flush()
        self._end = context.Value("q", self.size)

    def append_shared(self, data: bytes) -> int:
        """Append ``data`` from any process forked after :meth:`share`; returns its offset. Written
        at once, without buffering, so that what the call returns is on disk.

        Raises:
            SpillError: the temporary file cannot be written.
        """
        end = self._end
        if end is None:
            raise RuntimeError("append_shared() needs share() first")
        with end.get_lock():
            at = int(end.value)
            end.value = at + len(data)
        _pwrite(self._fd, data, at)
        return at

    def unshare(self) -> None:
        """Back to appends by this process alone, after everything appended elsewhere."""
        if self._end is not None:
            # Read without the lock: no other process appends now, and one killed while it held the
            # lock (Ctrl-C terminates the workers) would leave it taken for good.
            self.size = self._written = int(self._end.get_obj().value)
            self._end = None

    def rewind(self) -> None:
        """Append from offset 0 again, over what the file holds, which must not be read after this.

        The file keeps its pages in the page cache, so writing over them takes no new memory, where
        appending to a new file takes fresh pages: on this project's VM a fresh gigabyte costs 3-4 s
        of system time (docs/performance.md). Also keeps the temporary disk used from growing.
        """
        if self._end is not None:
            raise RuntimeError("rewind() while shared")
        self.flush()
        self.size = self._written = 0

    def fileno(self) -> int:
        """The file descriptor (for ``pread`` by compiled code); everything appended is flushed first."""
        self.flush()
        return self._fd

    def read(self, offset: int, length: int) -> bytes:
        """The ``length`` bytes at ``offset``."""
        if length <= 0:
            return b""
        if offset + length > self._written or self._writer is not None:
            self.flush()
        return pread_exactly(self._fd, length, offset)

    def close(self) -> None:
        try:
            self._wait()
        except SpillError:
            pass  # the scan is over (or failing already): nothing of it will be read
        finally:
            self._fh.close()


class LineSource(Protocol):
    """A file whose lines hold the texts of some documents (:class:`dedupe.io.JsonlSource`), read
    again by byte range instead of being copied to the :class:`Spill`."""

    def read(self, offset: int, length: int) -> bytes: ...
    def text(self, line: bytes, crc: int) -> str: ...
    def record(self, line: bytes, crc: int) -> str: ...


class DocumentTable(Sequence[Document]):
    """The documents of a scan, in input order: ids and metadata in memory, texts and JSONL
    records in a :class:`Spill`, or in the lines of a :class:`LineSource`. Indexing rebuilds the
    :class:`Document` (with its text)."""

    def __init__(self, spill: Spill | None = None) -> None:
        self.spill = spill or Spill()
        self._line_sources: list[LineSource] = []
        self._origin = array("i")  # per document: -1 (text in the spill), else its line source
        self._crc = array("L")  # of the document's line, for a line source
        self.ids: list[str] = []
        self._sources: list[str] = []
        self._source_ids: dict[str, str] = {}
        self._lines = array("q")
        self._text_at = array("q")
        self._text_len = array("q")
        self._record_at = array("q")
        self._record_len = array("q")  # -1: no record
        self._pages: dict[int, PageInfo] = {}

    def append(self, doc: Document, data: bytes | None = None) -> int:
        """Store ``doc`` (its ``index`` becomes its position here); returns that position. ``data``:
        its text encoded already (``ENCODING``, ``ERRORS``), if the caller has it."""
        k = len(self.ids)
        self.ids.append(doc.id)
        # One string object per source file, not one per JSONL record.
        self._sources.append(self._source_ids.setdefault(doc.source, doc.source))
        self._lines.append(-1 if doc.line is None else doc.line)
        self._origin.append(-1)
        self._crc.append(0)
        if data is None:
            data = doc.text.encode(ENCODING, ERRORS)
        self._text_at.append(self.spill.append(data))
        self._text_len.append(len(data))
        if doc.record is None:
            self._record_at.append(0)
            self._record_len.append(-1)
        else:
            rec = doc.record.encode(ENCODING, ERRORS)
            self._record_at.append(self.spill.append(rec))
            self._record_len.append(len(rec))
        if doc.page is not None:
            self._pages[k] = doc.page
        return k

    @property
    def line_sources(self) -> int:
        """How many line sources the table reads texts from."""
        return len(self._line_sources)

    def add_line_source(self, source: LineSource) -> int:
        """Register a file whose lines hold texts (:meth:`extend_stored`); returns its number."""
        self._line_sources.append(source)
        return len(self._line_sources) - 1

    def extend_stored(self, ids: Sequence[str], source: str, lines: Sequence[int], at: int,
                      text_at: Sequence[int], text_len: Sequence[int], record_at: Sequence[int],
                      record_len: Sequence[int], pages: dict[int, PageInfo], origin: Sequence[int],
                      crc: Sequence[int]) -> None:
        """Add documents whose texts (and records) another process stored. Per document, ``origin``
        says where: -1, written to :attr:`spill` at ``at`` plus its offsets (``record_len`` -1: no
        record); else in the line source of that number (:meth:`add_line_source`), the line at
        ``text_at`` of ``text_len`` bytes, whose CRC-32 is ``crc`` (the record, if kept, is the
        line). ``pages`` by position among them."""
        k = len(self.ids)
        self.ids.extend(ids)
        source = self._source_ids.setdefault(source, source)
        self._sources.extend([source] * len(ids))
        self._lines.extend(lines)
        self._origin.extend(origin)
        self._crc.extend(crc)
        self._text_at.extend(x if o >= 0 else at + x for x, o in zip(text_at, origin))
        self._text_len.extend(text_len)
        self._record_at.extend(x if o >= 0 else at + x for x, o in zip(record_at, origin))
        self._record_len.extend(record_len)
        for j, page in pages.items():
            self._pages[k + j] = page

    def _line(self, k: int) -> bytes:
        return self._line_sources[self._origin[k]].read(self._text_at[k], self._text_len[k])

    def text(self, k: int) -> str:
        """The raw text of document ``k``."""
        origin = self._origin[k]
        if origin >= 0:
            return self._line_sources[origin].text(self._line(k), self._crc[k])
        return self.spill.read(self._text_at[k], self._text_len[k]).decode(ENCODING, ERRORS)

    def texts(self, start: int, stop: int) -> list[str]:
        """The raw texts of documents ``start <= k < stop``, read from disk in one call for each run
        of them stored one after the other in the same file (with the JSONL records between them
        when kept): one run, unless a span mixes files or parts of a file read in parallel."""
        out: list[str] = []
        at, size, origin = self._text_at, self._text_len, self._origin
        while start < stop:
            # a run of texts that follow each other in the same file (the parts of a file read in
            # parallel are written to the spill in the order they are done)
            end = start + 1
            while (end < stop and origin[end] == origin[start]
                   and at[end - 1] <= at[end] <= at[end - 1] + size[end - 1] + (1 << 16)):
                end += 1
            base = at[start]
            n = at[end - 1] + size[end - 1] - base
            if origin[start] < 0:
                data = self.spill.read(base, n)
                out.extend(data[at[k] - base : at[k] - base + size[k]].decode(ENCODING, ERRORS)
                           for k in range(start, end))
            else:
                lines = self._line_sources[origin[start]]
                data = lines.read(base, n)
                out.extend(lines.text(data[at[k] - base : at[k] - base + size[k]], self._crc[k]) for k in range(start, end))
            start = end
        return out

    def text_size(self, k: int) -> int:
        """Bytes of the text of document ``k`` (UTF-8; of a line source, of its line)."""
        return self._text_len[k]

    def is_page(self, k: int) -> bool:
        """Whether document ``k`` was extracted from an HTML page."""
        return k in self._pages

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, k: int) -> Document: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[Document]: ...

    def __getitem__(self, k: int | slice) -> Document | Sequence[Document]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        n = self._record_len[k]
        line = self._lines[k]
        return Document(
            id=self.ids[k],
            text=self.text(k),
            source=self._sources[k],
            index=k,
            line=None if line < 0 else line,
            record=None if n < 0 else self._record(k, n),
            page=self._pages.get(k),
        )

    def _record(self, k: int, n: int) -> str:
        origin = self._origin[k]
        if origin >= 0:
            return self._line_sources[origin].record(self._line(k), self._crc[k])
        return self.spill.read(self._record_at[k], n).decode(ENCODING, ERRORS)

    def __iter__(self) -> Iterator[Document]:
        for k in range(len(self)):
            yield self[k]
