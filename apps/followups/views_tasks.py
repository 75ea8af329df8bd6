"""Follow-up pages (thin: apps.followups.selectors / myday read, services write).

* /followups/ — the follow-ups the viewer sees (sales their own, managers their team's,
  customer service and administrators all), filtered (status, purpose, channel, assignee,
  team, customer, due days in the tenant's calendar, overdue), by due time, 25 a page.
* /followups/new/ — a follow-up typed in (?customer=<pk> picks the customer); a due time outside
  the calling windows, a customer the viewer does not see, …: refused on the field, input kept.
* /followups/<pk>/ — the task, the customer's key facts, the script (话术) of its purpose, the
  result form (or the result), the task it follows and the tasks it created.
* /followups/<pk>/result/ — POST the result (GET: the form alone); back to ?next= (My day).
* /followups/<pk>/cancel/ — confirmation with a required reason (GET), the cancel (POST).
* /followups/my-day/ — My day (我的今天): overdue, today's calls by calling window, the days
  ahead; one-tap result entry. Phone-first; a fixed number of queries (myday.my_day).

Finance has no follow-up pages (403); another tenant's task, or one the viewer does not see,
is 404 whatever the method."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View

from apps.core.filters import clean_filter_form
from apps.core.forms import add_service_errors, narrow_people_and_teams, style_fields
from apps.customers.selectors import visible_customers
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import services
from .forms_tasks import TaskCancelForm, TaskFilterForm, TaskForm, TaskResultForm, filter_kwargs
from .models import Channel, FollowUpTask, Purpose
from .myday import customer_facts, my_day
from .plan_versions import plan_for
from .selectors import (
    ALL_TASK_ROLES,
    CANCEL_ROLES,
    CREATE_ROLES,
    REPORT_ROLES,
    filter_tasks,
    may_record,
    visible_tasks,
)

PAGE_SIZE = 25
#: The follow-ups shown on a customer's page (the rest: the list filtered by the customer).
CUSTOMER_SECTION_LIMIT = 10
#: Roles with follow-up pages: everyone who has tasks (finance has none).
TASK_ROLES = CREATE_ROLES
TASK_PEOPLE_ROLES = [Role.SALES, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.ADMIN]


def render_local(request, template: str, context: dict, status: int = 200):
    """Render with the tenant's time zone active: every time on the page is its local time."""
    with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
        return render(request, template, context, status=status)


def safe_next(request, url: str | None) -> str:
    """`url` when it is a path of this site (?next= after recording a result), else ""."""
    if url and url.startswith("/") and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return ""


def fill_script(script: str, staff: Staff) -> str:
    """A purpose's script as the person says it: "{销售}" (the salesperson) is their name."""
    return script.replace("{销售}", staff.name)


def filter_errors(exc: ValidationError) -> list[dict]:
    labels = {k: f.label for k, f in TaskFilterForm.base_fields.items()}
    return [{"label": labels.get(k, k), "messages": v} for k, v in exc.message_dict.items()]


def task_people(staff: Staff):
    """(people, teams) a viewer may narrow the list by, or assign a task to (querysets or
    None): everyone with tasks for the tenant-wide roles, a manager's team, nobody for sales."""
    if staff.has_role(*ALL_TASK_ROLES):
        return (Staff.objects.filter(active=True, roles__overlap=TASK_PEOPLE_ROLES),
                Team.objects.all())
    if staff.is_manager and staff.team_id is not None:
        return Staff.objects.filter(active=True, team_id=staff.team_id), None
    return None, None


def assignee_choices(staff: Staff) -> list[tuple[int, str]] | None:
    people, _teams = task_people(staff)
    if people is None:
        return None
    return list(people.order_by("name", "id").values_list("pk", "name"))


