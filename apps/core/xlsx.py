"""Spreadsheet exports (.xlsx) shared by every export of the project: openpyxl in write-only
mode (rows are streamed to disk, never held in memory), typed columns, a bold frozen header,
column widths, and formula-injection escaping of every text cell.

    book = Workbook(write_only=True)
    sheet = XlsxSheet(book, "明细", [Column(_("Name"), 12), Column(_("Amount"), 14, MONEY)])
    sheet.append(["王五", Decimal("12.30")])     # text escaped, money a number shown 0.00
    sheet.append_total(["合计", Decimal("12.30")])  # bold
    book.save(file_or_path)

Text cells go through `safe_text`: a value starting with ``=``, ``+``, ``-``, ``@``, a tab,
a carriage return or a NUL would be read by a spreadsheet as a formula (CSV/formula
injection, OWASP), so it gets a leading apostrophe; characters XML cannot hold (NUL and the
other control characters but tab and newlines) are then dropped. Numbers are never text: money
is written as the Decimal itself (exact to the cent) with the number format ``0.00``; dates
and (naive, local) datetimes are real dates shown ``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm``.

`xlsx_download(write, filename, fallback)` is the HTTP side every export view shares: the book
written to a temporary file, answered as an attachment with a Chinese file name
(`xlsx_file_response` answers an already written file the same way).

`with xlsx_progress(report, every=1000):` calls `report(rows)` every `every` rows appended to
any XlsxSheet made inside the block: the progress bar of a background export (apps.exports)
without a progress parameter on every writer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import quote

from django.http import FileResponse
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

__all__ = ["FORMULA_PREFIXES", "safe_text", "Column", "TEXT", "MONEY", "PERCENT", "INTEGER",
           "DATE", "DATETIME", "XlsxSheet", "attachment_disposition", "XLSX_CONTENT_TYPE",
           "local_naive", "xlsx_download", "xlsx_file_response", "xlsx_progress"]

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: What makes a spreadsheet read a text cell as a formula (or a DDE payload).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")

TEXT, MONEY, PERCENT, INTEGER = "text", "money", "percent", "integer"
#: Real dates in the sheet (a `datetime.date`; a DATETIME a naive local `datetime`: Excel has
#: no time zones, the caller converts to the tenant's local time first).
DATE, DATETIME = "date", "datetime"
NUMBER_FORMATS = {MONEY: "0.00", PERCENT: "0.00##", INTEGER: "0", DATE: "yyyy-mm-dd",
                  DATETIME: "yyyy-mm-dd hh:mm"}


_progress: ContextVar[tuple[Callable[[int], None], int] | None] = ContextVar(
    "xlsx_progress", default=None)


@contextmanager
def xlsx_progress(report: Callable[[int], None], every: int = 1000) -> Iterator[None]:
    """Inside the block, every XlsxSheet made calls `report(rows written)` each `every` rows."""
    token = _progress.set((report, max(1, every)))
    try:
        yield
    finally:
        _progress.reset(token)


def safe_text(value) -> str:
    """`value` as text a spreadsheet shows and never evaluates (see the module docstring)."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return ILLEGAL_CHARACTERS_RE.sub("", text)


@dataclass(frozen=True)
class Column:
    header: str  # may be a lazy translation: rendered when the sheet is made
    width: float = 12
    kind: str = TEXT


class XlsxSheet:
    """A write-only sheet: header row (bold, frozen), widths, and typed cells per column."""

    def __init__(self, book, title: str, columns: Sequence[Column]):
        self.columns = tuple(columns)
        self.sheet = book.create_sheet(title=title)
        for index, column in enumerate(self.columns, 1):  # before any row (write-only)
            self.sheet.column_dimensions[get_column_letter(index)].width = column.width
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        self.sheet.append([self._cell(str(c.header), font=bold, wrap=True) for c in self.columns])
        # One styled cell per numeric column, reused for every row: the write-only sheet
        # writes a row out as soon as it is appended, so the cell is free again afterwards.
        self._numeric = [self._cell(None, number_format=NUMBER_FORMATS[c.kind])
                         if c.kind != TEXT else None for c in self.columns]
        self._bold_numeric = [self._cell(None, number_format=NUMBER_FORMATS[c.kind], font=bold)
                              if c.kind != TEXT else None for c in self.columns]
        self.rows = 0
        self._progress = _progress.get()

    def _cell(self, value, *, number_format=None, font=None, wrap=False) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value)
        if number_format:
            cell.number_format = number_format
        if font is not None:
            cell.font = font
        if wrap:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell

    def append(self, values: Sequence) -> None:
        """One row: text columns escaped, numeric ones numbers (None: an empty cell)."""
        self._append(values, self._numeric, bold=False)
        if self._progress is not None and self.rows % self._progress[1] == 0:
            self._progress[0](self.rows)

    def append_total(self, values: Sequence) -> None:
        """A totals row (bold)."""
        self._append(values, self._bold_numeric, bold=True)

    def _append(self, values: Sequence, numeric: list, *, bold: bool) -> None:
        row = []
        for value, cell in zip(values, numeric, strict=True):
            if value is None or value == "":
                row.append(None)
            elif cell is None:
                text = safe_text(value)
                row.append(self._cell(text, font=Font(bold=True)) if bold else text)
            else:
                cell.value = value
                row.append(cell)
        self.sheet.append(row)
        self.rows += 1


def attachment_disposition(filename: str, fallback: str) -> str:
    """A Content-Disposition header for a download named `filename` (any characters, RFC 5987
    ``filename*``) with an ASCII `fallback` for old clients."""
    ascii_name = fallback.replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def local_naive(moment, zone):
    """An aware datetime as the naive local time of `zone` (a DATETIME cell); None stays."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None


def xlsx_download(write, filename: str, fallback: str) -> FileResponse:
    """An .xlsx download: `write(handle)` fills a temporary file (on disk, so a large export
    keeps the memory flat: openpyxl writes a zip and cannot stream over HTTP as it goes),
    which is then sent as an attachment named `filename` (Chinese is fine), `fallback` the
    ASCII name for old clients. Not cached, not sniffed."""
    handle = tempfile.TemporaryFile()
    try:
        write(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return xlsx_file_response(handle, filename, fallback)


def xlsx_file_response(handle, filename: str, fallback: str) -> FileResponse:
    """The open binary file `handle` (an .xlsx) sent as an attachment named `filename`
    (`fallback` for old clients); not cached, not sniffed. The response closes it."""
    response = FileResponse(handle, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_disposition(filename, fallback)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
