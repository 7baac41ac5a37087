"""CSV that a spreadsheet opens as data, never as formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is run as a formula by Excel, LibreOffice and Google Sheets (CSV injection).
Such a text cell gets a leading apostrophe, which spreadsheets show as text;
numbers (``-12.5``) are left alone. The site's CSV and ``timeline export`` use
this one rule.

Example::

    >>> neutralise("=1+1"), neutralise("-12.5"), neutralise("Baykar")
    ("'=1+1", '-12.5', 'Baykar')
"""

from __future__ import annotations

import codecs
import csv
import io
import re

_RISKY_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def neutralise(cell: object) -> object:
    """The cell, with a leading apostrophe if a spreadsheet would run it as a formula."""
    if isinstance(cell, str) and cell.startswith(_RISKY_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class CsvStreamNeutraliser:
    """Rewrites a CSV byte stream chunk by chunk, neutralising every cell.

    Only complete records are rewritten; the rest waits for the next chunk (a
    quoted cell may hold line breaks, so a record ends at a newline outside quotes).

    Example::

        rewriter = CsvStreamNeutraliser()
        out = rewriter.feed(b"a,b\\r\\n=1+1,2\\r\\n") + rewriter.close()
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> bytes:
        text = self._pending + self._decoder.decode(chunk)
        cut = self._last_record_end(text)
        complete, self._pending = text[:cut], text[cut:]
        return _rewrite(complete)

    def close(self) -> bytes:
        text, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        return _rewrite(text)

    def _last_record_end(self, text: str) -> int:
        """Index just after the last newline that is outside quotes (0 if none)."""
        in_quotes, end = False, 0
        for match in re.finditer(r'["\n]', text):
            if match.group() == '"':
                in_quotes = not in_quotes  # "" inside a cell toggles twice: no change
            elif not in_quotes:
                end = match.end()
        return end


def _rewrite(text: str) -> bytes:
    if not text:
        return b""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue().encode("utf-8")
