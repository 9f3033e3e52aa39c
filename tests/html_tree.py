"""A minimal HTML tree for structural checks of the report (stdlib html.parser, no dependency)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    content: list[str | Node] = field(default_factory=list)  # text and elements, in document order

    @property
    def children(self) -> list[Node]:
        return [c for c in self.content if isinstance(c, Node)]

    def iter(self, tag: str | None = None) -> Iterator[Node]:
        """This node and every descendant (with `tag`, if given), in document order."""
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            yield from child.iter(tag)

    def find(self, tag: str, **attrs: str) -> Node:
        """The first descendant with `tag` and these attribute values; AssertionError if none."""
        for node in self.iter(tag):
            if all(node.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()):
                return node
        raise AssertionError(f"no <{tag}> with {attrs}")

    def text(self) -> str:
        """All text inside, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text() for c in self.content]
        return " ".join(" ".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].content.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].content.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        # A well-formed document closes what it opened, in order: anything else is a bug.
        opened = self.stack.pop()
        assert opened.tag == tag, f"</{tag}> closes <{opened.tag}>"

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], f"unclosed: {[n.tag for n in builder.stack[1:]]}"
    return builder.root


def table_rows(table: Node) -> list[list[str]]:
    """The text of each cell of each body row."""
    body = table.find("tbody")
    return [
        [cell.text() for cell in tr.children if cell.tag == "td"] for tr in body.children if tr.tag == "tr"
    ]
