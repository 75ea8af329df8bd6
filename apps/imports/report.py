"""The import report: every row's outcome as an .xlsx (row, result, name, phone, reason)."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from xml.sax.saxutils import escape as xml_escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.xlsx import safe_text

from .importer import CREATED, FAILED, FIELD_LABELS, SKIPPED, UPDATED

OUTCOME_LABELS = {CREATED: gettext_lazy("Created"), UPDATED: gettext_lazy("Updated"),
                  SKIPPED: gettext_lazy("Skipped"), FAILED: gettext_lazy("Failed")}


class ReportWriter:
    """Every row's outcome as an .xlsx sheet: row, result, name, phone, reason.

    The sheet XML is written here, row by row, to a temporary file, and zipped into a minimal
    workbook by `save` (bold frozen header, column widths; text escaped by
    apps.core.xlsx.safe_text): openpyxl's write-only sheet costs ~0.1 ms a row (14 s for
    100 000 rows on a loaded machine, a third of the whole import), this ~0.01 ms."""

    COLUMNS = ((gettext_lazy("Row"), 8), (gettext_lazy("Result"), 10),
               (FIELD_LABELS["name"], 14), (FIELD_LABELS["phone"], 14),
               (gettext_lazy("Reason"), 60))

    def __init__(self):
        self.rows = tempfile.TemporaryFile()
        self.count = 1
        self.labels = {k: _xml_text(v) for k, v in OUTCOME_LABELS.items()}
        self.header = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr" s="1"><is><t>'
                              f"{_xml_text(title)}</t></is></c>"
                              for i, (title, _w) in enumerate(self.COLUMNS))
        self.title = _xml_text(str(_("Import report"))[:31])

    def __call__(self, row: int, outcome: str, fields: dict | None, reason: str) -> None:
        fields = fields or {}
        self.count += 1
        n = self.count
        self.rows.write((
            f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{int(row)}</t></is></c>'
            f'<c r="B{n}" t="inlineStr"><is><t>{self.labels[outcome]}</t></is></c>'
            f'<c r="C{n}" t="inlineStr"><is><t xml:space="preserve">'
            f'{_xml_text(fields.get("name", ""))}</t></is></c>'
            f'<c r="D{n}" t="inlineStr"><is><t xml:space="preserve">'
            f'{_xml_text(fields.get("phone", ""))}</t></is></c>'
            f'<c r="E{n}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(reason)}'
            "</t></is></c></row>").encode())

    def save(self, handle) -> None:
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                       for i, (_t, w) in enumerate(self.COLUMNS, 1))
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", _REPORT_CONTENT_TYPES)
            archive.writestr("_rels/.rels", _REPORT_ROOT_RELS)
            archive.writestr("xl/workbook.xml", _REPORT_WORKBOOK.format(title=self.title))
            archive.writestr("xl/_rels/workbook.xml.rels", _REPORT_WORKBOOK_RELS)
            archive.writestr("xl/styles.xml", _REPORT_STYLES)
            with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
                sheet.write(_REPORT_SHEET_HEAD.format(cols=cols, header=self.header).encode())
                self.rows.seek(0)
                shutil.copyfileobj(self.rows, sheet)
                sheet.write(b"</sheetData></worksheet>")
        self.rows.close()


def _xml_text(value) -> str:
    return xml_escape(safe_text(value))


_SS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_OD = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_REPORT_CONTENT_TYPES = (
    _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/></Types>')
_REPORT_ROOT_RELS = (
    _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_OD}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>")
_REPORT_WORKBOOK = (
    _XML + f'<workbook xmlns="{_SS}" xmlns:r="{_OD}"><sheets>'
    '<sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_REPORT_WORKBOOK_RELS = (
    _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_OD}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_OD}/styles" Target="styles.xml"/></Relationships>')
_REPORT_STYLES = (
    _XML + f'<styleSheet xmlns="{_SS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" '
    'applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>")
_REPORT_SHEET_HEAD = (
    _XML + f'<worksheet xmlns="{_SS}"><sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews><cols>{cols}</cols><sheetData>"
    '<row r="1">{header}</row>')
