"""HTML input: decode a saved web page and extract its article text with trafilatura.

This stage sits between reading and cleaning::

    read -> extract (HTML only) -> clean -> normalize -> ...

:func:`decode_html` turns the bytes of a page into text, honouring the page's own
declarations; :func:`extract_article` runs trafilatura and returns the article text with
the headline on its first line, plus the title, author and date when the page has them.
The text rules of the cleaner run on the result afterwards (in its ``extracted`` mode,
see docs/clean.md), so that the captions, promos and related links an extractor lets
through are removed too.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from dedupe.config import ExtractConfig
from dedupe.errors import InputError
from dedupe.models import PageInfo

HTML_SUFFIXES = frozenset({".html", ".htm"})

# How far into a page the charset declaration is looked for. The HTML standard's prescan
# reads 1024 bytes; saved pages often have long <script> or <style> blocks first.
_PRESCAN_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
# Labels that browsers (WHATWG Encoding Standard) decode as windows-1252, because pages
# labelled so routinely use its extra characters (curly quotes, dashes) in 0x80-0x9f.
_AS_WINDOWS_1252 = frozenset({"iso8859-1", "latin-1", "ascii", "cp1252", "x-user-defined"})
# Only ASCII-compatible encodings can be declared inside the page (a page that says
# "utf-16" in ASCII bytes is not UTF-16: browsers then use UTF-8).
_NOT_ASCII_COMPATIBLE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
_FALLBACK_ENCODING = "windows-1252"

_SNIFF_PREFIX = re.compile(
    r"""^\ufeff?\s*(?:<\?xml\b[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html\b|html\b|head\b|body\b)""",
    re.IGNORECASE | re.DOTALL,
)
# A sentence: six or more words ending with sentence punctuation (or, in scripts written
# without spaces, a dozen characters ending with a full stop).
_SENTENCE = re.compile(r"(?:\w+[^\w.!?|\n]+){5,}\w+[.!?…](?:\W|$)|[^\s|]{12,}[。！？]")
# Words; each CJK character counts as one.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


class ExtractionError(InputError):
    """A page from which no article text can be extracted (the reason is the message)."""


@dataclass(frozen=True)
class DecodedPage:
    """A page's text and how it was decoded.

    Attributes:
        text: The decoded page.
        encoding: The Python codec used.
        warning: Why the result may be wrong (undeclared or undecodable bytes), else ``None``.
    """

    text: str
    encoding: str
    warning: str | None = None


@dataclass(frozen=True)
class ExtractedPage:
    """The article of a page: its text (headline first) and metadata."""

    text: str
    info: PageInfo


def looks_like_html(head: str | bytes) -> bool:
    """Whether the start of a document is HTML markup (a doctype, ``<html>``, ``<head>`` or ``<body>``,
    possibly after an XML declaration, comments and whitespace).

    Args:
        head: The first kilobytes of the document (bytes are read as ASCII).

    Returns:
        True for an HTML page.
    """
    if isinstance(head, bytes):
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            head = head.decode("utf-16", errors="replace")
        else:
            head = head.decode("latin-1")
    return bool(_SNIFF_PREFIX.match(head[:4096]))


def _codec(label: bytes | str) -> str | None:
    """The Python codec name of an encoding label, or ``None`` if unknown."""
    name = label.decode("ascii", errors="replace") if isinstance(label, bytes) else label
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    if codec in _AS_WINDOWS_1252:
        return "cp1252"
    if codec in _NOT_ASCII_COMPATIBLE:
        return "utf-8"
    return codec


def declared_encoding(data: bytes) -> str | None:
    """The encoding a page declares in its first few kilobytes: ``<meta charset>``, an
    HTTP-style ``<meta http-equiv="Content-Type" content="...; charset=...">``, or an XML
    declaration. Returns the Python codec name, or ``None`` when there is no usable declaration.
    """
    head = data[:_PRESCAN_BYTES]
    m = _META_CHARSET.search(head) or _XML_ENCODING.match(head)
    return _codec(m.group(1)) if m else None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(data: bytes) -> DecodedPage:
    """Decode the bytes of an HTML page.

    In order: a byte-order mark (UTF-8, UTF-16); the page's own declaration (see
    :func:`declared_encoding`); UTF-8; windows-1252 with a warning. A page declared as a
    single-byte encoding whose bytes are nonetheless valid UTF-8 with multi-byte sequences is
    decoded as UTF-8: such pages were re-encoded without updating their header, and legacy
    text is almost never valid UTF-8 by accident. Bytes invalid in the chosen encoding are
    replaced (U+FFFD), with a warning.

    Args:
        data: The page.

    Returns:
        The text, the codec used and a warning if the decoding is a guess or lossy.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[3:], "utf-8", None)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16", None)
    declared = declared_encoding(data)
    if declared is not None:
        if declared != "utf-8" and not data.isascii() and _is_single_byte(declared) and _is_utf8(data):
            return _decode(data, "utf-8", None)
        return _decode(data, declared, None)
    if _is_utf8(data):
        return _decode(data, "utf-8", None)
    return _decode(data, "cp1252", f"no charset declared and not valid UTF-8: decoded as {_FALLBACK_ENCODING}")