def outcome_message(task: FollowUpTask, tenant) -> str:
    """What recording the result did: the result, and the tasks it created."""
    parts = [_("The result was recorded: %(result)s.") % {"result": task.get_result_display()}]
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    for child in getattr(task, "follow_ups", []):
        when = date_format(timezone.localtime(child.due_at, zone), "Y-m-d H:i")
        if child.source_key.startswith("retry:"):
            parts.append(_("Another try is scheduled at %(when)s (attempt %(n)s).") % {
                "when": when, "n": child.attempt})
        elif child.purpose == Purpose.COMPLAINT:
            parts.append(_("A complaint follow-up was opened, due %(when)s.") % {"when": when})
        else:
            parts.append(_("A follow-up was created, due %(when)s.") % {"when": when})
    if task.result == FollowUpTask.Result.UNREACHABLE and not getattr(task, "follow_ups", []):
        parts.append(_("No more tries are scheduled: this was attempt %(n)s.") % {
            "n": task.attempt})
    return " ".join(parts)


class TaskMixin(TenantObjectMixin):
    model = FollowUpTask
    required_roles = TASK_ROLES

    def scope_queryset(self, queryset):
        return visible_tasks(self.staff, queryset)

    def get_task(self, pk: int) -> FollowUpTask:
        return get_object_or_404(self.get_queryset().select_related(
            "customer", "assignee", "team", "completed_by", "created_by", "parent"), pk=pk)

    def task_context(self, task: FollowUpTask) -> dict:
        """What a page about one task shows besides its forms."""
        staff = self.staff
        _version, plan = plan_for(self.tenant)
        return {
            "task": task, "facts": customer_facts({task.customer_id}, self.tenant)[
                task.customer_id],
            "script": fill_script(plan.script(task.purpose), task.assignee),
            "overdue": task.is_open and task.due_at < timezone.now(),
            "customer_visible": visible_customers(staff).filter(pk=task.customer_id).exists(),
            "can_record": task.is_open and may_record(staff, task),
            "can_cancel": (task.is_open and staff.has_role(*CANCEL_ROLES)
                           and may_record(staff, task)),
        }


# --------------------------------------------------------------------------- list


class TaskListView(TaskMixin, View):
    def get(self, request):
        errors, status = [], 200
        try:
            filters = clean_filter_form(TaskFilterForm, request.GET)
        except ValidationError as exc:
            errors, filters, status = filter_errors(exc), {}, 400
        tasks = filter_tasks(self.get_queryset().select_related("customer", "assignee"),
                             **filter_kwargs(filters, self.tenant)).order_by("due_at", "id")
        if errors:
            tasks = tasks.none()
        page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for task in page.object_list:
            task.overdue = task.is_open and task.due_at < now
        form = TaskFilterForm(request.GET)
        people, teams = task_people(self.staff)
        narrow_people_and_teams(form, people=people, teams=teams, people_field="assignee",
                                any_person=_("Anyone"), any_team=_("Any team"))
        style_fields(form)
        customer = None
        if filters.get("customer"):
            customer = visible_customers(self.staff).filter(pk=filters["customer"]).first()
        return render_local(request, "followups/task_list.html", {
            "page_obj": page, "filter_form": form, "filter_errors": errors,
            "customer": customer, "can_create": self.staff.has_role(*CREATE_ROLES)},
            status=status)


# --------------------------------------------------------------------------- create


