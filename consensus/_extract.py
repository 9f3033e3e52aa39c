"""Find the JSON values in a model's answer, wherever the model put them.

Models wrap their JSON in ``` fences, put it after prose or after a <think> section, send several
blocks, or send near-JSON (single quotes, trailing commas, Python's True/False/None). Rather than
guess at the wrapping, every `{` or `[` is tried as the start of a JSON value; a value found is
skipped over whole, so its inner brackets are not tried again.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass

# Models put raw newlines and tabs inside strings; strict=False lets the decoder accept them.
_DECODER = json.JSONDecoder(strict=False)
_OPENER = re.compile(r"[{\[]")
_STRUCTURAL = re.compile(r"""[{}\[\]"']""")
_STRING_REST = {
    '"': re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL),
    "'": re.compile(r"[^'\\]*(?:\\.[^'\\]*)*'", re.DOTALL),
}
_NEAR_JSON_TOKEN = re.compile(
    r"""
      (?P<double>"[^"\\]*(?:\\.[^"\\]*)*")   # a JSON string: kept as it is
    | (?P<single>'[^'\\]*(?:\\.[^'\\]*)*')   # a single-quoted string: requoted
    | (?P<trailing>,(?=\s*[}\]]))            # a trailing comma: dropped
    | (?P<literal>\b(?:True|False|None)\b)   # Python literals: translated
    | [^"',TFN]+ | .                         # anything else: kept
    """,
    re.VERBOSE | re.DOTALL,
)
_PYTHON_LITERALS = {"True": "true", "False": "false", "None": "null"}
# Near-JSON repair may tokenise this many characters per character of answer, plus a base.
_REPAIR_BUDGET_FACTOR = 20
_REPAIR_BUDGET_BASE = 200_000
# Reasoning sections: what a model thinks aloud is not its answer, even when it drafts JSON there.
_REASONING_TAG = re.compile(r"<(/?)(?:think|thinking|reasoning)>", re.IGNORECASE)


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    value: object


@dataclass(frozen=True)
class Extracted:
    """The JSON values of an answer in document order, and how many were dropped as reasoning."""

    values: tuple[object, ...]
    in_reasoning: int


def extract_json(text: str) -> Extracted:
    """Every JSON value in `text` outside reasoning sections, in the order they appear."""
    found = _scan(text)
    regions = _reasoning_regions(text, found)
    region_starts = [lo for lo, _ in regions]

    def in_reasoning(pos: int) -> bool:
        index = bisect.bisect_right(region_starts, pos) - 1
        return index >= 0 and pos < regions[index][1]

    kept = tuple(f.value for f in found if not in_reasoning(f.start))
    return Extracted(values=kept, in_reasoning=len(found) - len(kept))


def _scan(text: str) -> list[_Found]:
    brackets = _Brackets(text)
    budget = _Budget(_REPAIR_BUDGET_FACTOR * len(text) + _REPAIR_BUDGET_BASE)
    found: list[_Found] = []
    match = _OPENER.search(text)
    while match is not None:
        start = match.start()
        end = brackets.end_of(start)
        hit = None if end is None else _decode_span(text, start, end, budget)
        found += [hit] if hit else []
        match = _OPENER.search(text, hit.end if hit else start + 1)
    return found


def _decode_span(text: str, start: int, end: int, budget: _Budget) -> _Found | None:
    span = text[start:end]
    try:
        return _Found(start, end, _DECODER.decode(span))
    except RecursionError:
        return None  # nested deeper than the interpreter allows: no decision, and repair won't help
    except ValueError:
        pass
    if not budget.spend(len(span)):
        return None
    try:
        return _Found(start, end, _DECODER.decode(_repair(span)))
    except (ValueError, RecursionError):
        return None


@dataclass
class _Budget:
    """Characters left for near-JSON repair: nested broken spans would otherwise cost O(n^2)."""

    chars: int

    def spend(self, chars: int) -> bool:
        self.chars -= chars
        return self.chars >= 0


class _Brackets:
    """Where the bracket opened at each position closes (None: never), found by shared scans.

    A scan from one opener also settles every opener it meets outside strings, and a later scan
    that meets a settled opener jumps over its span, so a text full of brackets costs about one
    pass instead of one pass per bracket. Quotes of either kind delimit strings.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._end: dict[int, int | None] = {}

    def end_of(self, start: int) -> int | None:
        if start not in self._end:
            self._scan_from(start)
        return self._end[start]

    def _scan_from(self, start: int) -> None:
        stack: list[int] = []
        pos = start
        while (match := _STRUCTURAL.search(self._text, pos)) is not None:
            char, at = match.group(), match.start()
            pos = match.end()
            if char in "\"'":
                rest = _STRING_REST[char].match(self._text, pos)
                if rest is None:
                    break  # an unterminated string: nothing open here ever closes
                pos = rest.end()
            elif char in "{[" and at != start and at in self._end:
                settled = self._end[at]
                if settled is None:
                    break
                pos = settled
            elif char in "{[":
                stack.append(at)
            else:
                self._end[stack.pop()] = pos
                if not stack:
                    return
        self._end.update(dict.fromkeys(stack))


def _repair(span: str) -> str:
    """Near-JSON to JSON: requote single-quoted strings, drop trailing commas, translate literals."""
    return "".join(_repair_token(m) for m in _NEAR_JSON_TOKEN.finditer(span))


def _repair_token(token: re.Match[str]) -> str:
    text = token.group()
    if token.lastgroup == "trailing":
        return ""
    if token.lastgroup == "literal":
        return _PYTHON_LITERALS[text]
    if token.lastgroup == "single":
        return '"' + re.sub(r"\\.|\"", _requote, text[1:-1], flags=re.DOTALL) + '"'
    return text


def _requote(match: re.Match[str]) -> str:
    piece = match.group()
    if piece == '"':
        return '\\"'
    return "'" if piece == "\\'" else piece


def _reasoning_regions(text: str, found: list[_Found]) -> list[tuple[int, int]]:
    """Spans of <think>…</think> sections, in order and not overlapping.

    An unclosed tag runs to the end of the text, a lone close tag from its start. Tags inside a
    JSON value (a reasoning string that mentions <think>) are not section markers.
    """
    starts = [f.start for f in found]
    regions: list[tuple[int, int]] = []
    opened: int | None = None
    for tag in _REASONING_TAG.finditer(text):
        # `found` is in order and its spans do not overlap: only the one starting last can hold tag.
        index = bisect.bisect_right(starts, tag.start()) - 1
        if index >= 0 and tag.start() < found[index].end:
            continue
        closing = tag.group(1) == "/"
        if not closing and opened is None:
            opened = tag.start()
        elif closing and opened is not None:
            regions.append((opened, tag.end()))
            opened = None
        elif closing:
            # Some providers strip the opening tag: then everything before the close is reasoning.
            regions = [(0, tag.end())]
    if opened is not None:
        regions.append((opened, len(text)))
    return regions
