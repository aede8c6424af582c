"""Readable ``dedupe diff`` output with rich: a header with the verdict and scores, then the sentences
side by side in a table (or one column with ``--unified``).

Changed words inside matched sentences are coloured on a terminal. Where the console has no colour
(output piped or redirected, ``NO_COLOR``) they are marked in wdiff style instead, ``[-removed-]`` and
``{+added+}``, so that the output stays plain text with the same information.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dedupe.diff import DiffResult, DiffRow, PairDiff
from dedupe.render.human import KIND_STYLE

DELETED = "bold red"
INSERTED = "bold green"
ONLY_A = "red"
ONLY_B = "green"
MOVED = "blue"
SAME = "dim"

STATUS = {"same": "=", "changed": "~", "moved": "moved", "only_a": "only A", "only_b": "only B"}


def _marks(console: Console, marks: bool | None) -> bool:
    return (console.color_system is None or console.no_color) if marks is None else marks


def highlight(pair: PairDiff, side: str, marks: bool) -> Text:
    """One side (``a`` or ``b``) of a matched pair with the words the other side lacks highlighted."""
    words = pair.a_words if side == "a" else pair.b_words
    style = DELETED if side == "a" else INSERTED
    open_, close = ("[-", "-]") if side == "a" else ("{+", "+}")
    # Neighbouring changes (a replace next to a delete) are one highlighted span.
    spans: list[tuple[bool, list[str]]] = []
    for o in pair.ops:
        start, end = (o.a_start, o.a_end) if side == "a" else (o.b_start, o.b_end)
        if start == end:
            continue
        changed = o.op != "equal"
        if spans and spans[-1][0] == changed:
            spans[-1][1].extend(words[start:end])
        else:
            spans.append((changed, list(words[start:end])))
    out = Text()
    for changed, chunk_words in spans:
        chunk = " ".join(chunk_words)
        if out:
            out.append(" ")
        if not changed:
            out.append(chunk)
        elif marks:
            out.append(f"{open_}{chunk}{close}", style=style)
        else:
            out.append(chunk, style=style)
    return out


def _status(row: DiffRow) -> str:
    if row.kind == "pair":
        assert row.pair is not None
        return "same" if row.pair.identical else "changed"
    return row.kind


def render_header(result: DiffResult, console: Console) -> None:
    """The two documents, the verdict with the score that decided it, every score and the counts."""
    for label, doc_id, n in (("A", result.a_id, result.a_sentences), ("B", result.b_id, result.b_sentences)):
        line = Text(f"{label}: ", style="bold")
        line.append(doc_id)
        line.append(f"  ({n} sentences)", style="dim")
        console.print(line)
    line = Text("verdict: ", style="bold")
    line.append(result.verdict, style=KIND_STYLE.get(result.verdict, "bold"))
    line.append(f"  {result.similarity:.2f} {result.measure}")
    console.print(line)
    scores = "  ".join(f"{k} {v:.2f}" for k, v in sorted(result.scores.items()))
    console.print(Text("scores: ", style="bold") + Text(scores))
    counts = (
        f"{result.alignment} alignment: {len(result.pairs)} aligned, {len(result.moved)} moved, "
        f"{len(result.only_a)} only in A, {len(result.only_b)} only in B"
    )
    console.print(Text(counts, style="dim"))
    console.print()


def render_side_by_side(result: DiffResult, console: Console, marks: bool | None = None) -> None:
    """Every sentence once, in reading order, A on the left and B on the right."""
    marks = _marks(console, marks)
    table = Table(box=box.SIMPLE, show_header=True, header_style="bold", expand=True, pad_edge=False)
    table.add_column("#A", justify="right", no_wrap=True)
    table.add_column("A", ratio=1)
    table.add_column("#B", justify="right", no_wrap=True)
    table.add_column("B", ratio=1)
    table.add_column("", no_wrap=True)
    for row in result.iter_rows():
        status = _status(row)
        if row.pair is not None:
            p = row.pair
            style = SAME if status == "same" else MOVED if status == "moved" else ""
            table.add_row(
                str(p.a),
                Text(p.a_text, style=SAME) if status == "same" else highlight(p, "a", marks),
                str(p.b),
                Text(p.b_text, style=SAME) if status == "same" else highlight(p, "b", marks),
                Text(f"{STATUS[status]} {p.score:.2f}", style=style),
            )
        elif row.unmatched is not None:
            u = row.unmatched
            if row.kind == "only_a":
                table.add_row(str(u.index), Text(u.text, style=ONLY_A), "", "", Text(STATUS["only_a"], style=ONLY_A))
            else:
                table.add_row("", "", str(u.index), Text(u.text, style=ONLY_B), Text(STATUS["only_b"], style=ONLY_B))
    console.print(table)


def render_unified(result: DiffResult, console: Console, marks: bool | None = None) -> None:
    """One column: ``=`` same sentence, ``~`` a changed pair (``-`` its A side, ``+`` its B side),
    ``>`` a moved pair, ``-``/``+`` alone a sentence only in A/B. Sentence numbers are 0-based."""
    marks = _marks(console, marks)
    for row in result.iter_rows():
        status = _status(row)
        if row.pair is not None:
            p = row.pair
            if status == "same":
                console.print(Text(f"= A{p.a} B{p.b}  {p.a_text}", style=SAME))
                continue
            sign = ">" if status == "moved" else "~"
            what = "moved" if status == "moved" else "changed"
            console.print(Text(f"{sign} A{p.a} B{p.b}  {what} {p.score:.2f}", style=MOVED if sign == ">" else "bold"))
            console.print(Text("  - ", style=ONLY_A) + highlight(p, "a", marks))
            console.print(Text("  + ", style=ONLY_B) + highlight(p, "b", marks))
        elif row.unmatched is not None:
            u = row.unmatched
            if row.kind == "only_a":
                console.print(Text(f"- A{u.index}  {u.text}", style=ONLY_A))
            else:
                console.print(Text(f"+ B{u.index}  {u.text}", style=ONLY_B))


def render_diff(result: DiffResult, console: Console, unified: bool = False, marks: bool | None = None) -> None:
    """Print the header and the sentences (side by side, or unified).

    Args:
        result: The diff.
        console: Where to print (stdout).
        unified: One column instead of a table.
        marks: Mark changed words with ``[-...-]``/``{+...+}``; by default when the console has no colour.
    """
    render_header(result, console)
    if unified:
        render_unified(result, console, marks)
    else:
        render_side_by_side(result, console, marks)