class TaskCreateView(StaffRequiredMixin, View):
    required_roles = CREATE_ROLES

    def make_form(self, data=None, initial=None) -> TaskForm:
        return TaskForm(data, staff=self.staff, tenant=self.tenant,
                        assignees=assignee_choices(self.staff), initial=initial)

    def picked(self, pk) -> object:
        """The customer chosen by id, if the viewer sees them (else the phone field shows)."""
        if not pk or not str(pk).isdigit():
            return None
        return visible_customers(self.staff).filter(pk=pk).first()

    def get(self, request):
        initial = {"channel": Channel.PHONE}
        for key, values in (("purpose", Purpose.values), ("channel", Channel.values)):
            if request.GET.get(key) in values:
                initial[key] = request.GET[key]
        customer = self.picked(request.GET.get("customer"))
        if customer is not None:
            initial["customer"] = customer.pk
        return self.render_page(self.make_form(initial=initial), customer)

    def post(self, request):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                task = services.task_create(tenant=self.tenant, actor=self.staff,
                                            **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc, rename=TaskForm.SERVICE_FIELDS)
            else:
                zone = zoneinfo.ZoneInfo(self.tenant.time_zone)
                messages.success(request, _(
                    "The follow-up was created: due %(when)s, assigned to %(who)s.") % {
                    "when": date_format(timezone.localtime(task.due_at, zone), "Y-m-d H:i"),
                    "who": task.assignee.name})
                return redirect("followups:task_detail", pk=task.pk)
        customer = None if form.has_error("customer_phone") else self.picked(
            request.POST.get("customer"))
        return self.render_page(form, customer, status=400)

    def render_page(self, form, customer, status=200):
        _version, plan = plan_for(self.tenant)
        return render_local(self.request, "followups/task_form.html", {
            "form": form, "customer": customer,
            "windows": [f"{a:%H:%M}–{b:%H:%M}" for a, b in plan.windows],
            "complaint_days": plan.complaint_working_days}, status=status)


# --------------------------------------------------------------------------- detail


class TaskDetailView(TaskMixin, View):
    def get(self, request, pk):
        task = self.get_task(pk)
        context = self.task_context(task)
        children = list(visible_tasks(self.staff).filter(parent=task)
                        .select_related("assignee").order_by("due_at", "id"))
        context.update({
            "children": children,
            "parent_visible": task.parent_id is not None and visible_tasks(self.staff).filter(
                pk=task.parent_id).exists(),
            "result_form": TaskResultForm() if context["can_record"] else None})
        return render_local(request, "followups/task_detail.html", context)


# --------------------------------------------------------------------------- result


class TaskResultView(TaskMixin, View):
    """POST: services.task_complete, then back to ?next= (a page of this site) or the task,
    with a message saying what followed; a refusal: the form again (400), input kept."""

    def get(self, request, pk):
        task = self.get_task(pk)
        form = TaskResultForm(initial={"next": safe_next(request, request.GET.get("next"))})
        return self.render_page(task, form)

    def post(self, request, pk):
        task = self.get_task(pk)
        form = TaskResultForm(request.POST)
        if form.is_valid():
            try:
                task = services.task_complete(tenant=self.tenant, actor=self.staff, task=task,
                                              **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc, rename={"result_notes": "notes"})
            else:
                messages.success(request, outcome_message(task, self.tenant))
                back = safe_next(request, form.cleaned_data.get("next"))
                return redirect(back or reverse("followups:task_detail", args=[task.pk]))
        task.refresh_from_db()  # a refusal: show the task as it stands
        return self.render_page(task, form, status=400)

    def render_page(self, task, form, status=200):
        context = self.task_context(task)
        context.update({"form": form, "next": safe_next(self.request, form["next"].value())})
        return render_local(self.request, "followups/task_result.html", context, status=status)


# --------------------------------------------------------------------------- cancel


