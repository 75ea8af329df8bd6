"""Form of the tier scheme "new version" page (the service validates; this only collects)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.deals.forms_rules import RuleSetForm

from .tiers import PRESET_NAMES


def tier_preset_choices() -> list[tuple[str, object]]:
    return [("", _("None (hand-written)")), *((code, _(name)) for code, name in
                                               PRESET_NAMES.items())]


class TierSchemeForm(RuleSetForm):
    """The "new version" form of the credit rules, with the tier presets and help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].help_text = _(
            "Today or a later day. A version in force from today re-evaluates every customer "
            "at once; a later one on its day.")
        self.fields["preset"].choices = tier_preset_choices()
        self.fields["rules"].label = _("Tiers (JSON)")
        self.fields["rules"].help_text = _(
            "The format is described on this page and in docs/vip.md.")
