"""Form of the follow-up plan "new version" page (apps.followups.plan_versions validates;
this only collects)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.deals.forms_rules import RuleSetForm

from .plans import PRESET_NAMES


def plan_preset_choices() -> list[tuple[str, object]]:
    return [("", _("None (hand-written)")), *((code, _(name)) for code, name in
                                               PRESET_NAMES.items())]


class FollowUpPlanForm(RuleSetForm):
    """The "new version" form of the credit rules, with the plan presets and help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].help_text = _(
            "Today or a later day. The daily job makes the tasks of each day under the version "
            "in force on that day; tasks already made are kept.")
        self.fields["preset"].choices = plan_preset_choices()
        self.fields["rules"].label = _("Plan (JSON)")
        self.fields["rules"].help_text = _(
            "The format is described on this page and in docs/followups.md.")