class TaskCancelView(TaskMixin, View):
    required_roles = CANCEL_ROLES

    def get(self, request, pk):
        task = self.get_task(pk)
        return self.render_page(task, TaskCancelForm())

    def post(self, request, pk):
        task = self.get_task(pk)
        form = TaskCancelForm(request.POST)
        if form.is_valid():
            try:
                task = services.task_cancel(tenant=self.tenant, actor=self.staff, task=task,
                                            reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The follow-up was cancelled."))
                return redirect("followups:task_detail", pk=task.pk)
        task.refresh_from_db()
        return self.render_page(task, form, status=400)

    def render_page(self, task, form, status=200):
        context = self.task_context(task)
        context["form"] = form
        return render_local(self.request, "followups/task_cancel.html", context, status=status)


# --------------------------------------------------------------------------- my day


class MyDayView(StaffRequiredMixin, View):
    required_roles = TASK_ROLES

    def get(self, request):
        day = my_day(self.staff, tenant=self.tenant)
        here = reverse("followups:my_day")
        day.scripts = {p: fill_script(text, self.staff) for p, text in day.scripts.items()}
        cards = MyDayCards(request, self.tenant, here)
        for task in day.overdue:
            task.card = cards.card(task, day, show_date=True, late=True)
        for task in day.today:
            task.card = cards.card(task, day, show_date=False, late=False)
        for task in day.upcoming:
            task.card = cards.card(task, day, show_date=True, late=False)
        return render_local(request, "followups/my_day.html", {
            "day": day, "here": here,
            "sees_team": self.staff.has_role(*REPORT_ROLES)})


class MyDayCards:
    """The cards of My day, rendered in Python: a day lists up to 150 tasks, each with its
    facts, script and one-tap result form, and the page must answer in 80 ms at the 95th
    percentile (`make bench`, scenario followups) — the template engine costs ~0.6 ms a card,
    this ~0.02 ms. Labels are translated once per page; every value is escaped."""

    RESULT_CSS = {"reached": "btn-success", "refused": "btn-warning", "failed": "btn-danger",
                  "unreachable": "btn-secondary"}

    def __init__(self, request, tenant, here: str):
        self.zone = zoneinfo.ZoneInfo(tenant.time_zone)
        self.purposes = {value: str(label) for value, label in Purpose.choices}
        self.channels = {value: str(label) for value, label in Channel.choices}
        self.csrf = escape(get_token(request))
        self.here = escape(here)
        self.base = reverse("followups:task_list")  # /followups/
        self.script_label = escape(_("Script"))
        self.record_label = escape(_("Record the result"))
        self.call_label = _("Call %(name)s")
        self.attempt_label = _("attempt %(n)s")
        self.last_deal_label = _("Last deal %(day)s · ¥%(amount)s")
        self.no_deal = escape(_("No deal yet"))
        self.complaint = escape(_("Open complaint"))
        self.satisfaction = escape(_("Satisfaction (when reached)"))
        self.notes = escape(_("Notes"))
        self.next_step = escape(_("Next step"))
        self.results = [(value, escape(str(label)), self.RESULT_CSS[value])
                        for value, label in FollowUpTask.Result.choices]

    def facts(self, facts) -> str:
        parts = []
        if facts is not None and facts.tier_name:
            parts.append(f'<span class="badge text-bg-warning" data-fact="tier">'
                         f'{escape(facts.tier_name)}</span>')
        if facts is not None and facts.last_deal_on:
            text = self.last_deal_label % {"day": facts.last_deal_on.isoformat(),
                                           "amount": facts.last_deal_amount}
            parts.append(f'<span class="text-body-secondary" data-fact="last-deal">'
                         f'{escape(text)}</span>')
        else:
            parts.append(f'<span class="text-body-secondary" data-fact="last-deal">'
                         f'{self.no_deal}</span>')
        if facts is not None and facts.open_complaint:
            parts.append(f'<span class="badge text-bg-danger" data-fact="open-complaint">'
                         f'{self.complaint}</span>')
        return ('<div class="d-flex flex-wrap gap-1 align-items-center small task-facts">'
                + "".join(parts) + "</div>")

    def card(self, task: FollowUpTask, day, *, show_date: bool, late: bool) -> str:
        pk = task.pk
        customer = task.customer
        name = escape(customer.name)
        local = task.due_at.astimezone(self.zone)
        due = local.strftime("%m-%d %H:%M" if show_date else "%H:%M")
        meta = f"{escape(self.purposes.get(task.purpose, task.purpose))} · " \
               f"{escape(self.channels.get(task.channel, task.channel))} · " \
               f'<span class="num{" text-danger fw-semibold" if late else ""}" data-due>' \
               f"{due}</span>"
        if task.attempt > 1:
            meta += " · " + escape(self.attempt_label % {"n": task.attempt})
        phone = ""
        if customer.phone:
            tel = escape(customer.phone)
            label = escape(self.call_label % {"name": customer.name})
            phone = (f'<a class="btn btn-success btn-lg text-nowrap" href="tel:{tel}" '
                     f'aria-label="{label}">&#128222; <span class="num">{tel}</span></a>')
        title = f'<p class="mb-1 small">{escape(task.title)}</p>' if task.title else ""
        script = day.scripts.get(task.purpose, "")
        if script:
            script = (f'<details class="mt-2"><summary class="small fw-semibold py-1">'
                      f'{self.script_label}</summary><p class="small mb-0 p-2 bg-body-tertiary '
                      f'rounded text-pre-line">{escape(script)}</p></details>')
        stars = "".join(
            f'<input type="radio" class="btn-check" name="satisfaction" value="{n}" '
            f'id="sat-{pk}-{n}" autocomplete="off"><label class="btn btn-outline-success '
            f'btn-lg" for="sat-{pk}-{n}">{n}</label>' for n in range(1, 6))
        buttons = "".join(
            f'<div class="col-6"><button type="submit" name="result" value="{value}" '
            f'class="btn btn-lg w-100 {css}">{label}</button></div>'
            for value, label, css in self.results)
        return mark_safe(  # noqa: S308 - every value above is escaped
            f'<article class="card shadow-sm mb-2{" border-danger" if late else ""}" '
            f'id="task-{pk}" data-task="{pk}"><div class="card-body p-3">'
            f'<div class="d-flex flex-wrap justify-content-between align-items-start gap-2"><div>'
            f'<a class="fw-semibold fs-5 text-decoration-none" href="{self.base}{pk}/">{name}'
            f'</a><div class="small text-body-secondary">{meta}</div></div>{phone}</div>'
            f"{title}{self.facts(day.facts.get(task.customer_id))}{script}"
            f'<details class="mt-2"><summary class="btn btn-outline-primary w-100">'
            f"{self.record_label}</summary>"
            f'<form method="post" action="{self.base}{pk}/result/" class="mt-2">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{self.csrf}">'
            f'<input type="hidden" name="next" value="{self.here}">'
            f'<fieldset class="mb-2"><legend class="form-label fs-6 mb-1">{self.satisfaction}'
            f'</legend><div class="btn-group w-100" role="group">{stars}</div></fieldset>'
            f'<label class="form-label small mb-1" for="notes-{pk}">{self.notes}</label>'
            f'<textarea class="form-control mb-2" name="notes" id="notes-{pk}" rows="2" '
            f'maxlength="2000"></textarea>'
            f'<label class="form-label small mb-1" for="next-step-{pk}">{self.next_step}'
            f'</label><input class="form-control mb-2" name="next_step" id="next-step-{pk}" '
            f'maxlength="200"><div class="row g-2">{buttons}</div></form></details>'
            f"</div></article>")


# --------------------------------------------------------------------------- customer page


def customer_followups(customer, staff: Staff) -> dict:
    """The customer page's follow-ups section: the newest few the viewer sees (two queries),
    whether there are more, and whether the viewer may add one. Nothing for roles without
    follow-up pages."""
    if not staff.has_role(*TASK_ROLES):
        return {"visible": False}
    rows = list(visible_tasks(staff).filter(customer=customer).select_related("assignee")
                .order_by("-due_at", "-id")[:CUSTOMER_SECTION_LIMIT + 1])
    now = timezone.now()
    for task in rows:
        task.overdue = task.is_open and task.due_at < now
    return {"visible": True, "tasks": rows[:CUSTOMER_SECTION_LIMIT],
            "more": len(rows) > CUSTOMER_SECTION_LIMIT,
            "can_create": staff.has_role(*CREATE_ROLES)}
