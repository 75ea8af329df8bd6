"""Customer import from .xlsx and .csv: read, map headers, validate, detect duplicates, commit.

Design (see also docs/imports.md):

* `read(data, name)` checks the file at once (size limit ``settings.IMPORT_MAX_BYTES``, empty,
  type by extension *and* content: an .xlsx must start with the zip magic ``PK\\x03\\x04``) and
  returns a `Table`: the header row and an iterator of ``(row number, values)``. Rows are
  streamed: CSV through a text wrapper (UTF-8 with or without BOM, else GB18030, a superset of
  GBK), xlsx by `xlsx_rows` (the first sheet's XML parsed with lxml, row by row). Row numbers
  are the spreadsheet's. The header is the first non-empty row naming a known column among
  the first HEADER_SEARCH_ROWS (a title row above it, often merged across, is dropped; the
  other cells of a merged header cell are empty, so the column is its first one).
* A formula (xlsx, with or without a cached value; a CSV cell starting with "=") is never
  imported: the row fails with a message naming it. More than ``settings.IMPORT_MAX_ROWS``
  data rows (default 200 000) refuses the file naming the limit; a header without rows too.
* `map_headers(headers)` recognises the Chinese headers Chinese Excel exports use (姓名, 手机,
  身份证号, …) and the model's English field names; unknown columns are reported, ignored.
* `run(...)` validates every row with the rules of `apps.customers.services.customer_create`
  (the same normalisers, the ID check digit, birthday vs ID, owner permission, choices) and
  finds duplicates (same phone or ID number, as registration: unique per tenant) against the
  tenant and within the file. It is called twice with the same file: ``commit=False`` for the
  preview (nothing written) and ``commit=True`` to write. Memory stays flat: rows are handled
  in chunks of `CHUNK` (one query per chunk for the duplicates, one INSERT per chunk — run by
  a `_Writer` thread on the same connection while the next chunk is validated — and one
  UPDATE); only the seen phones/ID numbers and the row errors are kept for the whole
  file. The slow validators are remembered per run (`_Normalisers`).
* Duplicates: the choice ``skip`` or ``update`` applies to rows matching an existing customer
  (``update`` changes the non-empty imported fields of a customer the actor may change;
  ownership never moves by import; a customer the actor may not change is skipped). A row
  repeating the phone or ID number of an earlier row of the same file is always skipped (the
  first row wins), with the earlier row named in the reason.
* All or nothing: the commit runs in ONE transaction inside `tenant_context`; any row error
  raises `ImportFailed` after the whole file was checked, which rolls everything back and
  carries every bad row. Creation sets the ownership fields as `customer_create` does
  (owner: the given staff member, else the actor if a salesperson; team from the owner, else
  the actor's; owned_since/last_contact_at now) with an `OwnershipChange` (reason import) per
  owned customer, and ONE audit entry for the import with the counts.
* `report.ReportWriter` writes the outcome of every row (created / updated / skipped / failed, and
  why) to an .xlsx whose sheet XML it streams itself (text escaped by apps.core.xlsx).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.utils.datetime import from_excel
from stdnum.cn import ric

from apps.core.audit import audit_record
from apps.core.identity import id_birth_date, normalize_id_number, normalize_phone
from apps.customers.models import Customer, OwnershipChange
from apps.customers.selectors import assignable_owners, can_write_customers, editable_customers
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .xlsx_reader import NotAWorkbook, xlsx_rows

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Data rows a file may have (``settings.IMPORT_MAX_ROWS``); more is refused with the limit named.
DEFAULT_MAX_ROWS = 200_000
#: A title row (often merged across the columns) may stand above the header: the header is
#: the first of this many non-empty rows with a recognised column name.
HEADER_SEARCH_ROWS = 10
CHUNK = 2000
SKIP, UPDATE = "skip", "update"
CREATED, UPDATED, SKIPPED, FAILED = "created", "updated", "skipped", "failed"
XLSX_MAGIC = b"PK\x03\x04"

#: header text (lower case, no spaces) -> field
HEADERS = {
    "姓名": "name", "客户姓名": "name", "名字": "name", "name": "name",
    "手机": "phone", "手机号": "phone", "手机号码": "phone", "电话": "phone", "联系电话": "phone",
    "phone": "phone", "mobile": "phone",
    "身份证号": "id_number", "身份证": "id_number", "身份证号码": "id_number", "id_number": "id_number",
    "性别": "gender", "gender": "gender",
    "生日": "birthday", "出生日期": "birthday", "birthday": "birthday",
    "地址": "address", "住址": "address", "address": "address",
    "来源": "source", "客户来源": "source", "source": "source",
    "等级": "grade", "客户等级": "grade", "grade": "grade",
    "负责人": "owner", "归属人": "owner", "owner": "owner",
    "备注": "notes", "notes": "notes",
    # The English headers of the customer export (apps.customers.exports) in the en locale.
    "mobilephone": "phone", "residentidnumber": "id_number", "idnumber": "id_number",
}
FIELD_LABELS = {
    "name": gettext_lazy("Name"), "phone": gettext_lazy("Mobile phone"),
    "id_number": gettext_lazy("ID number"), "gender": gettext_lazy("Gender"),
    "birthday": gettext_lazy("Birthday"), "address": gettext_lazy("Address"),
    "source": gettext_lazy("Source"), "grade": gettext_lazy("Grade"),
    "owner": gettext_lazy("Owner"), "notes": gettext_lazy("Notes"),
}
#: Fields an update may change (never phone or ownership).
UPDATABLE = ("name", "id_number", "gender", "birthday", "address", "source", "grade", "notes")
GENDERS = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F",
           "": "", "未知": ""}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


class FileRefused(Exception):
    """The file as a whole cannot be read (type, size, empty, no recognisable header)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # the header as written in the file ("" for the row as a whole)
    message: str


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, tuple]]


