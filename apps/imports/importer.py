"""Customer import from .xlsx and .csv: read, map headers, validate, detect duplicates, commit.

Design (see also docs/imports.md):

* `read(data, name)` checks the file at once (size limit ``settings.IMPORT_MAX_BYTES``, empty,
  type by extension *and* content: an .xlsx must start with the zip magic ``PK\\x03\\x04``) and
  returns a `Table`: the header row and an iterator of ``(row number, values)``. Rows are
  streamed: CSV through a text wrapper (UTF-8 with or without BOM, else GB18030, a superset of
  GBK), xlsx through openpyxl in read-only, values-only mode (a formula gives its cached
  value). Row numbers are the spreadsheet's (the header is row 1).
* `map_headers(headers)` recognises the Chinese headers Chinese Excel exports use (姓名, 手机,
  身份证号, …) and the model's English field names; unknown columns are reported, ignored.
* `run(...)` validates every row with the rules of `apps.customers.services.customer_create`
  (the same normalisers, the ID check digit, birthday vs ID, owner permission, choices) and
  finds duplicates (same phone or ID number, as registration: unique per tenant) against the
  tenant and within the file. It is called twice with the same file: ``commit=False`` for the
  preview (nothing written) and ``commit=True`` to write. Memory stays flat: rows are handled
  in chunks of `CHUNK` (one query per chunk for the duplicates, one bulk_create / bulk_update
  per chunk); only the seen phones/ID numbers and the row errors are kept for the whole file.
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
* `ReportWriter` writes the outcome of every row (created / updated / skipped / failed, and
  why) to a write-only .xlsx through `apps.core.xlsx`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import from_excel

from apps.core.audit import audit_record
from apps.core.identity import id_birth_date, normalize_id_number, normalize_phone
from apps.core.xlsx import Column, XlsxSheet
from apps.customers.models import Customer, OwnershipChange
from apps.customers.selectors import assignable_owners, can_write_customers, editable_customers
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
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


def _clean_header(value) -> str:
    return "" if value is None else str(value).strip()


def read(data: bytes, name: str) -> Table:
    """The file's header row and its data rows (streamed); FileRefused if it cannot be read."""
    kind = check_file(len(data), name, data[:8])
    if kind == "csv":
        encoding = _csv_encoding(data)
        text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text)
        rows = ((number, tuple(values)) for number, values in enumerate(reader, 1))
    else:
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
        except Exception:  # a damaged zip or a zip that is not a workbook
            raise FileRefused(_("This file is not a real .xlsx workbook."))
        rows = ((number, values) for number, values in
                enumerate(sheet.iter_rows(values_only=True), 1))
    for _number, values in rows:  # the first non-empty row is the header
        if any(_clean_header(v) for v in values):
            headers = [_clean_header(v) for v in values]
            return Table(headers=headers, rows=_non_empty(rows))
    raise FileRefused(_("The file has no rows."))


def _non_empty(rows):
    for number, values in rows:
        if any(v is not None and str(v).strip() for v in values):
            yield number, values


def map_headers(headers: list[str]) -> Mapping:
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        key = re.sub(r"\s+", "", header).lower().rstrip("*")
        target = HEADERS.get(key)
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
    return str(value).strip()


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


class _Context:
    """What validating rows needs from the database, read once per import."""

    def __init__(self, tenant: Tenant, actor: Staff | None):
        self.tenant, self.actor = tenant, actor
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

    out["name"] = _text(raw.get("name"))
    if not out["name"]:
        fail("name", _("Enter the name."))
    elif len(out["name"]) > 50:
        fail("name", _("At most %(n)d characters.") % {"n": 50})
    try:
        out["phone"] = normalize_phone(_text(raw.get("phone")))
    except ValidationError as exc:
        fail("phone", exc.messages[0])
    try:
        out["id_number"] = normalize_id_number(_text(raw.get("id_number")))
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
    out["_present"] = {f for f, v in raw.items() if _text(v)}
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
            _process_chunk(ctx, chunk, summary, commit=commit, now=now, note=note)
            chunk.clear()
            if progress is not None:
                progress(summary.rows)

        for number, values in table.rows:
            summary.rows += 1
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


