"""Registration pages (thin: the check is a selector, registering a service call).

* `/ownership/register/` — the phone-friendly form. While the salesperson types a phone, ID
  number or name, htmx asks `/ownership/register/check/` and swaps in the check result.
  Submitting registers a new person (→ the customer page), claims one from the pool (→ the
  customer page), says "already yours" (with a link), or — for a customer protected by someone
  else — shows a confirmation step with the claimant's account; only the confirmed submit
  opens the dispute.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views import View

from apps.core.forms import add_service_errors
from apps.tenancy.views_base import StaffRequiredMixin

from .forms_registration import RegistrationForm
from .registration import (
    OUTCOME_ALREADY_YOURS,
    OUTCOME_CLAIMED,
    OUTCOME_REGISTERED,
    REGISTER_ROLES,
    customer_register,
    registration_check,
)


def _check_for(staff, data) -> object:
    return registration_check(
        staff, phone=data.get("phone", ""), id_number=data.get("id_number", ""),
        name=data.get("name", ""), related_phone=data.get("related_customer_phone", ""))


class RegisterView(StaffRequiredMixin, View):
    required_roles = REGISTER_ROLES

    def get(self, request):
        return self.render_form(RegistrationForm())

    def post(self, request):
        form = RegistrationForm(request.POST)
        confirmed = request.POST.get("confirm") == "1"
        if form.is_valid():
            try:
                result = customer_register(tenant=self.tenant, actor=self.staff,
                                           confirm_collision=confirmed, **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc, RegistrationForm.SERVICE_FIELDS)
            else:
                return self.outcome(form, result)
        if confirmed and set(form.errors) <= {"claim_note"}:
            # Only the account was wrong: stay on the confirmation step.
            return self.render_confirm(form, _check_for(self.staff, request.POST).primary)
        return self.render_form(form)

    def outcome(self, form, result):
        customer = result.customer
        if result.outcome == OUTCOME_REGISTERED:
            messages.success(self.request, _("%(name)s is registered as your customer.")
                             % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
        if result.outcome == OUTCOME_CLAIMED:
            messages.success(self.request, _("%(name)s was claimed: it is your customer now.")
                             % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
        if result.outcome == OUTCOME_ALREADY_YOURS:
            return render(self.request, "ownership/register_result.html",
                          {"result": result, "match": result.match})
        if result.needs_confirmation:
            return self.render_confirm(form, result.match)
        return render(self.request, "ownership/register_result.html",
                      {"result": result, "match": result.match})

    def render_confirm(self, form, match):
        hidden = [form[name] for name in form.fields if name != "claim_note"]
        return render(self.request, "ownership/register_confirm.html",
                      {"form": form, "hidden_fields": hidden, "match": match})

    def render_form(self, form):
        data = form.data if form.is_bound else {}
        check = _check_for(self.staff, data) if form.is_bound else None
        return render(self.request, "ownership/register.html", {"form": form, "check": check})


class RegisterCheckView(StaffRequiredMixin, View):
    """The live check as an HTML fragment (htmx); query parameters as the form's fields."""

    required_roles = REGISTER_ROLES

    def get(self, request):
        response = render(request, "ownership/_check_result.html",
                          {"check": _check_for(self.staff, request.GET)})
        patch_vary_headers(response, ["HX-Request"])
        return response
