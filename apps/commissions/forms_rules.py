"""Forms of the commission rule set and settings pages (the services validate; these only
collect)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.deals.forms_rules import RuleSetForm

from .presets import PRESET_NAMES
from .rulesets import CALCULATION_DAY_MAX, CALCULATION_DAY_MIN


def commission_preset_choices() -> list[tuple[str, object]]:
    return [("", _("None (hand-written)")), *PRESET_NAMES.items()]


class CommissionRuleSetForm(RuleSetForm):
    """The "new version" form of the credit rules, with the commission presets and help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].help_text = _(
            "Today or a later day. Each event is paid by the version in force on its day; the "
            "monthly cap and bonuses by the version of the month's last day.")
        self.fields["preset"].choices = commission_preset_choices()
        self.fields["rules"].help_text = _(
            "The format is described on this page and in docs/commissions.md.")


class CommissionSettingsForm(BootstrapFormMixin, forms.Form):
    calculation_day = forms.IntegerField(
        label=_("Calculation day"), min_value=CALCULATION_DAY_MIN,
        max_value=CALCULATION_DAY_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": CALCULATION_DAY_MIN,
                                        "max": CALCULATION_DAY_MAX}),
        help_text=_("The day of the month (1–28) last month is calculated on, after which the "
                    "approvers are notified."))