def _process_chunk(ctx: _Context, chunk, summary: Summary, *, commit: bool, now, note) -> None:
    if not chunk:
        return
    phones = [row["phone"] for _n, row in chunk]
    ids = [row["id_number"] for _n, row in chunk if row["id_number"]]
    existing = list(Customer.objects.filter(Q(phone__in=phones) | Q(id_number__in=ids))
                    .only("pk", "phone", "id_number", *UPDATABLE))
    by_phone = {c.phone: c for c in existing}
    by_id = {c.id_number: c for c in existing if c.id_number}
    editable = (set(ctx.editable.filter(pk__in=[c.pk for c in existing])
                    .values_list("pk", flat=True)) if existing else set())
    creates: list[Customer] = []
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
            team = owner.team if owner is not None else (ctx.actor.team if ctx.actor else None)
            creates.append(Customer(
                tenant=ctx.tenant, name=row["name"], phone=row["phone"],
                id_number=row["id_number"], gender=row["gender"], birthday=row["birthday"],
                address=row["address"], source=row.get("source") or Customer.Source.WALK_IN,
                grade=row.get("grade", ""), notes=row["notes"], owner=owner, team=team,
                created_by=ctx.actor, last_contact_at=now,
                owned_since=now if owner is not None else None,
                released_at=None if owner is not None else now))
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
        values = {name: row.get(name) for name in UPDATABLE if name in row["_present"]}
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
        ids = _insert_unnest(Customer, CREATE_FIELDS, creates)
        owned = [(pk, c) for pk, c in zip(ids, creates, strict=True) if c.owner_id is not None]
        if owned:
            _insert_unnest(OwnershipChange, OWNERSHIP_FIELDS, [
                OwnershipChange(tenant=ctx.tenant, customer_id=pk, from_owner=None,
                                to_owner_id=c.owner_id, reason=OwnershipChange.Reason.IMPORT,
                                note="", actor=ctx.actor, at=now) for pk, c in owned])
    if updates:
        for customer in updates:
            customer.updated_at = now
        Customer.objects.bulk_update(updates, [*sorted(update_fields), "updated_at"],
                                     batch_size=1000)


CREATE_FIELDS = ("tenant", "name", "phone", "id_number", "gender", "birthday", "address", "source",
                 "grade", "notes", "owner", "team", "created_by", "last_contact_at",
                 "owned_since", "released_at")
OWNERSHIP_FIELDS = ("tenant", "customer", "from_owner", "to_owner", "reason", "note", "actor",
                    "at")


def _insert_unnest(model, names, objects) -> list[int]:
    """INSERT ... SELECT FROM unnest(one array per column) RETURNING id: one small statement
    per chunk (bulk_create's thousands of placeholders cost more to build than to run; COPY is
    not allowed under row-level security). created_at/updated_at and tags set here too."""
    fields = [model._meta.get_field(n) for n in names]
    connection = connections["default"]
    columns, arrays, casts = [], [], []
    for f in fields:
        columns.append(connection.ops.quote_name(f.column))
        arrays.append([getattr(o, f.attname) for o in objects])
        casts.append(f"%s::{f.cast_db_type(connection) if not f.is_relation else 'bigint'}[]")
    extra, extra_values = [], []
    now = timezone.now()
    for name in ("created_at", "updated_at"):
        if any(f.name == name for f in model._meta.concrete_fields):
            extra.append(connection.ops.quote_name(name))
            extra_values.append("%s")
    params = [*([now] * len(extra)), *arrays]  # the select list comes first in the SQL
    select = ", ".join(f"u.c{i}" for i in range(len(fields)))
    if extra:
        select += ", " + ", ".join(extra_values)
    if model is Customer:
        extra.append('"tags"')
        select += ", '{}'::varchar(20)[]"
    # Identifiers from the model's metadata only; every value is a parameter.
    table = connection.ops.quote_name(model._meta.db_table)
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    sql = (f"INSERT INTO {table} ({', '.join(columns + extra)}) "  # noqa: S608
           f"SELECT {select} FROM unnest({', '.join(casts)}) AS u({aliases}) RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


# --- the report ------------------------------------------------------------------------------

OUTCOME_LABELS = {CREATED: gettext_lazy("Created"), UPDATED: gettext_lazy("Updated"),
                  SKIPPED: gettext_lazy("Skipped"), FAILED: gettext_lazy("Failed")}


class ReportWriter:
    """Every row's outcome as an .xlsx sheet (write-only: rows go to disk as they come)."""

    def __init__(self):
        self.book = Workbook(write_only=True)
        self.sheet = XlsxSheet(self.book, str(_("Import report")), [
            Column(gettext_lazy("Row"), 8), Column(gettext_lazy("Result"), 10),
            Column(FIELD_LABELS["name"], 14), Column(FIELD_LABELS["phone"], 14),
            Column(gettext_lazy("Reason"), 60)])

    def __call__(self, row: int, outcome: str, fields: dict | None, reason: str) -> None:
        fields = fields or {}
        self.sheet.append([str(row), str(OUTCOME_LABELS[outcome]), fields.get("name", ""),
                           fields.get("phone", ""), reason])

    def save(self, handle) -> None:
        self.book.save(handle)


def import_customers(*, tenant: Tenant, actor: Staff | None, data: bytes, name: str,
                     duplicates: str = SKIP, commit: bool = True,
                     report: ReportWriter | None = None) -> Summary:
    """read + run in one call. A failed commit returns its Summary (committed False) with
    every error, nothing written; FileRefused and PermissionDenied propagate."""
    table = read(data, name)
    try:
        return run(tenant=tenant, actor=actor, table=table, duplicates=duplicates,
                   commit=commit, report=report)
    except ImportFailed as failed:
        return failed.summary
