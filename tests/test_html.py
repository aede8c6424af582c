"""HTML input: charset decoding, sniffing, extraction, the extracted-text cleaning mode, CLI and scan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from dedupe.clean import Cleaner
from dedupe.cli import cli
from dedupe.config import ExtractConfig
from dedupe.errors import ConfigError
from dedupe.extract import ExtractionError, declared_encoding, decode_html, extract_article, looks_like_html
from dedupe.io import ReadOptions, iter_documents
from dedupe.models import Skipped
from dedupe.pipeline import scan_paths

HTML = FIXTURES / "html"
BRIDGE = HTML / "bridge_cp1252.html"
LIBRARY = HTML / "library_utf8.html"


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


# --- decoding ---------------------------------------------------------------


def test_windows_1252_page_with_meta_charset():
    data = BRIDGE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is windows-1252
    page = decode_html(data)
    assert page.encoding == "cp1252" and page.warning is None
    assert "“It is a relief" in page.text and "café" in page.text and "£12 million" in page.text


def test_utf8_page_with_http_equiv():
    assert declared_encoding(LIBRARY.read_bytes()) == "utf-8"
    page = decode_html(LIBRARY.read_bytes())
    assert page.encoding == "utf-8" and "day’s top stories" in page.text


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="iso-8859-1">', "cp1252"),  # browsers read latin-1 labels as windows-1252
        (b"<meta http-equiv='content-type' content='text/html;charset=KOI8-R'>", "koi8-r"),
        (b'<meta charset="ISO-8859-15">', "iso8859-15"),
        (b'<meta charset="utf-16">', "utf-8"),  # an ASCII page cannot be UTF-16
        (b'<meta charset="no-such-thing">', None),
        (b"<p>no declaration</p>", None),
    ],
)
def test_declared_encoding(head: bytes, expected: str | None):
    assert declared_encoding(b"<html><head>" + head + b"</head>") == expected


def test_xml_declaration():
    assert declared_encoding(b'<?xml version="1.0" encoding="ISO-8859-2"?>\n<html>') == "iso8859-2"


def test_declaration_beyond_the_prescan_is_ignored():
    data = b"<html><head><script>" + b"x" * 5000 + b'</script><meta charset="koi8-r">'
    assert declared_encoding(data) is None


def test_bom_wins_over_declaration():
    data = "\ufeff<html><meta charset='windows-1252'><p>café</p></html>".encode("utf-8")
    page = decode_html(data)
    assert page.encoding == "utf-8" and "café" in page.text and not page.text.startswith("\ufeff")
    assert "café" in decode_html("<html><p>café</p></html>".encode("utf-16")).text


def test_single_byte_declaration_on_utf8_bytes_is_utf8():
    # a page re-encoded to UTF-8 without updating its header: "Â " mojibake otherwise
    data = '<html><meta charset="iso-8859-1"><p>Published:\u00a0Thursday – café</p></html>'.encode()
    page = decode_html(data)
    assert page.encoding == "utf-8" and "Published:\u00a0Thursday – café" in page.text


def test_undeclared_non_utf8_falls_back_with_a_warning():
    page = decode_html("<html><p>caf\u00e9 \u201cquoted\u201d</p></html>".encode("cp1252"))
    assert page.encoding == "cp1252" and "café “quoted”" in page.text
    assert page.warning and "no charset declared" in page.warning


def test_declared_but_invalid_bytes_are_replaced_with_a_warning():
    page = decode_html(b'<html><meta charset="utf-8"><p>caf\xe9</p></html>')
    assert "\ufffd" in page.text and page.warning and "U+FFFD" in page.warning


@pytest.mark.parametrize(
    ("head", "is_html"),
    [
        ("<!DOCTYPE html><html>", True),
        ("\n  <html lang=en>", True),
        ('<?xml version="1.0"?>\n<!-- saved -->\n<HTML>', True),
        ("<head><title>x</title>", True),
        ("Plain text that mentions <html> tags.", False),
        ("<p>a fragment</p>", False),
    ],
)
def test_sniffing(head: str, is_html: bool):
    assert looks_like_html(head) is is_html
    assert looks_like_html(head.encode()) is is_html


# --- extraction -------------------------------------------------------------


def test_extract_article_puts_the_headline_first_with_metadata():
    page = extract_article(LIBRARY.read_text(encoding="utf-8"))
    lines = [line for line in page.text.splitlines() if line.strip()]
    assert lines[0] == "Library extends its opening hours"
    assert lines[1].startswith("The central library will stay open")
    assert "Home" not in lines and not any("All rights reserved" in line for line in lines)
    assert (page.info.title, page.info.author, page.info.date) == (
        "Library extends its opening hours",
        "Jane Doe",
        "2024-03-05",
    )


def test_extract_without_headline():
    text = extract_article(HTML.joinpath("storm_broken.html").read_text(), ExtractConfig(headline=False)).text
    assert text.startswith("Schools across the county")


def test_broken_markup_is_recovered():
    page = extract_article((HTML / "storm_broken.html").read_text(encoding="utf-8"))
    assert "Power companies said that about four thousand homes" in page.text
    assert "<p>" not in page.text and "</b>" not in page.text


@pytest.mark.parametrize(
    "name", ["no_article.html", "spliced_title.html"]
)  # navigation only; a <title> left open swallows the whole page
def test_no_article_raises(name: str):
    with pytest.raises(ExtractionError, match="no article text"):
        extract_article((HTML / name).read_text(encoding="utf-8"))


def test_extract_config_is_validated():
    with pytest.raises(ConfigError, match="favor"):
        ExtractConfig(favor="speed")


# --- reading ----------------------------------------------------------------


def test_directory_walk_reads_html_and_reports_pages_without_article(tmp_path: Path):
    skipped: list[Skipped] = []
    docs = list(iter_documents([str(HTML)], ReadOptions(), skipped.append))
    assert [Path(d.id).name for d in docs] == [
        "bridge_cp1252.html",
        "library_copy.txt",
        "library_utf8.html",
        "storm_broken.html",
    ]
    assert {Path(s.path).name: s.reason for s in skipped} == {
        "no_article.html": "no article text found in the page",
        "spliced_title.html": "no article text found in the page",
    }
    assert docs[1].page is None and docs[2].page is not None and docs[2].page.author == "Jane Doe"


def test_html_is_sniffed_whatever_the_name(tmp_path: Path):
    odd = tmp_path / "saved_page"
    shutil.copy(LIBRARY, odd)
    (doc,) = iter_documents([str(odd)])
    assert doc.page is not None and doc.text.startswith("Library extends its opening hours\n")
    (plain,) = iter_documents([str(HTML / "library_copy.txt")])
    assert plain.page is None


def test_undeclared_page_warns_but_is_used(tmp_path: Path):
    page = tmp_path / "p.html"
    page.write_bytes(BRIDGE.read_bytes().replace(b'<meta charset="windows-1252">', b""))
    skipped: list[Skipped] = []
    (doc,) = iter_documents([str(page)], ReadOptions(), skipped.append)
    assert "café" in doc.text
    assert len(skipped) == 1 and not skipped[0].skipped and "windows-1252" in skipped[0].reason


def test_jsonl_html_field(tmp_path: Path):
    path = tmp_path / "pages.jsonl"
    records = [
        {"id": "a", "html": LIBRARY.read_text(encoding="utf-8")},
        {"id": "b", "text": "Plain text wins.", "html": "<html><body><p>never read</p></body></html>"},
        {"id": "c", "page": (HTML / "storm_broken.html").read_text(encoding="utf-8")},
        {"id": "d", "html": (HTML / "no_article.html").read_text(encoding="utf-8")},
        {"id": "e", "html": 3},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    skipped: list[Skipped] = []
    docs = list(iter_documents([str(path)], ReadOptions(), skipped.append))
    assert [d.id for d in docs] == ["a", "b"]
    assert docs[0].page is not None and docs[0].text.startswith("Library extends")
    assert docs[1].page is None and docs[1].text == "Plain text wins."
    assert [(s.path.rsplit(":", 1)[1], s.reason) for s in skipped] == [
        ("3", "missing field 'text' (or 'html')"),
        ("4", "no article text found in the page"),
        ("5", "field 'html' is not a string"),
    ]
    docs = list(iter_documents([str(path)], ReadOptions(html_field="page"), lambda s: None))
    assert [d.id for d in docs] == ["b", "c"]


# --- cleaning extracted text ------------------------------------------------

EXTRACTED = """Council approves new bus routes
Published: Monday, 3 March 2024
Share this article
The city council approved three new bus routes on Monday, linking the northern estates with the hospital and the university campus for the first time.
Operators said buses on the new routes would run every ten minutes at peak times and every twenty minutes in the evening.
Minnesota Wild forward Marian Gaborik, Edmonton Oilers goaltender Mathieu Garon and Philadelphia Flyers left wing Scott Hartnell rode the first bus.
The first buses will run in June, once drivers have been trained and the new shelters have been built along the routes.
More from City Times
Tags
"""


def test_extracted_mode_trims_the_edges_and_keeps_the_article():
    result = Cleaner().clean(EXTRACTED, extracted=True)
    kept = result.text.splitlines()
    assert kept[0] == "Council approves new bus routes"  # the extractor's headline
    assert "Share this article" not in kept and "Published: Monday, 3 March 2024" not in kept
    assert "More from City Times" not in kept and "Tags" not in kept
    # a sentence full of names stays: the extractor judged it to be content
    assert any(line.startswith("Minnesota Wild forward") for line in kept)
    assert kept[-1].startswith("The first buses will run in June")
    assert {r.rule for r in result.removed} >= {"outside_body"}


def test_extracted_mode_keeps_a_list_announced_after_the_last_sentence():
    text = EXTRACTED.replace(
        "More from City Times\nTags\n",
        "Route details:\nRoute 7: Northgate to City Hospital\nRoute 9: Riverside to University\n",
    )
    kept = Cleaner().clean(text, extracted=True).text.splitlines()
    assert kept[-3:] == ["Route details:", "Route 7: Northgate to City Hospital", "Route 9: Riverside to University"]


def test_extracted_mode_keeps_hard_wrapped_paragraphs_above_the_first_sentence():
    wrapped = (
        "Press release\n"
        "LAS VEGAS - Swords and Lightsabers will be drawn as Example Games America\n"
        "Inc. and Example Arts today announced that iconic characters will appear\n"
        "in the new game for every console on the market, the two companies said.\n"
        "The game is expected in the summer, when it will be sold in every country where the series is sold now.\n"
    )
    extracted = Cleaner().clean(wrapped, extracted=True).text
    assert "LAS VEGAS - Swords" in extracted and "Inc. and Example Arts" in extracted
    assert extracted.startswith("Press release\n")  # the first line is the headline


def test_extracted_mode_is_idempotent():
    once = Cleaner().clean(EXTRACTED, extracted=True).text
    assert Cleaner().clean(once, extracted=True).text == once


# --- CLI and scan -----------------------------------------------------------


def test_clean_html_prints_article_text():
    r = run("clean", str(LIBRARY))
    assert r.exit_code == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert lines[0] == "Library extends its opening hours"
    assert len(lines) == 6
    assert "newsletter" not in r.stdout and "Sport" not in r.stdout and "<" not in r.stdout


def test_clean_html_json_has_metadata_and_explain_names_the_rule():
    r = run("clean", str(LIBRARY), "--format", "json", "--explain")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["title"] == "Library extends its opening hours"
    assert data["author"] == "Jane Doe" and data["date"] == "2024-03-05"
    assert [x["rule"] for x in data["removed"]] == ["newsletter"]
    assert "[newsletter] Sign up for our newsletter" in r.stderr
    assert "newsletter" not in data["text"]


def test_clean_json_metadata_missing_is_null_and_text_input_has_no_keys():
    data = json.loads(run("clean", str(HTML / "storm_broken.html"), "--format", "json").stdout)
    assert data["title"] == "Storm closes schools" and data["author"] is None and data["date"] is None
    data = json.loads(run("clean", str(HTML / "library_copy.txt"), "--format", "json").stdout)
    assert "title" not in data


def test_clean_html_from_stdin():
    r = run("clean", "-", input=BRIDGE.read_bytes())
    assert r.exit_code == 0
    assert r.stdout.startswith("Harbour Bridge reopens after repairs\n") and "café district" in r.stdout


def test_clean_page_without_article_is_a_warning_then_exit_2():
    r = run("clean", str(HTML / "no_article.html"))
    assert r.exit_code == 2
    assert "warning: skipped" in r.stderr and "no article text found" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_clean_out_dir_writes_html_articles_as_txt(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(LIBRARY, src / "library.html")
    shutil.copy(BRIDGE, src / "bridge.htm")
    r = run("clean", str(src), "--out-dir", str(tmp_path / "out"), "--quiet")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bridge.txt", "library.txt"]
    assert (tmp_path / "out" / "library.txt").read_text(encoding="utf-8").startswith("Library extends")


def test_clean_out_dir_refuses_two_inputs_on_one_target(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(LIBRARY, src / "library.html")
    shutil.copy(HTML / "library_copy.txt", src / "library.txt")
    shutil.copy(BRIDGE, src / "a_bridge.htm")  # cleaned first: nothing is written before the refusal
    r = run("clean", str(src), "--out-dir", str(tmp_path / "out"), "--quiet")
    assert r.exit_code == 2 and "would both be written" in r.stderr and "--help" not in r.stderr  # no usage hint
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*"))


def test_clean_in_place_refuses_to_overwrite_html(tmp_path: Path):
    page = tmp_path / "library.html"
    shutil.copy(LIBRARY, page)
    r = run("clean", str(page), "--in-place")
    assert r.exit_code == 2 and "overwrite the HTML page" in r.stderr
    assert page.read_bytes() == LIBRARY.read_bytes()


def test_clean_jsonl_html_field_writes_text_field(tmp_path: Path):
    path = tmp_path / "pages.jsonl"
    path.write_text(json.dumps({"id": "a", "body": LIBRARY.read_text(encoding="utf-8")}) + "\n", encoding="utf-8")
    r = run("clean", str(path), "--html-field", "body")
    assert r.exit_code == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["id"] == "a" and record["body"].startswith("<!DOCTYPE html>")
    assert record["text"].startswith("Library extends its opening hours") and "newsletter" not in record["text"]


def test_scan_finds_a_page_and_its_text_copy():
    result = scan_paths([str(HTML)])
    assert len(result.clusters) == 1
    members = sorted(Path(m.id).name for m in result.clusters[0].members)
    assert members == ["library_copy.txt", "library_utf8.html"]
    assert {s.path.rsplit("/", 1)[1] for s in result.skipped} == {"no_article.html", "spliced_title.html"}


def test_scan_cli_json_on_html_folder():
    r = run("scan", str(HTML), "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["stats"]["documents"] == 4 and len(data["clusters"]) == 1
    assert len(data["stats"]["skipped"]) == 2
