"""HTML forms of the policy, pool, return and reassignment pages. They only parse input; the
services validate and decide (their ValidationErrors come back with add_service_errors)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.tenancy.models import Staff

from .rules import PolicyRules
from .selectors import reassign_targets, reassignable_owners, watched_owners

POLICY_FORM_FIELDS = ("effective_from", "release_after_days", "revisit_window_days",
                      "warn_before_days", "max_customers_per_owner", "daily_claim_cap",
                      "reclaim_after_days", "note")


class PolicyForm(BootstrapFormMixin, forms.Form):
    """A new version of the policy. Numbers are not range-checked here: the service checks
    them all at once (with PolicyRules) and says why."""

    effective_from = forms.DateField(label=_("Effective from"),
                                     widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                     help_text=_("Today or a later day."))
    release_after_days = forms.IntegerField(
        label=_("Release after (days without effective contact)"),
        help_text=_("A customer with no visit, deal or reached follow-up for this many days goes "
                    "to the public pool the night after."))
    revisit_window_days = forms.IntegerField(
        label=_("Revisit window (days)"),
        help_text=_("A returning visitor within this many days stays with the first receptionist."))
    warn_before_days = forms.IntegerField(
        label=_("Warn before release (days)"),
        help_text=_("How early the “about to be released” list shows a customer."))
    max_customers_per_owner = forms.IntegerField(
        label=_("Most customers one salesperson may own"), required=False,
        help_text=_("Empty: no cap."))
    daily_claim_cap = forms.IntegerField(
        label=_("Most claims from the pool per salesperson per day"), required=False,
        help_text=_("Empty: no cap."))
    reclaim_after_days = forms.IntegerField(
        label=_("Days before a former owner may reclaim"))
    note = forms.CharField(label=_("Note"), required=False,
                           widget=forms.TextInput(attrs={"maxlength": 200}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("release_after_days", "revisit_window_days", "warn_before_days",
                     "max_customers_per_owner", "daily_claim_cap", "reclaim_after_days"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "min": 0})

    @staticmethod
    def initial_from(rules: PolicyRules, day) -> dict:
        return {"effective_from": day, **{f: getattr(rules, f) for f in POLICY_FORM_FIELDS
                                          if f not in ("effective_from", "note")}}

    def service_kwargs(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in POLICY_FORM_FIELDS}


class ReturnForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why does the customer go back to the pool?"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}))


class ExpiringFilterForm(BootstrapFormMixin, forms.Form):
    owner = forms.ModelChoiceField(label=_("Salesperson"), queryset=None, required=False,
                                   empty_label=_("Any owner"))

    def __init__(self, *args, staff: Staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = watched_owners(staff).order_by("name", "pk")
        self.fields["owner"].error_messages["invalid_choice"] = _("Unknown staff member.")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.team.name}）" if obj.team_id else obj.name


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.team.name}）" if obj.team_id else obj.name


class IdListField(forms.Field):
    """Repeated integer parameters (the ticked customers' ids)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("Choose customers from the list.")}

    def to_python(self, value):
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class ReassignSourceForm(BootstrapFormMixin, forms.Form):
    """Step 1 (query parameters): whose customers."""

    from_owner = StaffChoiceField(label=_("Whose customers"), queryset=None,
                                  empty_label=_("— choose a salesperson —"))

    def __init__(self, *args, staff: Staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_owner"].queryset = (reassignable_owners(staff).select_related("team")
                                              .order_by("-active", "name", "pk"))
        self.fields["from_owner"].error_messages["invalid_choice"] = _("Unknown staff member.")


class ReassignForm(BootstrapFormMixin, forms.Form):
    """Step 2 (POST): all or the ticked customers, to whom, why; `confirm` is the last step."""

    SCOPE_ALL = "all"
    SCOPE_SELECTED = "selected"

    from_owner = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    scope = forms.ChoiceField(label=_("Which customers"), widget=forms.RadioSelect,
                              initial=SCOPE_ALL,
                              choices=[(SCOPE_ALL, _("All their customers")),
                                       (SCOPE_SELECTED, _("Only the ticked customers"))])
    customer_ids = IdListField(required=False)
    to_owners = StaffMultipleChoiceField(
        label=_("To"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Several salespeople share the customers in turn."))
    note = forms.CharField(label=_("Why"), required=False,
                           widget=forms.TextInput(attrs={"maxlength": 1000}))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, staff: Staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_owner"].queryset = reassignable_owners(staff)
        self.fields["to_owners"].queryset = (reassign_targets(staff).select_related("team")
                                             .order_by("name", "pk"))
        self.fields["to_owners"].error_messages["invalid_choice"] = _(
            "%(value)s is not a salesperson you may assign customers to.")
        self.fields["from_owner"].error_messages["invalid_choice"] = _("Unknown staff member.")

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        targets = sorted(data.get("to_owners") or [], key=lambda s: (s.name, s.pk))
        selected = data.get("scope") == self.SCOPE_SELECTED
        return {"from_owner": data["from_owner"], "to_owners": targets,
                "customer_ids": list(data.get("customer_ids") or []) if selected else None,
                "note": data.get("note", "")}