@dataclass
class Mapping:
    columns: dict[int, str]  # column index -> field
    unknown: list[str]
    headers: list[str]

    def header_of(self, field_name: str) -> str:
        for index, name in self.columns.items():
            if name == field_name:
                return self.headers[index]
        return str(FIELD_LABELS.get(field_name, field_name))


@dataclass
class Summary:
    mapping: Mapping
    duplicates: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False

    @property
    def failed_rows(self) -> int:
        return len({e.row for e in self.errors})

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "rows": self.rows, "failed_rows": self.failed_rows, "committed": self.committed,
                "duplicates": self.duplicates, "unknown": self.mapping.unknown,
                "mapping": [[self.mapping.headers[i], f] for i, f in self.mapping.columns.items()],
                "errors": [[e.row, e.column, e.message] for e in self.errors[:1000]]}


class ImportFailed(Exception):
    """Raised inside the commit's transaction (rolling it back) when any row has an error."""

    def __init__(self, summary: Summary):
        super().__init__(f"{summary.failed_rows} rows with errors")
        self.summary = summary


# --- reading ---------------------------------------------------------------------------------

def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def check_file(size: int, name: str, head: bytes) -> str:
    """Refuse at once what cannot be imported; the kind ('csv'/'xlsx') otherwise."""
    if size == 0:
        raise FileRefused(_("The file is empty."))
    if size > max_bytes():
        raise FileRefused(_("The file is too large (at most %(size)s).")
                          % {"size": filesizeformat(max_bytes())})
    lower = (name or "").lower()
    if lower.endswith(".xlsx"):
        if not head.startswith(XLSX_MAGIC):
            raise FileRefused(_("This file is not a real .xlsx workbook."))
        return "xlsx"
    if lower.endswith(".csv"):
        if head.startswith(XLSX_MAGIC) or b"\x00" in head[:4096]:
            raise FileRefused(_("This file is not a CSV text file."))
        return "csv"
    raise FileRefused(_("Only .xlsx and .csv files can be imported."))


