"""Follow-up reports (回访报表, issue 8 item 7), the managers' team page (item 4) and the export
of follow-up records to .xlsx. Reads only; the report page, the team page, the API and the
export share them (the dashboards must give the same numbers).

**Which follow-ups.** The ones the viewer may see (apps.followups.selectors.visible_tasks:
administrators and customer service the whole tenant, a manager their team's and their own),
whose due time falls on a day of the range — a range of the tenant's local days [start, end)
(`Tenant.time_zone`, Asia/Shanghai by default: a task due at 23:30 on 31 January Shanghai time
counts in January although it is 15:30 UTC) — and, when one is chosen, of one team (the task's
team: its assignee's team when it was made).

**Figures** (`Figures`, per person, per team and in total):

* `due` — follow-ups due in the range, whatever their state; `done` (a result recorded),
  `cancelled`, `open` (still to do); due = done + cancelled + open.
* `overdue` — of the open ones, those due before now.
* `on_time` — of the done ones, those whose result was recorded no later than the end of their
  due day in the tenant's time zone (the local day of `completed_at` ≤ that of `due_at`).
* `completion_rate` = done / (due − cancelled) and `on_time_rate` = on_time / (due − cancelled),
  in % with one decimal (rounded half up; None when nothing is expected: a cancelled task is
  not expected of anybody).
* `satisfaction_average` — the mean satisfaction (1–5, one decimal) of the `reached` results,
  and `satisfaction_count` how many there are.
* `complaints_opened` — complaint follow-ups opened from a result (purpose complaint with a
  parent: the unsatisfied visit they follow); `complaints_reopened` — of those, the ones whose
  parent was itself a complaint follow-up (the customer was still unsatisfied). Both count the
  complaint tasks due in the range, for their assignee and team (the visit's).

A person's row adds up all their tasks in the range (whatever team they were in); a team's row
adds up the tasks of that team; the totals add up everything. Tasks without a team form a
"No team" row. One aggregate query (GROUP BY assignee and team) plus the names of the people
and of the teams, whatever the number of follow-ups.

**The team page** (`team_overview`): per person of the team, today's and this week's figures
(this week: the tasks due from Monday of the tenant's week to the end of today) and how many
of their follow-ups are overdue; then the team's overdue open follow-ups, oldest first. A
manager sees their own team; administrators and customer service pick a team (default their
own, else the first by name). One aggregate query, the members, and one page of the list.

**The export** (`report_xlsx`): the follow-up records of the same filters and visibility, one
row each, oldest due first, written in one pass (openpyxl write-only, apps.core.xlsx: text
escaped against formula injection, Chinese headers). A customer's mobile number is shown in
full only to a viewer who may see the customer (apps.customers.selectors.visible_customers —
administrators and customer service every customer, a manager their team's and their own);
otherwise masked as 139****5678, as the referral lists do.

Who: administrators, managers and customer service (selectors.REPORT_ROLES); anyone else
PermissionDenied (sales see their own work on "My day", finance has no business here).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from apps.core.forms import BootstrapFormMixin
from apps.core.identity import mask_phone
from apps.core.xlsx import INTEGER, Column, XlsxSheet
from apps.customers.selectors import visible_customers
from apps.ownership.selectors import local_midnight, tenant_today
from apps.referrals.forms_reports import MonthField
from apps.referrals.reports import add_months
from apps.renewals.selectors import percent
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from .models import Channel, FollowUpTask, Purpose
from .selectors import ALL_TASK_ROLES, REPORT_ROLES, visible_tasks

S = FollowUpTask.Status
R = FollowUpTask.Result
#: The longest range a report or an export covers (days).
MAX_DAYS = 366
TENTH = Decimal("0.1")


# --------------------------------------------------------------------------- who and which


def require_reader(staff: Staff) -> None:
    if not staff.has_role(*REPORT_ROLES):
        raise PermissionDenied(_("Only administrators, managers and customer service see the "
                                 "follow-up reports."))


def sees_all_teams(staff: Staff) -> bool:
    return staff.has_role(*ALL_TASK_ROLES)


def report_teams(staff: Staff) -> QuerySet:
    """The teams `staff` may narrow a report to: every team (administrators, customer
    service), a manager's own team, none otherwise."""
    if sees_all_teams(staff):
        return Team.objects.order_by("name", "id")
    if staff.has_role(Role.MANAGER) and staff.team_id is not None:
        return Team.objects.filter(pk=staff.team_id)
    return Team.objects.none()


