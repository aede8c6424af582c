"""Where ``scan`` keeps what it read and computed, so that memory holds only the small parts.

A million news articles are about 2.4 GB of text, and what verification needs of them (shingle
and content hashes, the cleaned text) about three times that. None of it is needed all the time:
scan streams every text once through cleaning and signatures, and later reads back only the
documents of candidate pairs. So texts, JSONL records and verification data go to an anonymous
temporary file (:class:`Spill`, unlinked at once: nothing is left behind, even after SIGKILL),
read back with ``pread`` (the kernel's page cache does the caching, outside our RSS); memory
keeps ids, offsets and signatures.
"""

from __future__ import annotations

import functools
import os
import queue
import tempfile
import threading
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, overload

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
        data = os.pread(self._fd, length, offset)
        while len(data) < length:  # pread may return less than asked on some file systems
            more = os.pread(self._fd, length - len(data), offset + len(data))
            if not more:
                raise OSError(f"spill file truncated at {offset + len(data)}")
            data += more
        return data

    def close(self) -> None:
        try:
            self._wait()
        except SpillError:
            pass  # the scan is over (or failing already): nothing of it will be read
        finally:
            self._fh.close()


class DocumentTable(Sequence[Document]):
    """The documents of a scan, in input order: ids and metadata in memory, texts and JSONL
    records in a :class:`Spill`. Indexing rebuilds the :class:`Document` (with its text)."""

    def __init__(self, spill: Spill | None = None) -> None:
        self.spill = spill or Spill()
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

    def text(self, k: int) -> str:
        """The raw text of document ``k``."""
        return self.spill.read(self._text_at[k], self._text_len[k]).decode(ENCODING, ERRORS)

    def texts(self, start: int, stop: int) -> list[str]:
        """The raw texts of documents ``start <= k < stop``, read from disk in one call (they are
        stored one after the other, with the JSONL records between them when kept)."""
        if start >= stop:
            return []
        base = self._text_at[start]
        data = self.spill.read(base, self._text_at[stop - 1] + self._text_len[stop - 1] - base)
        at, size = self._text_at, self._text_len
        return [data[at[k] - base : at[k] - base + size[k]].decode(ENCODING, ERRORS) for k in range(start, stop)]

    def text_size(self, k: int) -> int:
        """Bytes of the text of document ``k`` (UTF-8)."""
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
            record=None if n < 0 else self.spill.read(self._record_at[k], n).decode(ENCODING, ERRORS),
            page=self._pages.get(k),
        )

    def __iter__(self) -> Iterator[Document]:
        for k in range(len(self)):
            yield self[k]