def _csv_encoding(data: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), 1 << 20):
            decoder.decode(data[start:start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def max_rows() -> int:
    return getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


def _too_many_rows() -> FileRefused:
    return FileRefused(_("The file has more than %(limit)s rows: split it into files of at most "
                         "%(limit)s rows.") % {"limit": f"{max_rows():,}"})


def _clean_header(value) -> str:
    return "" if value is None or is_formula(value) else str(value).strip()


def _header_key(header: str) -> str:
    return re.sub(r"\s+", "", header).lower().rstrip("*")


def is_formula(value) -> bool:
    """A formula cell (read with data_only=False: "=A1", or openpyxl's array/data-table formula
    objects), or CSV text starting with "=" — never imported as a value."""
    if value.__class__ is str:
        return value[:1] == "="
    return type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def read(data: bytes, name: str) -> Table:
    """The file's header row and its data rows (streamed); FileRefused if it cannot be read."""
    kind = check_file(len(data), name, data[:8])
    if kind == "csv":
        encoding = _csv_encoding(data)
        text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text)
        rows = ((number, tuple(values)) for number, values in enumerate(reader, 1))
    else:
        rows = _workbook_rows(data)
    # The header: the first non-empty row naming a known column among the first few (rows
    # above it -- a title, often merged across the columns -- are dropped); failing that the
    # first non-empty row (map_headers then names the missing columns).
    seen: list[tuple[int, tuple]] = []
    for number, values in rows:
        headers = [_clean_header(v) for v in values]
        if not any(headers) and not any(v is not None and str(v).strip() for v in values):
            continue
        seen.append((number, values))
        if any(HEADERS.get(_header_key(h)) for h in headers):
            return Table(headers=headers, rows=_non_empty(rows))
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise FileRefused(_("The file has no rows."))
    first = [_clean_header(v) for v in seen[0][1]]
    return Table(headers=first, rows=_non_empty(itertools.chain(seen[1:], rows)))


def _workbook_rows(data: bytes):
    message = _("This file is not a real .xlsx workbook.")
    try:
        rows = xlsx_rows(data)
    except NotAWorkbook:
        raise FileRefused(message) from None
    try:
        yield from rows
    except NotAWorkbook:
        raise FileRefused(message) from None


def _non_empty(rows):
    for number, values in rows:
        if any(v is not None and str(v).strip() for v in values):
            yield number, values


def map_headers(headers: list[str]) -> Mapping:
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        target = HEADERS.get(_header_key(header))
        if target and target not in columns.values():
            columns[index] = target
        elif header:
            unknown.append(header)
    missing = [f for f in ("name", "phone") if f not in columns.values()]
    if missing:
        raise FileRefused(_("Columns missing: %(columns)s.")
                          % {"columns": "、".join(str(FIELD_LABELS[f]) for f in missing)})
    return Mapping(columns=columns, unknown=unknown, headers=headers)


# --- values ----------------------------------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text.replace("\x00", "") if "\x00" in text else text


def parse_date(value) -> dt.date | None:
    """A date cell, an Excel serial number, or text (2024-01-31, 2024/1/31, 2024年1月31日...)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) or re.fullmatch(r"\d{5}(\.\d+)?", str(value).strip()):
        serial = float(value)
        if not 1 <= serial < 2958466:
            raise ValueError
        return from_excel(serial).date()
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError


def _choice_lookup(choices) -> dict[str, str]:
    out = {}
    for value, label in choices:
        out[str(value).lower()] = value
        out[str(label).lower()] = value
        with translation.override("zh-hans"):
            out[str(label).lower()] = value
        with translation.override("en"):
            out[str(label).lower()] = value
    return out


_SEPARATORS = re.compile(r"[\s\-()（）]")  # what apps.core.identity strips too
_MOBILE = re.compile(r"(?:\+86)?(1\d{10})")


class _Normalisers:
    """`normalize_phone` and `normalize_id_number` with their slow part remembered for the
    run (each costs 0.1 ms or more: phonenumbers' parser, stdnum's region database), giving
    the same answers: whether a mainland mobile number is valid depends on its first digits
    only (the number ranges, at most five digits in libphonenumber's CN metadata; remembered
    per seven), and whether an ID number's region existed depends on the region and the birth
    year (remembered per both); everything else is checked for every value. A value the fast
    path does not accept goes through the original function (its exact message)."""

    def __init__(self):
        self.mobile_prefixes: dict[str, bool] = {}
        self.places: set[tuple[str, str]] = set()
        self.today = timezone.localdate()

    def phone(self, text: str) -> str:
        match = _MOBILE.fullmatch(_SEPARATORS.sub("", text))
        if match:
            digits = match.group(1)
            valid = self.mobile_prefixes.get(digits[:7])
            if valid:
                return digits
            if valid is None:
                try:
                    value = normalize_phone(text)
                except ValidationError:
                    self.mobile_prefixes[digits[:7]] = False
                    raise
                self.mobile_prefixes[digits[:7]] = value == digits
                return value
        return normalize_phone(text)

    def id_number(self, text: str) -> str:
        value = _SEPARATORS.sub("", text).upper()
        if (len(value) == 18 and value[:17].isascii() and value[:17].isdigit()
                and (value[:6], value[6:10]) in self.places
                and value[17] == ric.calc_check_digit(value)):
            try:
                born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
            except ValueError:
                born = None
            if born is not None and dt.date(1900, 1, 1) <= born <= self.today:
                return value
        value = normalize_id_number(text)
        if value:
            self.places.add((value[:6], value[6:10]))
        return value


class _Context:
    """What validating rows needs from the database, read once per import."""

    def __init__(self, tenant: Tenant, actor: Staff | None):
        self.tenant, self.actor = tenant, actor
        self.normalise = _Normalisers()
        self.actor_id = actor.pk if actor is not None else None
        self.sources = _choice_lookup(Customer.Source.choices)
        self.sources.update({"转介绍": Customer.Source.REFERRAL, "老带新": Customer.Source.REFERRAL,
                             "到店": Customer.Source.WALK_IN, "自然到店": Customer.Source.WALK_IN,
                             "电话": Customer.Source.PHONE, "网络": Customer.Source.ONLINE,
                             "线上": Customer.Source.ONLINE, "渠道": Customer.Source.CHANNEL,
                             "其他": Customer.Source.OTHER})
        self.staff: dict[str, Staff | None] = {}
        for staff in Staff.objects.filter(active=True).select_related("user", "team"):
            for key in (staff.name, staff.user.username):
                # A name two people share is ambiguous: None (refused with a message).
                self.staff[key] = None if key in self.staff and self.staff[key] != staff else staff
        self.assignable = (set(assignable_owners(actor).values_list("pk", flat=True))
                           if actor is not None else None)
        self.default_owner = actor if actor is not None and actor.has_role(Role.SALES) else None
        self.editable = (editable_customers(actor) if actor is not None
                         else Customer.objects.all())


def _validate_row(ctx: _Context, mapping: Mapping, number: int, values: tuple,
                  errors: list[RowError]) -> dict | None:
    """The row as customer fields (normalised), or None after appending its errors."""
    raw = {f: (values[i] if i < len(values) else None) for i, f in mapping.columns.items()}
    out: dict = {}
    before = len(errors)

    def fail(field_name, message):
        errors.append(RowError(number, mapping.header_of(field_name), str(message)))

    formulas = [f for f, v in raw.items() if v is not None and is_formula(v)]
    if formulas:  # the row's other messages would only follow from the formula
        for f in formulas:
            fail(f, _("A formula is not imported (%(formula)s): enter the value itself.")
                 % {"formula": str(getattr(raw[f], "text", raw[f]))[:40]})
        return None

    out["name"] = _text(raw.get("name"))
    if not out["name"]:
        fail("name", _("Enter the name."))
    elif len(out["name"]) > 50:
        fail("name", _("At most %(n)d characters.") % {"n": 50})
    try:
        out["phone"] = ctx.normalise.phone(_text(raw.get("phone")))
    except ValidationError as exc:
        fail("phone", exc.messages[0])
    id_text = _text(raw.get("id_number"))
    if "*" in id_text:  # masked (110105********0021), as the customer export writes it
        id_text = ""
    try:
        out["id_number"] = ctx.normalise.id_number(id_text)
    except ValidationError as exc:
        fail("id_number", exc.messages[0])
        out["id_number"] = None
    gender = _text(raw.get("gender")).lower()
    if gender in GENDERS:
        out["gender"] = GENDERS[gender]
    else:
        fail("gender", _("Gender is 男 or 女."))
    try:
        out["birthday"] = parse_date(raw.get("birthday"))
    except (ValueError, TypeError, OverflowError):
        fail("birthday", _("Not a date (e.g. 1990-01-31)."))
        out["birthday"] = None
    if out.get("id_number"):
        born = id_birth_date(out["id_number"])
        if out["birthday"] is None:
            out["birthday"] = born
        elif out["birthday"] != born:
            fail("birthday", _("The birthday does not match the ID number."))
    out["address"] = _text(raw.get("address"))
    if len(out["address"]) > 200:
        fail("address", _("At most %(n)d characters.") % {"n": 200})
    source = _text(raw.get("source"))
    if "source" in raw:
        out["source"] = ctx.sources.get(source.lower()) if source else Customer.Source.WALK_IN
        if out["source"] is None:
            fail("source", _("Unknown source: %(value)s.") % {"value": source})
    grade = _text(raw.get("grade")).upper()
    if "grade" in raw:
        if grade in {"", "A", "B", "C", "D"}:
            out["grade"] = grade
        else:
            fail("grade", _("The grade is A, B, C or D."))
    out["notes"] = _text(raw.get("notes"))
    if len(out["notes"]) > 2000:
        fail("notes", _("At most %(n)d characters.") % {"n": 2000})
    owner_text = _text(raw.get("owner"))
    owner = ctx.default_owner
    if owner_text:
        owner = ctx.staff.get(owner_text)
        if owner is None:
            fail("owner", _("Unknown staff member: %(value)s.") % {"value": owner_text})
        elif (ctx.assignable is not None and owner.pk not in ctx.assignable
              and owner != ctx.default_owner):
            fail("owner", _("You may not make %(name)s the owner of a customer.")
                 % {"name": owner.name})
    out["owner"] = owner
    out["_raw"] = raw  # which fields the file fills: only an update needs to know
    return None if len(errors) > before else out


# --- the run ---------------------------------------------------------------------------------

def run(*, tenant: Tenant, actor: Staff | None, table: Table, duplicates: str = SKIP,
        commit: bool = False, report: Callable[[int, str, dict | None, str], None] | None = None,
        progress: Callable[[int], None] | None = None) -> Summary:
    """Validate the whole file (`commit=False`: a preview, nothing written) or import it.

    With `commit` every row is written in one transaction, or none: if any row has an error,
    ImportFailed (carrying the Summary with every bad row) is raised and nothing is kept.
    `report(row, outcome, fields, reason)` is called for every row (the .xlsx report),
    `progress(rows read so far)` after every chunk (the background task's progress bar)."""
    if duplicates not in (SKIP, UPDATE):
        raise ValueError(duplicates)
    if actor is not None and not can_write_customers(actor):
        raise PermissionDenied(_("You may not change customers."))
    mapping = map_headers(table.headers)
    summary = Summary(mapping=mapping, duplicates=duplicates)
    note = report or (lambda *args: None)
    with tenant_context(tenant):
        ctx = _Context(tenant, actor)
        seen_phone: dict[str, int] = {}
        seen_id: dict[str, int] = {}
        now = timezone.now()
        chunk: list[tuple[int, dict]] = []

        def flush():
            _process_chunk(ctx, chunk, summary, commit=commit, now=now, note=note,
                           writer=writer)
            chunk.clear()
            if progress is not None:
                progress(summary.rows)

        writer = _Writer()
        try:
            limit = max_rows()
            for number, values in table.rows:
                summary.rows += 1
                if summary.rows > limit:
                    raise _too_many_rows()
                before = len(summary.errors)
                row = _validate_row(ctx, mapping, number, values, summary.errors)
                if row is None:
                    note(number, FAILED, _raw_fields(mapping, values), "; ".join(
                        f"{e.column}: {e.message}" for e in summary.errors[before:]))
                    continue
                earlier = seen_phone.get(row["phone"]) or (seen_id.get(row["id_number"])
                                                           if row["id_number"] else None)
                if earlier:
                    summary.skipped += 1
                    note(number, SKIPPED, row, _("Same mobile number or ID number as row %(row)d.")
                         % {"row": earlier})
                    continue
                seen_phone[row["phone"]] = number
                if row["id_number"]:
                    seen_id[row["id_number"]] = number
                chunk.append((number, row))
                if len(chunk) >= CHUNK:
                    flush()
            flush()
        finally:
            writer.close()
        if not summary.rows:
            raise FileRefused(_("The file has a header but no rows of customers."))
        if commit:
            if summary.errors:
                raise ImportFailed(summary)
            audit_record(tenant=tenant, actor=actor, action="customer.import", target=tenant,
                         changes={"created": summary.created, "updated": summary.updated,
                                  "skipped": summary.skipped, "rows": summary.rows,
                                  "duplicates": duplicates})
            summary.committed = True
    return summary


def _raw_fields(mapping: Mapping, values: tuple) -> dict:
    """Name and phone as written in the file (the report of a failed row)."""
    return {f: _text(values[i]) for i, f in mapping.columns.items()
            if f in ("name", "phone") and i < len(values)}


def _create(connection, tenant_id, actor_id, creates: list[tuple], now) -> None:
    """The chunk's customers and their ownership rows (in the writer's thread)."""
    ids = _insert_rows(connection, Customer, CREATE_FIELDS, creates)
    owner_at = CREATE_FIELDS.index("owner")
    owned = [(tenant_id, pk, None, c[owner_at], OwnershipChange.Reason.IMPORT, "", actor_id, now)
             for pk, c in zip(ids, creates, strict=True) if c[owner_at] is not None]
    if owned:
        _insert_rows(connection, OwnershipChange, OWNERSHIP_FIELDS, owned)


def _update(connection, names: list[str], rows: list[tuple], now) -> None:
    """UPDATE ... FROM json_array_elements: the chunk's changed customers in one statement
    (bulk_update's CASE WHEN per field took ~0.6 s a chunk on a loaded machine)."""
    fields = [Customer._meta.get_field(n) for n in names]
    sets = [f"{connection.ops.quote_name(f.column)} = (r->>{i})::{f.cast_db_type(connection)}"
            for i, f in enumerate(fields, 1)]
    sql = (f"UPDATE {connection.ops.quote_name(Customer._meta.db_table)} AS c "  # noqa: S608
           f"SET {', '.join(sets)}, updated_at = %s "
           "FROM json_array_elements(%s::json) AS r "
           # the ids again as an array: else the planner, blind to the JSON's size, hashes
           # it and scans the whole tenant (0.16 s a chunk against a million customers)
           "WHERE c.id = ANY(%s::bigint[]) AND c.id = (r->>0)::bigint")
    with connection.connection.cursor() as cursor:
        cursor.execute(sql, [now, json.dumps(rows, ensure_ascii=False, default=str),
                             "{" + ",".join(str(int(r[0])) for r in rows) + "}"])
        if cursor.rowcount != len(rows):  # RLS or a concurrent delete: never half an update
            raise RuntimeError(f"updated {cursor.rowcount} of {len(rows)} customers")


class _Writer:
    """Runs a chunk's INSERTs in one background thread on the import's own database connection
    (the same session and transaction: psycopg serialises its use), while the main thread
    reads and validates the next chunk: the database's work (about a third of the import:
    17 indexes per customer) overlaps the Python work instead of adding to it. Django's
    connection wrapper is bound to its thread, so the thread uses the psycopg connection
    itself. `wait()` before any other query (errors surface there), `close()` at the end."""

    def __init__(self):
        self.pool: ThreadPoolExecutor | None = None
        self.pending = None
        self.connection = connections["default"]  # the main thread's (Django's wrapper)
        self.connection.ensure_connection()

    def submit(self, function, *args) -> None:
        self.wait()
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self.pending = self.pool.submit(function, *args)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)


#: In the model's field order (Model.from_db expects the values so).
LOOKUP_FIELDS = tuple(f.attname for f in Customer._meta.concrete_fields
                      if f.name in ("id", "phone", "id_number", *UPDATABLE))


def _pg_array(values: list[str]) -> str:
    """A text[] literal of normalised phones / ID numbers (digits and X only)."""
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


def _existing(tenant_id: int, phones: list[str], ids: list[str]) -> list[Customer]:
    """The tenant's customers with one of these phones or ID numbers: two index scans
    (`= ANY` of one array parameter on the unique (tenant, phone) and (tenant, id_number)
    indexes, the tenant condition explicit beside the RLS policy). The ORM's
    `phone__in=[2 000 values] | id_number__in=[…]` spent ~40 ms idle, 0.2 s loaded, building
    and quoting 2 600 placeholders for a query the server ran in 5 ms."""
    columns = ", ".join(Customer._meta.get_field(n).column for n in LOOKUP_FIELDS)
    sql = (f"SELECT {columns} FROM customers_customer "  # noqa: S608 (model metadata only)
           "WHERE tenant_id = %s AND phone = ANY(%s::varchar[]) UNION "
           f"SELECT {columns} FROM customers_customer "
           "WHERE tenant_id = %s AND id_number = ANY(%s::varchar[]) AND id_number <> ''")
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, [tenant_id, _pg_array(phones), tenant_id, _pg_array(ids)])
        return [Customer.from_db("default", LOOKUP_FIELDS, row) for row in cursor.fetchall()]