def report_tasks(staff: Staff) -> QuerySet:
    """The follow-ups `staff`'s reports count (PermissionDenied for a role without reports)."""
    require_reader(staff)
    return visible_tasks(staff)


def _tenant(staff: Staff) -> Tenant:
    return staff.tenant     # (the request's staff carries it: no query)


def _day_range(tenant: Tenant, start: dt.date, end: dt.date) -> Q:
    return Q(due_at__gte=local_midnight(tenant, start), due_at__lt=local_midnight(tenant, end))


def month_range(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    return first, add_months(first, 1)


# --------------------------------------------------------------------------- filters


class ReportFilterForm(BootstrapFormMixin, forms.Form):
    """The filters of the report page, its API and the export: `month` (YYYY-MM) or a range
    of days `from`–`to` (both included; given, they win over the month: a missing `from` is
    the first day of `to`'s month, a missing `to` the last of `from`'s), at most MAX_DAYS
    days; neither: this month of the tenant. `team`: one of the viewer's teams (a manager:
    their own). Cleans to `start` and `end` (exclusive) and `team`."""

    month = MonthField(label=gettext_lazy("Month"), required=False)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=None,
                                  required=False, empty_label=gettext_lazy("All teams"))

    def __init__(self, *args, staff: Staff, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff, self.tenant = staff, tenant
        self.fields["team"].queryset = report_teams(staff)
        if not sees_all_teams(staff):
            self.fields["team"].empty_label = gettext_lazy("My team")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        first, last, month = data.get("from"), data.get("to"), data.get("month")
        if first is not None or last is not None:
            first = first or last.replace(day=1)
            last = last or add_months(first.replace(day=1), 1) - dt.timedelta(days=1)
            if last < first:
                self.add_error("to", _("The last day is before the first day."))
                return data
            if (last - first).days + 1 > MAX_DAYS:
                self.add_error("to", _("Choose at most %(days)s days.") % {"days": MAX_DAYS})
                return data
            start, end = first, last + dt.timedelta(days=1)
        else:
            start, end = month_range(month or tenant_today(self.tenant))
        data["start"], data["end"] = start, end
        return data


# `from` is a Python keyword: the two fields are declared here rather than in the class body.
for _name, _label in (("from", gettext_lazy("From")), ("to", gettext_lazy("To"))):
    ReportFilterForm.base_fields[_name] = forms.DateField(
        label=_label, required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    ReportFilterForm.declared_fields[_name] = ReportFilterForm.base_fields[_name]
del _name, _label
ReportFilterForm.base_fields = {k: ReportFilterForm.base_fields[k]
                                for k in ("month", "from", "to", "team")}


def report_filters(params, *, staff: Staff, tenant: Tenant) -> dict:
    """The cleaned filters from query parameters (a QueryDict or a dict): {"start", "end",
    "team"}. Invalid ones raise ValidationError({field: [messages]}) (the API's field
    errors)."""
    data = {}
    for key in ReportFilterForm.base_fields:
        if params and key in params:
            value = params.getlist(key)[-1] if hasattr(params, "getlist") else params[key]
            data[key] = "" if value is None else str(value).strip()
    form = ReportFilterForm(data, staff=staff, tenant=tenant)
    if not form.is_valid():
        raise ValidationError({k: list(v) for k, v in form.errors.items()})
    return {"start": form.cleaned_data["start"], "end": form.cleaned_data["end"],
            "team": form.cleaned_data.get("team")}


def default_filters(tenant: Tenant) -> dict:
    start, end = month_range(tenant_today(tenant))
    return {"start": start, "end": end, "team": None}


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """The figures of a person, a team or the whole report (see the module docstring)."""

    due: int = 0
    done: int = 0
    cancelled: int = 0
    open: int = 0
    overdue: int = 0
    on_time: int = 0
    satisfaction_sum: int = 0
    satisfaction_count: int = 0
    complaints_opened: int = 0
    complaints_reopened: int = 0

    FIELDS = ("due", "done", "cancelled", "open", "overdue", "on_time", "satisfaction_sum",
              "satisfaction_count", "complaints_opened", "complaints_reopened")

    @property
    def expected(self) -> int:
        return self.due - self.cancelled

    @property
    def completion_rate(self) -> Decimal | None:
        return percent(self.done, self.expected)

    @property
    def on_time_rate(self) -> Decimal | None:
        return percent(self.on_time, self.expected)

    @property
    def satisfaction_average(self) -> Decimal | None:
        if not self.satisfaction_count:
            return None
        return (Decimal(self.satisfaction_sum) / self.satisfaction_count).quantize(
            TENTH, ROUND_HALF_UP)

    def add(self, row) -> None:
        """Add a grouped row of the aggregate query (a dict) or other Figures."""
        for name in self.FIELDS:
            value = row.get(name) if isinstance(row, dict) else getattr(row, name)
            setattr(self, name, getattr(self, name) + (value or 0))


def _aggregates(tenant: Tenant, now: dt.datetime) -> dict:
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    done = Q(status=S.DONE)
    on_time = Q(LessThanOrEqual(TruncDate("completed_at", tzinfo=zone),
                                TruncDate("due_at", tzinfo=zone)), status=S.DONE)
    reached = Q(result=R.REACHED, satisfaction__isnull=False)
    return {
        "due": Count("pk"),
        "done": Count("pk", filter=done),
        "cancelled": Count("pk", filter=Q(status=S.CANCELLED)),
        "open": Count("pk", filter=Q(status=S.OPEN)),
        "overdue": Count("pk", filter=Q(status=S.OPEN, due_at__lt=now)),
        "on_time": Count("pk", filter=on_time),
        "satisfaction_sum": Sum("satisfaction", filter=reached),
        "satisfaction_count": Count("pk", filter=reached),
        "complaints_opened": Count("pk", filter=Q(purpose=Purpose.COMPLAINT,
                                                  parent__isnull=False)),
    }


def _reopened(tasks: QuerySet) -> dict[tuple[int, int | None], int]:
    """{(assignee, team): complaints reopened}. A query of its own over the few complaint
    tasks with a parent: inside the main aggregate, the parent's purpose (a join, or a
    correlated EXISTS the planner prices per row) made a month of 700 000 tasks take a second,
    half of it JIT compilation (`make bench`, dashboards)."""
    rows = (tasks.filter(purpose=Purpose.COMPLAINT, parent__purpose=Purpose.COMPLAINT)
            .values("assignee_id", "team_id").annotate(n=Count("pk")).order_by())
    return {(r["assignee_id"], r["team_id"]): r["n"] for r in rows}


@dataclass
class PersonRow:
    staff_id: int
    name: str
    team_name: str   # the person's team now
    figures: Figures = field(default_factory=Figures)


@dataclass
class TeamRow:
    team_id: int | None
    team_name: str
    figures: Figures = field(default_factory=Figures)


@dataclass
class FollowUpReport:
    start: dt.date          # the first due day
    end: dt.date            # the day after the last
    team: Team | None       # the team chosen (None: every team the viewer sees)
    all_teams: bool         # the viewer sees the whole tenant
    people: list[PersonRow]
    teams: list[TeamRow]
    totals: Figures

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def followup_report(staff: Staff, *, start: dt.date, end: dt.date, team: Team | None = None,
                    now: dt.datetime | None = None) -> FollowUpReport:
    """Completion by person and by team of the follow-ups due on the tenant's days
    [start, end) that `staff` sees (see the module docstring). Four queries."""
    tenant = _tenant(staff)
    now = now or timezone.now()
    tasks = report_tasks(staff).filter(_day_range(tenant, start, end))
    if team is not None:
        tasks = tasks.filter(team=team)
    groups = list(tasks.values("assignee_id", "team_id").annotate(**_aggregates(tenant, now))
                  .order_by())
    reopened = _reopened(tasks)
    for group in groups:
        group["complaints_reopened"] = reopened.get((group["assignee_id"], group["team_id"]), 0)
    people_ids = {g["assignee_id"] for g in groups}
    staff_rows = {pk: (name, team_name) for pk, name, team_name in Staff.objects.filter(
        pk__in=people_ids).values_list("pk", "name", "team__name")} if people_ids else {}
    team_ids = {g["team_id"] for g in groups} - {None}
    all_teams = sees_all_teams(staff)
    if team is not None:
        team_filter = Q(pk=team.pk)
    elif all_teams:
        team_filter = Q(active=True) | Q(pk__in=team_ids)
    else:   # a manager: their team, and any team their own tasks sit in
        team_filter = Q(pk__in=team_ids | ({staff.team_id} if staff.team_id else set()))
    team_rows = list(Team.objects.filter(team_filter).order_by("name", "id")
                     .values_list("pk", "name"))

    people: dict[int, PersonRow] = {}
    teams = {pk: TeamRow(pk, name) for pk, name in team_rows}
    totals = Figures()
    for group in groups:
        pk = group["assignee_id"]
        if pk not in people:
            name, team_name = staff_rows.get(pk, ("", ""))
            people[pk] = PersonRow(pk, name, team_name or "")
        people[pk].figures.add(group)
        team_id = group["team_id"]
        if team_id not in teams:
            teams[team_id] = TeamRow(None, _("No team"))
        teams[team_id].figures.add(group)
        totals.add(group)
    team_list = [teams[pk] for pk, _name in team_rows]
    if None in teams:
        team_list.append(teams[None])
    person_list = sorted(people.values(), key=lambda p: (p.team_name == "", p.team_name,
                                                         p.name, p.staff_id))
    return FollowUpReport(start=start, end=end, team=team, all_teams=all_teams,
                          people=person_list, teams=team_list, totals=totals)


# --------------------------------------------------------------------------- the team page


@dataclass
class MemberRow:
    staff_id: int
    name: str
    active: bool
    today: Figures = field(default_factory=Figures)
    week: Figures = field(default_factory=Figures)
    overdue: int = 0        # open and due before now, whenever due


@dataclass
class TeamOverview:
    team: Team | None
    day: dt.date
    week_start: dt.date             # Monday
    now: dt.datetime
    members: list[MemberRow]
    today: Figures
    week: Figures
    overdue_count: int
    #: The team's overdue open follow-ups, oldest first (a queryset: the page paginates it),
    #: each with `customer_visible` (the viewer may open the customer).
    overdue: QuerySet


def overview_team(staff: Staff, team: Team | None = None) -> Team | None:
    """The team the team page shows: a manager's own (another team: PermissionDenied);
    for administrators and customer service the one asked for, else their own, else the
    first active team by name (None: the tenant has no team)."""
    require_reader(staff)
    if not sees_all_teams(staff):
        if team is not None and team.pk != staff.team_id:
            raise PermissionDenied(_("Managers see their own team only."))
        return staff.team if staff.team_id is not None else None
    if team is not None:
        return team
    if staff.team_id is not None:
        return staff.team
    return Team.objects.filter(active=True).order_by("name", "id").first()


def team_overview(staff: Staff, team: Team | None = None,
                  now: dt.datetime | None = None) -> TeamOverview:
    """Today's and this week's completion per member of the team, and its overdue list (see
    the module docstring). `team` as overview_team."""
    tenant = _tenant(staff)
    now = now or timezone.now()
    team = overview_team(staff, team)
    day = tenant_today(tenant, now)
    monday = day - dt.timedelta(days=day.weekday())
    day_start, day_end = local_midnight(tenant, day), local_midnight(
        tenant, day + dt.timedelta(days=1))
    week_start = local_midnight(tenant, monday)
    overdue_q = Q(status=S.OPEN, due_at__lt=now)
    tasks = visible_tasks(staff)
    if team is None:
        tasks = tasks.none()
    else:
        tasks = tasks.filter(team=team)
    overdue = (tasks.filter(overdue_q).select_related("customer", "assignee")
               .annotate(customer_visible=Exists(visible_customers(staff).filter(
                   pk=OuterRef("customer_id"))))
               .order_by("due_at", "id"))
    in_week = Q(due_at__gte=week_start, due_at__lt=day_end)
    in_day = Q(due_at__gte=day_start, due_at__lt=day_end)
    counts = {}
    for prefix, span in (("d", in_day), ("w", in_week)):
        counts[f"{prefix}_due"] = Count("pk", filter=span)
        counts[f"{prefix}_done"] = Count("pk", filter=span & Q(status=S.DONE))
        counts[f"{prefix}_cancelled"] = Count("pk", filter=span & Q(status=S.CANCELLED))
        counts[f"{prefix}_open"] = Count("pk", filter=span & Q(status=S.OPEN))
    counts["overdue"] = Count("pk", filter=overdue_q)
    groups = {g["assignee_id"]: g for g in tasks.filter(in_week | overdue_q)
              .values("assignee_id").annotate(**counts).order_by()}
    members_q = Q(pk__in=list(groups))
    if team is not None:
        members_q |= Q(team=team, active=True)
    people = Staff.objects.filter(members_q).order_by("name", "id").values_list(
        "pk", "name", "active")
    members, today, week, overdue_count = [], Figures(), Figures(), 0
    for pk, name, active in people:
        row = MemberRow(pk, name, active)
        group = groups.get(pk, {})
        for prefix, figures in (("d", row.today), ("w", row.week)):
            for name_ in ("due", "done", "cancelled", "open"):
                setattr(figures, name_, group.get(f"{prefix}_{name_}", 0))
        row.overdue = group.get("overdue", 0)
        today.add(row.today)
        week.add(row.week)
        overdue_count += row.overdue
        members.append(row)
    return TeamOverview(team=team, day=day, week_start=monday, now=now, members=members,
                        today=today, week=week, overdue_count=overdue_count, overdue=overdue)


# --------------------------------------------------------------------------- the export


def export_columns() -> list[Column]:
    return [Column(_("Due"), 17), Column(_("Customer"), 14), Column(_("Mobile phone"), 14),
            Column(_("Purpose"), 12), Column(_("Channel"), 9), Column(_("Assigned to"), 12),
            Column(_("Team"), 12), Column(_("Status"), 9), Column(_("Result"), 10),
            Column(_("Satisfaction"), 9, INTEGER), Column(_("Notes"), 40),
            Column(_("Next step"), 24), Column(_("Done at"), 17)]


def export_filename(start: dt.date, end: dt.date) -> str:
    """回访记录-2026-10-01-2026-10-31.xlsx (in the site language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Follow-ups-%(first)s-%(last)s.xlsx") % {
            "first": start.isoformat(), "last": (end - dt.timedelta(days=1)).isoformat()}


def export_ascii_filename(start: dt.date, end: dt.date) -> str:
    return f"followups-{start.isoformat()}-{(end - dt.timedelta(days=1)).isoformat()}.xlsx"


def export_tasks(staff: Staff, *, start: dt.date, end: dt.date,
                 team: Team | None = None) -> QuerySet:
    """The follow-ups the export writes (its row count: apps.exports)."""
    tasks = report_tasks(staff).filter(_day_range(_tenant(staff), start, end))
    return tasks.filter(team=team) if team is not None else tasks


def export_rows(staff: Staff, *, start: dt.date, end: dt.date, team: Team | None = None):
    """The records of the export as tuples (one query, streamed): due_at, customer name,
    phone, phone shown, purpose, channel, assignee, team, status, result, satisfaction,
    notes, cancel reason, next step, completed_at."""
    tasks = export_tasks(staff, start=start, end=end, team=team)
    shown = Exists(visible_customers(staff).filter(pk=OuterRef("customer_id")))
    return (tasks.annotate(phone_shown=shown).order_by("due_at", "id")
            .values_list("due_at", "customer__name", "customer__phone", "phone_shown",
                         "purpose", "channel", "assignee__name", "team__name", "status",
                         "result", "satisfaction", "result_notes", "cancel_reason",
                         "next_step", "completed_at")
            .iterator(chunk_size=2000))


def report_xlsx(staff: Staff, target, *, start: dt.date, end: dt.date,
                team: Team | None = None) -> int:
    """Write the follow-up records of the filters to `target` (a path or a binary file) in
    one pass: Chinese headers (the site language), local times as text "YYYY-MM-DD HH:MM",
    the labels of the codes, the satisfaction a number; a cancelled task's reason in the
    notes. Returns the number of records."""
    zone = zoneinfo.ZoneInfo(_tenant(staff).time_zone)

    def local(moment):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    with translation.override(settings.LANGUAGE_CODE):
        purposes, channels = dict(Purpose.choices), dict(Channel.choices)
        statuses, results = dict(S.choices), dict(R.choices)
        labels = {k: str(v) for k, v in (*purposes.items(), *channels.items())}
        status_labels = {k: str(v) for k, v in statuses.items()}
        result_labels = {k: str(v) for k, v in results.items()}
        book = Workbook(write_only=True)
        sheet = XlsxSheet(book, _("Follow-ups"), export_columns())
        for (due_at, name, phone, phone_shown, purpose, channel, assignee, team_name, status,
             result, satisfaction, notes, reason, next_step,
             completed_at) in export_rows(staff, start=start, end=end, team=team):
            sheet.append([
                local(due_at), name, phone if phone_shown else mask_phone(phone),
                labels.get(purpose, purpose), labels.get(channel, channel), assignee,
                team_name or "", status_labels.get(status, status),
                result_labels.get(result, result), satisfaction,
                reason if status == S.CANCELLED else notes, next_step, local(completed_at)])
        book.save(target)
    return sheet.rows
