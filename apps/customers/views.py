"""Customer pages (thin: selectors read, services write)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.audit import history_of, history_rows
from apps.core.forms import add_service_errors, narrow_people_and_teams, style_fields
from apps.core.identity import mask_id_number, mask_name, normalize_phone
from apps.core.views import is_htmx
from apps.deals.selectors import customer_deals_summary
from apps.followups.views_tasks import customer_followups
from apps.ownership.registration import can_register
from apps.ownership.selectors import ownership_summary
from apps.referrals.summaries import customer_referrals_summary
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role
from apps.tenancy.views_base import TenantObjectMixin
from apps.vip.selectors import customer_vip_summary

from . import services
from .forms import CustomerForm, RelationForm
from .models import Customer, CustomerRelation, OwnershipChange
from .selectors import (
    WRITE_ROLES,
    CustomerFilterForm,
    can_see_full_id_number,
    can_write_customers,
    customer_list,
    customer_relations,
    editable_customers,
    relations_of,
    visible_customers,
)

PAGE_SIZE = 25

ACTION_LABELS = {
    "customer.create": gettext_lazy("Registered"),
    "customer.update": gettext_lazy("Changed"),
    "customer.relation_add": gettext_lazy("Relation added"),
    "customer.relation_remove": gettext_lazy("Relation removed"),
    # customer_owner_set writes "customer.owner.<reason>".
    **{f"customer.owner.{reason.value}": reason.label for reason in OwnershipChange.Reason},
    "vip.tier.set": gettext_lazy("Tier set by hand"),
    "vip.tier.review_keep": gettext_lazy("Tier review closed, tier kept"),
}

#: Audit keys that are not fields of Customer.
HISTORY_FIELD_LABELS = {"related": gettext_lazy("related customer"), "kind": gettext_lazy("relation"),
                        "tier": gettext_lazy("VIP tier")}
CHOICE_FIELDS = {"gender": dict(Customer.Gender.choices), "source": dict(Customer.Source.choices),
                 "grade": dict(Customer.Grade.choices), "kind": dict(CustomerRelation.Kind.choices)}


class CustomerMixin(TenantObjectMixin):
    model = Customer

    def scope_queryset(self, queryset):
        return visible_customers(self.staff, queryset)

    def get_customer(self, pk: int) -> Customer:
        return get_object_or_404(self.get_queryset().select_related("owner", "team", "created_by",
                                                                    "previous_owner"),
                                 pk=pk)

    def get_editable_customer(self, pk: int) -> Customer:
        """404 if the viewer cannot see it, 403 if they see it but may not change it."""
        customer = self.get_customer(pk)
        if not editable_customers(self.staff).filter(pk=customer.pk).exists():
            raise PermissionDenied
        return customer


class CustomerListView(CustomerMixin, View):
    def get(self, request):
        staff = self.staff
        filter_form = self.filter_form()
        partial = is_htmx(request)
        status, filter_errors = 200, []
        try:
            customers = customer_list(staff, request.GET, queryset=self.model.objects.all())
        except ValidationError as exc:
            labels = {k: f.label for k, f in CustomerFilterForm.base_fields.items()}
            filter_errors = [{"label": labels.get(field, field), "messages": msgs}
                             for field, msgs in exc.message_dict.items()]
            customers = Customer.objects.none()
            status = 200 if partial else 400  # htmx does not swap 4xx answers in
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"filter_form": filter_form, "filter_errors": filter_errors, "page": page,
                   "customers": page.object_list, "can_create": can_write_customers(staff),
                   # Salespeople register through the duplicate check (collisions, claims);
                   # the plain form stays for the front desk and admins.
                   "can_register": can_register(staff)}
        template = "customers/_results.html" if partial else "customers/list.html"
        response = render(request, template, context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def filter_form(self) -> CustomerFilterForm:
        """The filters shown: owner/team only where they can narrow what the viewer sees.
        Their options come from one query (a UNION of staff and teams)."""
        staff = self.staff
        form = CustomerFilterForm(self.request.GET)
        if staff.has_role(Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE):
            owners = Staff.objects.all()
            teams = Team.objects.all()
        elif staff.is_manager and staff.team_id:
            owners, teams = Staff.objects.filter(team_id=staff.team_id), None
        else:
            owners = teams = None
        narrow_people_and_teams(form, people=owners, teams=teams, people_field="owner",
                                any_person=_("Any owner"), any_team=_("Any team"))
        style_fields(form)
        return form


class CustomerCreateView(CustomerMixin, View):
    required_roles = WRITE_ROLES

    def get(self, request):
        return self.render_form(CustomerForm(staff=self.staff))

    def post(self, request):
        form = CustomerForm(request.POST, staff=self.staff)
        if form.is_valid():
            try:
                customer = services.customer_create(tenant=self.tenant, actor=self.staff,
                                                    **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Customer %(name)s registered.") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
        return self.render_form(form)

    def render_form(self, form):
        return render(self.request, "customers/form.html",
                      {"form": form, "customer": None, "title": _("Register a customer")})


class CustomerEditView(CustomerMixin, View):
    def get(self, request, pk):
        customer = self.get_editable_customer(pk)
        return self.render_form(CustomerForm(staff=self.staff, customer=customer), customer)

    def post(self, request, pk):
        customer = self.get_editable_customer(pk)
        form = CustomerForm(request.POST, staff=self.staff, customer=customer)
        if form.is_valid():
            try:
                customer = services.customer_update(tenant=self.tenant, actor=self.staff,
                                                    customer=customer, **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Customer %(name)s saved.") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
        return self.render_form(form, customer)

    def render_form(self, form, customer):
        return render(self.request, "customers/form.html",
                      {"form": form, "customer": customer,
                       "title": _("Edit %(name)s") % {"name": customer.name}})


def _history_rows(entries, staff: Staff, visible_ids: set[int]) -> list[dict]:
    """Audit entries made readable: field labels, owner/team names, masked IDs for non-admins."""
    entries = list(entries)
    staff_ids, team_ids, customer_ids = set(), set(), set()
    for e in entries:
        for field, value in e.changes.items():
            values = value if isinstance(value, list) and not e.action.endswith(".create") else [value]
            if field == "owner":
                staff_ids.update(v for v in values if v)
            elif field == "team":
                team_ids.update(v for v in values if v)
            elif field == "related":
                customer_ids.add(value)
    staff_names = dict(Staff.objects.filter(pk__in=staff_ids).values_list("pk", "name"))
    team_names = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    customer_names = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "name"))
    full_id = can_see_full_id_number(staff)

    def show(field, value):
        if field == "owner":
            return staff_names.get(value, f"#{value}")
        if field == "team":
            return team_names.get(value, f"#{value}")
        if field == "id_number" and not full_id:
            return mask_id_number(value)
        if field == "related":
            name = customer_names.get(value, f"#{value}")
            return name if value in visible_ids else mask_name(name)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if field in CHOICE_FIELDS:
            return CHOICE_FIELDS[field].get(value, value)
        return value

    def label(field):
        try:
            return Customer._meta.get_field(field).verbose_name
        except FieldDoesNotExist:
            return HISTORY_FIELD_LABELS.get(field, field)

    return history_rows(entries, action_labels=ACTION_LABELS, label=label, show=show,
                        skip=("relation", "direction"))


class DetailPageMixin(CustomerMixin):
    def render_detail(self, customer, relation_form, status=200):
        staff = self.staff
        relations = customer_relations(customer, staff)
        history = history_of(customer)
        related_ids = {e.changes.get("related") for e in history if e.changes.get("related")}
        visible_ids = set(visible_customers(staff).filter(pk__in=related_ids)
                          .values_list("pk", flat=True)) if related_ids else set()
        can_edit = editable_customers(staff).filter(pk=customer.pk).exists()
        id_display = (customer.id_number if can_see_full_id_number(staff)
                      else mask_id_number(customer.id_number))
        context = {"customer": customer, "id_display": id_display, "relations": relations,
                   "relation_form": relation_form, "history": _history_rows(history, staff, visible_ids),
                   "can_edit": can_edit, "ownership": ownership_summary(customer, staff),
                   "deals_summary": customer_deals_summary(customer, staff),
                   "referrals_summary": customer_referrals_summary(customer, staff),
                   "vip_summary": customer_vip_summary(customer, staff),
                   "followups_summary": customer_followups(customer, staff)}
        return render(self.request, "customers/detail.html", context, status=status)


class CustomerDetailView(DetailPageMixin, View):
    def get(self, request, pk):
        return self.render_detail(self.get_customer(pk), RelationForm())


class RelationAddView(DetailPageMixin, View):
    def post(self, request, pk):
        customer = self.get_editable_customer(pk)
        form = RelationForm(request.POST)
        if form.is_valid():
            related = None
            try:
                phone = normalize_phone(form.cleaned_data["related_phone"])
            except ValidationError as exc:
                form.add_error("related_phone", exc)
            else:
                related = visible_customers(self.staff).filter(phone=phone).first()
                if related is None:
                    form.add_error("related_phone", _("None of your customers has this number."))
            if related is not None:
                try:
                    services.relation_add(tenant=self.tenant, actor=self.staff, customer=customer,
                                          related=related, kind=form.cleaned_data["kind"])
                except ValidationError as exc:
                    add_service_errors(form, exc, RelationForm.SERVICE_FIELDS)
                else:
                    messages.success(request, _("Relation added."))
                    return redirect("customers:detail", pk=customer.pk)
        return self.render_detail(customer, form)


class RelationRemoveView(CustomerMixin, View):
    def post(self, request, pk, relation_pk):
        customer = self.get_editable_customer(pk)
        relation = get_object_or_404(relations_of(customer), pk=relation_pk)
        services.relation_remove(tenant=self.tenant, actor=self.staff, customer=customer,
                                 relation=relation)
        messages.success(request, _("Relation removed."))
        return redirect("customers:detail", pk=customer.pk)