def _process_chunk(ctx: _Context, chunk, summary: Summary, *, commit: bool, now, note,
                   writer: _Writer) -> None:
    if not chunk:
        return
    writer.wait()
    existing = _existing(ctx.tenant.pk, [row["phone"] for _n, row in chunk],
                         [row["id_number"] for _n, row in chunk if row["id_number"]])
    by_phone = {c.phone: c for c in existing}
    by_id = {c.id_number: c for c in existing if c.id_number}
    # (skip mode skips every match: whom the actor may change does not matter)
    editable = (set(ctx.editable.filter(pk__in=[c.pk for c in existing])
                    .values_list("pk", flat=True))
                if existing and summary.duplicates == UPDATE else set())
    creates: list[tuple] = []  # CREATE_FIELDS' values (no model instances: 100 000 rows)
    updates: list[Customer] = []
    update_fields: set[str] = set()
    for number, row in chunk:
        match_phone = by_phone.get(row["phone"])
        match_id = by_id.get(row["id_number"]) if row["id_number"] else None
        if match_phone and match_id and match_phone.pk != match_id.pk:
            summary.errors.append(RowError(number, summary.mapping.header_of("id_number"), _(
                "The mobile number and the ID number belong to two different customers.")))
            note(number, FAILED, row, summary.errors[-1].message)
            continue
        match = match_phone or match_id
        if match is None:
            owner = row["owner"]
            team = owner.team_id if owner is not None else (ctx.actor.team_id if ctx.actor
                                                            else None)
            owner_id = owner.pk if owner is not None else None
            creates.append((
                ctx.tenant.pk, row["name"], row["phone"], row["id_number"] or "", row["gender"],
                row["birthday"], row["address"], row.get("source") or Customer.Source.WALK_IN,
                row.get("grade", ""), row["notes"], owner_id, team, ctx.actor_id, now,
                now if owner_id is not None else None, None if owner_id is not None else now))
            summary.created += 1
            note(number, CREATED, row, "")
            continue
        if summary.duplicates == SKIP:
            summary.skipped += 1
            note(number, SKIPPED, row, _("Already registered in the company."))
            continue
        if match.pk not in editable:
            summary.skipped += 1
            note(number, SKIPPED, row, _("Already registered to a customer you may not change."))
            continue
        changed = False
        present = {f for f, v in row["_raw"].items() if _text(v)}
        values = {name: row.get(name) for name in UPDATABLE if name in present}
        if match.id_number:
            values.pop("id_number", None)  # an existing ID number is not overwritten by an import
        final_id = values.get("id_number") or match.id_number
        if final_id:  # the birthday always follows the ID number
            values["birthday"] = id_birth_date(final_id)
        for name, value in values.items():
            if getattr(match, name) != value:
                setattr(match, name, value)
                update_fields.add(name)
                changed = True
        if changed:
            updates.append(match)
        summary.updated += 1
        note(number, UPDATED, row, "")
    if not commit or summary.errors:
        return
    if creates:
        writer.submit(_create, writer.connection, ctx.tenant.pk, ctx.actor_id, creates, now)
    if updates:
        names = sorted(update_fields)
        writer.submit(_update, writer.connection, names,
                      [(c.pk, *(getattr(c, n) for n in names)) for c in updates], now)


