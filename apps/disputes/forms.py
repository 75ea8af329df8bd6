"""HTML forms of the dispute pages (parsing only: the services validate and decide)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.core.i18n import lazy_format

from . import rules
from .models import Dispute

NOTE_WIDGET = {"rows": 3, "maxlength": 2000}


def _party_choices(dispute: Dispute) -> list[tuple[str, str]]:
    return [(rules.OWNER, lazy_format(_("%(name)s (current owner)"), {"name": dispute.owner.name})),
            (rules.CLAIMANT, lazy_format(_("%(name)s (claimant)"), {"name": dispute.claimant.name}))]


class SharesMixin:
    """Two percentage inputs, one per party, labelled with their names."""

    SHARE_FIELDS = ("owner_percent", "claimant_percent")

    def _label_shares(self, dispute: Dispute) -> None:
        self.fields["owner_percent"].label = lazy_format(
            _("Share of %(name)s (current owner), %%"), {"name": dispute.owner.name})
        self.fields["claimant_percent"].label = lazy_format(
            _("Share of %(name)s (claimant), %%"), {"name": dispute.claimant.name})

    def shares(self) -> dict | None:
        """{staff: percent} for the service; None when neither percentage was entered."""
        owner = self.cleaned_data.get("owner_percent")
        claimant = self.cleaned_data.get("claimant_percent")
        if owner is None and claimant is None:
            return None
        shares = {}
        if owner is not None:
            shares[self.dispute.owner] = owner
        if claimant is not None:
            shares[self.dispute.claimant] = claimant
        return shares

    def mark_shares_invalid(self) -> None:
        for name in self.SHARE_FIELDS:
            widget = self.fields[name].widget
            classes = widget.attrs.get("class", "").split()
            if "is-invalid" not in classes:
                widget.attrs["class"] = " ".join([*classes, "is-invalid"])


def _percent_field(required: bool) -> forms.DecimalField:
    return forms.DecimalField(required=required, max_digits=5, decimal_places=2,
                              widget=forms.NumberInput(attrs={"step": "0.01",
                                                              "inputmode": "decimal"}))


class ProposeForm(SharesMixin, BootstrapFormMixin, forms.Form):
    owner_percent = _percent_field(True)
    claimant_percent = _percent_field(True)
    note = forms.CharField(label=_("What the two of you agreed"), required=False,
                           max_length=2000, widget=forms.Textarea(attrs=NOTE_WIDGET))

    def __init__(self, *args, dispute: Dispute, **kwargs):
        super().__init__(*args, **kwargs)
        self.dispute = dispute
        self._label_shares(dispute)


class DecideForm(SharesMixin, BootstrapFormMixin, forms.Form):
    rule = forms.ChoiceField(label=_("Default rule"), required=False,
                             choices=[("", _("No default rule")), *rules.rule_choices()],
                             widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=Dispute.Outcome.choices, widget=forms.RadioSelect)
    owner_percent = _percent_field(False)
    claimant_percent = _percent_field(False)
    decided_owner = forms.ChoiceField(
        label=_("Who keeps the customer record"), required=False,
        help_text=_("For a split or a confiscation (an award gives the record to the winner)."))
    winner = forms.ChoiceField(label=rules.PARAM_LABELS[rules.WINNER], required=False,
                               widget=forms.RadioSelect)
    revisit = forms.ChoiceField(label=rules.PARAM_LABELS[rules.REVISIT], required=False,
                                choices=list(rules.REVISIT_LABELS.items()),
                                widget=forms.RadioSelect)
    units = forms.IntegerField(label=rules.PARAM_LABELS[rules.UNITS], required=False,
                               min_value=0, max_value=100000)
    note = forms.CharField(label=_("Reasons for the decision"), max_length=2000,
                           widget=forms.Textarea(attrs=NOTE_WIDGET),
                           error_messages={"required": _("Give the reasons for the decision.")})
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    PARAM_FIELDS = (rules.WINNER, rules.REVISIT, rules.UNITS)

    def __init__(self, *args, dispute: Dispute, **kwargs):
        super().__init__(*args, **kwargs)
        self.dispute = dispute
        self._label_shares(dispute)
        parties = _party_choices(dispute)
        self.fields["decided_owner"].choices = [("", _("The current owner (default)")), *parties]
        self.fields["winner"].choices = parties
        # Only the parameter of the chosen rule is asked for.
        code = self.data.get("rule") if self.is_bound else self.initial.get("rule")
        rule = rules.DEFAULT_RULES.get(code or "")
        for name in self.PARAM_FIELDS:
            if rule is None or rule.param != name:
                del self.fields[name]
        self.rule = rule

    @classmethod
    def initial_for(cls, dispute: Dispute, code: str) -> dict:
        """What picking the default rule `code` fills in."""
        rule = rules.DEFAULT_RULES.get(code)
        if rule is None:
            return {}
        initial = {"rule": code, "note": lazy_format(_("Default rule: %(rule)s"),
                                                     {"rule": rule.label})}
        if rule.outcome:
            initial["outcome"] = rule.outcome
            shares = rules.shares_for(rule.outcome, rule.split)
            initial["owner_percent"] = shares.get(rules.OWNER)
            initial["claimant_percent"] = shares.get(rules.CLAIMANT)
            initial["decided_owner"] = rule.record_owner
        if rule.param == rules.UNITS:
            initial["units"] = rules.GROUP_MIN_UNITS
        return initial

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        side = data.get("decided_owner") or None
        params = {name: data.get(name) for name in self.PARAM_FIELDS
                  if name in self.fields and data.get(name) not in (None, "")}
        return {
            "outcome": data.get("outcome") or "",
            "shares": self.shares(),
            "rule": data.get("rule") or "",
            "decided_owner": (None if side is None else
                              self.dispute.owner if side == rules.OWNER else self.dispute.claimant),
            "rule_params": params,
            "note": data.get("note") or "",
        }


class RulePickForm(BootstrapFormMixin, forms.Form):
    """The GET form above the decision: picking a rule reloads the decision pre-filled."""

    rule = forms.ChoiceField(label=_("Apply a default rule"), required=False,
                             choices=[("", _("No default rule")), *rules.rule_choices()])


class NoteForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs=NOTE_WIDGET))


class ReasonForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why it goes to the company"), max_length=2000,
                             widget=forms.Textarea(attrs=NOTE_WIDGET),
                             error_messages={"required": _("Say why the dispute goes to the "
                                                           "company.")})


class EvidenceForm(BootstrapFormMixin, forms.Form):
    # Empty files and wrong types are refused by the service (one message for page and API).
    file = forms.FileField(label=_("File"), required=False, allow_empty_file=True,
                           help_text=_("An image (JPEG, PNG, WebP, GIF) or a PDF."),
                           widget=forms.ClearableFileInput(
                               attrs={"accept": "image/jpeg,image/png,image/webp,image/gif,"
                                                "application/pdf,.jpg,.jpeg,.png,.webp,.gif,.pdf"}))
    note = forms.CharField(label=_("Description"), required=False, max_length=200)
