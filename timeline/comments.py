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

import yaml

_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*(?:[ \t]+(#.*))?[ \t]*")


@dataclass(frozen=True)
class Comment:
    line: int  # 0-based
    column: int  # 0-based, where '#' is
    text: str  # from '#' to the end of the line
    own_line: bool  # nothing but indentation before it


@dataclass(frozen=True)
class Gap:
    """The text between two tokens: (line, column) positions, 0-based."""

    start: tuple[int, int]
    end: tuple[int, int]


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
        blocks = set(headers)
        self._continued: set[int] = set()  # lines whose end lies inside a multi-line token
        for start, end in spans:
            first = (
                start[0] + 1 if start in blocks else start[0]
            )  # a header line may end in a comment
            self._continued.update(range(first, end[0]))
        self.comments = sorted(
            [*self._gap_comments(), *self._header_comments(headers)], key=lambda c: c.line
        )

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

    def _gaps(self) -> list[Gap]:
        bounds = [(0, 0)]
        for start, end in self.spans:
            bounds += [start, end]
        bounds.append((len(self.lines), 0))
        return [Gap(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]

    def _gap_comments(self) -> list[Comment]:
        found = []
        for gap in self._gaps():
            (first, col), (last, last_col) = gap.start, gap.end
            for number in range(first, min(last, len(self.lines) - 1) + 1):
                line = self.lines[number]
                lo = col if number == first else 0
                hi = last_col if number == last else len(line)
                hash_at = line.find("#", lo, hi)
                if hash_at >= 0:
                    own = not line[:hash_at].strip()
                    found.append(Comment(number, hash_at, line[hash_at:].rstrip(), own))
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