CREATE_FIELDS = ("tenant", "name", "phone", "id_number", "gender", "birthday", "address", "source",
                 "grade", "notes", "owner", "team", "created_by", "last_contact_at",
                 "owned_since", "released_at")
OWNERSHIP_FIELDS = ("tenant", "customer", "from_owner", "to_owner", "reason", "note", "actor",
                    "at")


def _insert_rows(connection, model, names, rows: list[tuple]) -> list[int]:
    """INSERT ... SELECT FROM json_array_elements(one JSON array of rows) RETURNING id, in
    the rows' order: one small statement and ONE parameter per chunk. bulk_create's thousands
    of placeholders cost more to build than to run, and so did one array per column
    (unnest): the connection binds parameters client-side, so psycopg quoted every element
    in Python; json.dumps is C. COPY is not allowed under row-level security.
    created_at/updated_at and tags are set here too. Runs on the psycopg connection directly
    of `connection` (a Django connection: called from the _Writer thread)."""
    fields = [model._meta.get_field(n) for n in names]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    select = [f"(r->>{i})::{f.cast_db_type(connection) if not f.is_relation else 'bigint'}"
              for i, f in enumerate(fields)]
    for name in ("created_at", "updated_at"):
        if any(f.name == name for f in model._meta.concrete_fields):
            columns.append(connection.ops.quote_name(name))
            select.append("now()")  # the transaction's start, as the rows' timestamps
    if model is Customer:
        columns.append('"tags"')
        select.append("'{}'::varchar(20)[]")
    # Identifiers from the model's metadata only; the values are the one parameter.
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
           f"SELECT {', '.join(select)} FROM json_array_elements(%s::json) AS r RETURNING id")
    payload = json.dumps(rows, ensure_ascii=False, default=str)
    with connection.connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return [row[0] for row in cursor.fetchall()]


def import_customers(*, tenant: Tenant, actor: Staff | None, data: bytes, name: str,
                     duplicates: str = SKIP, commit: bool = True,
                     report: Callable[[int, str, dict | None, str], None] | None = None,
                     ) -> Summary:
    """read + run in one call. A failed commit returns its Summary (committed False) with
    every error, nothing written; FileRefused and PermissionDenied propagate."""
    table = read(data, name)
    try:
        return run(tenant=tenant, actor=actor, table=table, duplicates=duplicates,
                   commit=commit, report=report)
    except ImportFailed as failed:
        return failed.summary
