"""HTML building blocks of the report: escaping, tables, the knowledge-cutoff badge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape


def e(text: object) -> str:
    """Escaped text, quotes included: safe inside elements and attribute values."""
    return escape(str(text), quote=True)


def table(head: Sequence[str], rows: str, *, id_: str, left: int = 1) -> str:
    """A table with `head` (the first `left` columns left-aligned) around already built `rows`."""
    cells = "".join(
        f'<th class="l">{e(h)}</th>' if i < left else f"<th>{e(h)}</th>" for i, h in enumerate(head)
    )
    return f'<table id="{e(id_)}"><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>'


def row(left_html: Sequence[str], cells: Sequence[str]) -> str:
    """One row: `left_html` cells are HTML (already escaped), `cells` plain text, escaped here."""
    lefts = "".join(f'<td class="l">{c}</td>' for c in left_html)
    return "<tr>" + lefts + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>"


def signed(text: str, value: float) -> str:
    """`text` coloured by the sign of `value` (gains green, losses red)."""
    css = "pos" if value > 0 else "neg" if value < 0 else "zero"
    return f'<span class="{css}">{e(text)}</span>'


def badge(flagged: Mapping[str, str], member: str) -> str:
    """The knowledge-cutoff mark after a member's name, or nothing."""
    cutoff = flagged.get(member)
    if cutoff is None:
        return ""
    title = f"knowledge cutoff {cutoff}: the window starts before it"
    return f' <span class="cutoff" title="{e(title)}">⚠ cutoff</span>'
