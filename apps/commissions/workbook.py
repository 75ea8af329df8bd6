"""The finance workbook of a settlement (提成表, one .xlsx per month), for payroll.

Two sheets, Chinese headers (always built in the site language, settings.LANGUAGE_CODE: the
file is a payroll document and may be built by a worker), written with apps.core.xlsx
(openpyxl write-only, frozen header, widths, formula-injection escaping, money as numbers
with the format 0.00):

* 汇总 (summary) — one row per person (a team prize without a person: one row per team): name,
  team, base salary, each commission kind (rate, fixed, pool, staff_referral), commissions,
  bonuses (count_bonus + ranking + retention), penalties, adjustments (every line with
  is_adjustment, whatever its kind; the kind columns leave adjustments out, as
  apps.commissions.engine.summarize does), the cap applied (kind "cap") and the total (every
  line); then a totals row. ONE aggregate query (conditional sums per person, joined with the
  staff member's name, team and base salary).
* 明细 (detail) — one row per line, streamed with values_list().iterator(chunk_size=CHUNK)
  (never the whole month in memory), then a totals row.

The totals rows are sums of the same Decimals the database holds, so they equal
`Sum("result")` to the cent. `workbook_write(settlement, target, progress=)` writes to a path
or a binary file object and calls `progress(done, total)` every CHUNK lines.

Small months are downloaded directly; months over WORKBOOK_DIRECT_MAX_LINES lines are built by
the task apps.commissions.tasks_workbook.build_workbook into `workbook_path(...)`, a private
directory under MEDIA_ROOT (never served as static or media files: only the role-checked view
reads it). The file name carries `workbook_fingerprint(settlement)` (runs, line count, last line
id, last calculation), so a recalculated month gets a new file and an unchanged one is built
once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Case, Count, F, Max, Q, Sum, When
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from apps.core.xlsx import MONEY, PERCENT, Column, XlsxSheet
from apps.tenancy.models import Staff
from apps.tenancy.roles import Role

from .engine import BONUS_KINDS, COMMISSION_KINDS
from .models import CommissionLine, Settlement
from .rules import kind_name

#: Who may download the workbook: it is the whole tenant's payroll (managers: their statements).
WORKBOOK_ROLES = (Role.FINANCE, Role.ADMIN)
#: Up to this many lines the page sends the file at once; more: a task builds it.
WORKBOOK_DIRECT_MAX_LINES = getattr(settings, "WORKBOOK_DIRECT_MAX_LINES", 20_000)
#: Lines fetched per round trip (and between two progress reports).
CHUNK = 2_000
ZERO = Decimal("0.00")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class WorkbookResult:
    lines: int
    people: int
    total: Decimal


@dataclass(frozen=True)
class SummaryRow:
    staff_id: int | None
    name: str
    team_name: str
    base_salary: Decimal | None
    by_kind: dict[str, Decimal]
    commissions: Decimal
    bonuses: Decimal
    penalties: Decimal
    adjustments: Decimal
    cap: Decimal
    total: Decimal


def workbook_filename(settlement: Settlement) -> str:
    """提成表-2026-10.xlsx (in the site language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Commissions-%(month)s.xlsx") % {"month": f"{settlement.month:%Y-%m}"}


def workbook_ascii_filename(settlement: Settlement) -> str:
    return f"commissions-{settlement.month:%Y-%m}.xlsx"


def line_stats(settlement: Settlement) -> tuple[int, int]:
    """(number of lines, highest line id) of the settlement, in one query."""
    row = CommissionLine.objects.filter(settlement=settlement).aggregate(n=Count("id"),
                                                                         last=Max("id"))
    return row["n"], row["last"] or 0


def workbook_fingerprint(settlement: Settlement, stats: tuple[int, int] | None = None) -> str:
    count, last = stats if stats is not None else line_stats(settlement)
    calculated = settlement.calculated_at.isoformat() if settlement.calculated_at else "-"
    raw = f"{settlement.pk}:{settlement.runs}:{count}:{last}:{calculated}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def workbook_dir(tenant_id: int) -> Path:
    """The private directory of a tenant's built workbooks (under MEDIA_ROOT, never served)."""
    return Path(settings.MEDIA_ROOT) / "private" / "commissions" / str(tenant_id)


def workbook_path(settlement: Settlement, fingerprint: str) -> Path:
    return workbook_dir(settlement.tenant_id) / f"workbook-{settlement.pk}-{fingerprint}.xlsx"


# --------------------------------------------------------------------------- summary


def _kind_sum(*kinds: str, adjustment: bool | None = False):
    condition = Q(kind__in=kinds) if kinds else Q()
    if adjustment is not None:
        condition &= Q(is_adjustment=adjustment)
    return Sum("result", filter=condition, default=ZERO)


def summary_rows(settlement: Settlement) -> list[SummaryRow]:
    """One row per person (or per team for lines without a person), ordered by team and
    name: one aggregate query."""
    sums = {f"k_{kind}": _kind_sum(kind) for kind in COMMISSION_KINDS}
    rows = (CommissionLine.objects.filter(settlement=settlement)
            # Lines without a person (team prizes) are grouped per team, a person's lines
            # together whatever team each line names.
            .annotate(group_team=Case(When(staff__isnull=True, then=F("team_id")), default=None))
            .values("staff_id", "group_team", "staff__name", "staff__base_salary",
                    "staff__team__name")
            .annotate(line_team=Max("team__name"), **sums,
                      bonuses=_kind_sum(*BONUS_KINDS), penalties=_kind_sum("penalty"),
                      cap=_kind_sum("cap"),
                      adjustments=Sum("result", filter=Q(is_adjustment=True), default=ZERO),
                      total=Sum("result", default=ZERO))
            .order_by(F("staff__team__name").asc(nulls_last=True), "staff__name", "staff_id",
                      "line_team"))
    out = []
    for row in rows:
        by_kind = {kind: row[f"k_{kind}"] for kind in COMMISSION_KINDS}
        team = row["line_team"] or row["staff__team__name"] or ""
        name = row["staff__name"] if row["staff_id"] is not None else _("Team prize")
        out.append(SummaryRow(
            staff_id=row["staff_id"], name=name, team_name=team,
            base_salary=row["staff__base_salary"], by_kind=by_kind,
            commissions=sum(by_kind.values(), ZERO), bonuses=row["bonuses"],
            penalties=row["penalties"], adjustments=row["adjustments"], cap=row["cap"],
            total=row["total"]))
    return out


def _base_salary_label() -> str:
    return str(Staff._meta.get_field("base_salary").verbose_name)


def _summary_columns() -> list[Column]:
    return [Column(_("Name"), 14), Column(_("Team"), 12), Column(_base_salary_label(), 12, MONEY),
            *[Column(kind_name(kind), 16, MONEY) for kind in COMMISSION_KINDS],
            Column(_("Commissions"), 12, MONEY), Column(_("Bonuses"), 12, MONEY),
            Column(_("Penalties"), 12, MONEY), Column(_("Adjustments"), 12, MONEY),
            Column(_("Cap applied"), 12, MONEY), Column(_("Total"), 14, MONEY)]


def _write_summary(book, rows: list[SummaryRow]) -> None:
    sheet = XlsxSheet(book, _("Summary"), _summary_columns())
    totals = [ZERO] * (len(COMMISSION_KINDS) + 6)
    base_total = ZERO
    for row in rows:
        numbers = [*(row.by_kind[k] for k in COMMISSION_KINDS), row.commissions, row.bonuses,
                   row.penalties, row.adjustments, row.cap, row.total]
        sheet.append([row.name, row.team_name, row.base_salary, *numbers])
        totals = [a + b for a, b in zip(totals, numbers, strict=True)]
        base_total += row.base_salary or ZERO
    sheet.append_total([_("Total"), "", base_total, *totals])


# --------------------------------------------------------------------------- detail

DETAIL_FIELDS = ("staff__name", "team__name", "kind", "rule_version", "rule_name", "base",
                 "rate", "fixed", "share", "result", "ref", "adjusts", "explanation")


def _detail_columns() -> list[Column]:
    return [Column(_("Name"), 12), Column(_("Team"), 10), Column(_("Kind"), 16),
            Column(_("Rule"), 22), Column(_("Base"), 12, MONEY), Column(_("Rate (%)"), 9, PERCENT),
            Column(_("Fixed amount"), 11, MONEY), Column(_("Share (%)"), 9, PERCENT),
            Column(_("Amount"), 12, MONEY), Column(_("Source"), 14),
            Column(_("Adjusts"), 24), Column(_("Explanation"), 60)]


def _write_detail(book, settlement: Settlement, total_lines: int,
                  progress: Progress | None) -> tuple[int, Decimal]:
    sheet = XlsxSheet(book, _("Details"), _detail_columns())
    kinds = {kind: kind_name(kind) for kind, _label in CommissionLine.KIND_CHOICES}
    team_prize = _("Team prize")
    lines = (CommissionLine.objects.filter(settlement=settlement).order_by("position", "id")
             .values_list(*DETAIL_FIELDS).iterator(chunk_size=CHUNK))
    total, done = ZERO, 0
    append = sheet.append
    for (name, team, kind, version, rule, base, rate, fixed, share, result, ref, adjusts,
         explanation) in lines:
        rule_text = f"v{version} {rule}" if version is not None else rule
        append([name if name is not None else team_prize, team, kinds.get(kind, kind),
                rule_text, base, rate, fixed, share, result, ref, adjusts, explanation])
        total += result
        done += 1
        if progress is not None and done % CHUNK == 0:
            progress(done, total_lines)
    sheet.append_total([_("Total"), "", "", "", None, None, None, None, total, "", "", ""])
    return done, total


def workbook_write(settlement: Settlement, target, *, total_lines: int | None = None,
                   progress: Progress | None = None) -> WorkbookResult:
    """Write the workbook of `settlement` to `target` (a path or a binary file object).
    Run it inside the settlement's tenant context."""
    if total_lines is None:
        total_lines = line_stats(settlement)[0]
    with translation.override(settings.LANGUAGE_CODE):
        book = Workbook(write_only=True)
        people = summary_rows(settlement)
        _write_summary(book, people)
        lines, total = _write_detail(book, settlement, total_lines, progress)
        book.save(target)
    if progress is not None:
        progress(lines, total_lines)
    return WorkbookResult(lines=lines, people=len(people), total=total)