def _is_single_byte(codec: str) -> bool:
    """Whether every byte is one character in ``codec`` (latin-1 family, cp125x, koi8-r...)."""
    return len(bytes(range(0x80, 0x100)).decode(codec, errors="replace")) == 0x80


def _decode(data: bytes, codec: str, warning: str | None) -> DecodedPage:
    try:
        return DecodedPage(data.decode(codec), codec, warning)
    except UnicodeDecodeError:
        lossy = f"invalid {codec}: undecodable bytes replaced with U+FFFD"
        return DecodedPage(data.decode(codec, errors="replace"), codec, f"{warning}; {lossy}" if warning else lossy)


def _has_article(text: str, min_words: int) -> bool:
    """Whether extracted text looks like an article rather than leftover navigation:
    enough words, and at least one sentence."""
    if len(_WORD.findall(text)) < min_words:
        return False
    return bool(_SENTENCE.search(text))


def extract_article(html: str, config: ExtractConfig | None = None) -> ExtractedPage:
    """Extract the article of an HTML page with trafilatura.

    The text is trafilatura's plain-text output with the page's headline (trafilatura's
    title) on the first line when ``config.headline`` is on, as a text page would have it.

    Args:
        html: The decoded page (see :func:`decode_html`).
        config: Extraction settings; defaults to ``ExtractConfig()``.

    Returns:
        The article text and the page's title, author and date (``None`` where unknown).

    Raises:
        ExtractionError: the markup cannot be parsed, or the page holds no article text.
    """
    import trafilatura

    config = config or ExtractConfig()
    try:
        doc = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=config.include_comments,
            include_tables=config.include_tables,
            favor_recall=config.favor == "recall",
            favor_precision=config.favor == "precision",
            deduplicate=False,
        )
    except Exception as exc:  # trafilatura and lxml raise many types on pathological markup
        raise ExtractionError(f"cannot parse the HTML ({type(exc).__name__}: {exc})") from exc
    body = (getattr(doc, "text", None) or "") if doc is not None else ""
    if doc is None and not html.strip():
        raise ExtractionError("empty page")
    if not _has_article(body, config.min_words):
        raise ExtractionError("no article text found in the page")
    info = PageInfo(
        title=_clean_field(getattr(doc, "title", None)),
        author=_clean_field(getattr(doc, "author", None)),
        date=_clean_field(getattr(doc, "date", None)),
    )
    text = body.strip("\n")
    if config.headline and info.title and not _starts_with(text, info.title):
        text = info.title + "\n\n" + text
    return ExtractedPage(text=text + "\n", info=info)


def _clean_field(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _starts_with(text: str, title: str) -> bool:
    first = text.lstrip().split("\n", 1)[0]
    return " ".join(first.split()).casefold() == title.casefold()
