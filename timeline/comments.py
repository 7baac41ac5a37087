"""Where the comments of a YAML text are, read from the scanner's tokens.

Between two consecutive tokens there is only whitespace and comments, so a
``#`` in such a gap starts a comment, while a line inside a block scalar that
starts with ``#`` is part of the scalar's token and never mistaken for one.
The comment after a block scalar's indicator (``summary: >-  # …``) sits inside
the scalar's token; it is read from the token's own header.

Example::

    >>> [c.text for c in scan_comments("a: |  # header\\n  #not a comment\\n# real\\nb: 1\\n")]
    ['# header', '# real']
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

import yaml

_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*(?:[ \t]+(#.*))?[ \t]*")


@dataclass(frozen=True)
class Comment:
    line: int  # 0-based
    column: int  # 0-based, where '#' is
    text: str  # from '#' to the end of the line
    own_line: bool  # nothing but indentation before it


class TokenMap:
    """The tokens of a text that occupy characters, in order, and the comments between them."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
        headers: list[tuple[int, int]] = []
        for token in yaml.scan(text, Loader=yaml.CSafeLoader):
            start, end = token.start_mark, token.end_mark
            if end.index == start.index:
                continue  # block starts/ends, keys: zero-width markers
            spans.append(((start.line, start.column), (end.line, end.column)))
            if isinstance(token, yaml.ScalarToken) and token.style in ("|", ">"):
                headers.append((start.line, start.column))
        self.spans = spans
        self.ends = [end for _, end in spans]
        self.headers = headers

    @cached_property
    def comments(self) -> list[Comment]:
        """Every comment, in line order (computed when first asked: inserting needs none)."""
        found = [*self._gap_comments(), *self._header_comments(self.headers)]
        return sorted(found, key=lambda c: c.line)

    @cached_property
    def _continued(self) -> set[int]:
        """Lines whose end lies inside a multi-line token (a block header line may end in
        a comment, so it does not count)."""
        blocks = set(self.headers)
        continued: set[int] = set()
        for start, end in self.spans:
            continued.update(range(start[0] + 1 if start in blocks else start[0], end[0]))
        return continued

    def comment_may_end_line(self, line: int) -> bool:
        """True when ``  # …`` appended to ``line`` would be a comment, not part of a value."""
        return line not in self._continued

    def gap_start(self, line: int) -> int:
        """The first line after the content that precedes ``line``.

        Lines from there up to ``line`` hold only blanks and comments: the place
        to insert something that goes before whatever starts at ``line``,
        together with the comments written above it.
        """
        index = bisect.bisect_right(self.ends, (line, 0)) - 1
        if index < 0:
            return 0
        end_line, end_column = self.ends[index]
        return end_line + 1 if end_column > 0 else end_line

    def _gap_comments(self) -> list[Comment]:
        """Comments in the gaps between tokens: for each ``#`` of the text (few), whether it
        lies outside every token (bisecting the token spans, not walking every gap)."""
        starts = [start for start, _ in self.spans]
        found = []
        for number, line in enumerate(self.lines):
            column = line.find("#")
            while column >= 0:
                index = bisect.bisect_right(starts, (number, column)) - 1
                if index < 0 or (number, column) >= self.ends[index]:
                    own = not line[:column].strip()
                    found.append(Comment(number, column, line[column:].rstrip(), own))
                    break  # the rest of the line is this comment
                column = line.find("#", column + 1)
        return found

    def _header_comments(self, headers: list[tuple[int, int]]) -> list[Comment]:
        found = []
        for line, column in headers:
            match = _BLOCK_HEADER.fullmatch(self.lines[line], column)
            if match and match.group(1):
                found.append(Comment(line, match.start(1), match.group(1).rstrip(), False))
        return found


def scan_comments(text: str) -> list[Comment]:
    """Every comment of ``text``, in line order."""
    return TokenMap(text).comments
