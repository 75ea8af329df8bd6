"""Default deal roles and the credit-rule presets a tenant can pick (pure data, no ORM).

The presets are in the format of `apps.deals.engine.RuleSet` (see that module's docstring and
docs/deals.md "Credit rules"). Their `label`s are English msgids (marked with gettext_noop so
makemessages extracts them): the engine translates a label when it writes an explanation, so a
preset stored in the database in English reads in Chinese on the deal page; a label a tenant
writes by hand is shown as written.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

#: (code, name, order): the roles every tenant starts with (apps.deals.rulesets.deal_roles_ensure).
DEFAULT_ROLES: list[tuple[str, object, int]] = [
    ("closer", _("Closer"), 10),                      # 签单人
    ("lead", _("Meeting lead"), 20),                  # 带会主负责人
    ("assistant", _("Meeting assistant"), 30),        # 带会协助人
    ("consultant", _("Consultant"), 40),              # 咨询师
    ("teacher", _("Teacher"), 50),                    # 任课老师
    ("advisor", _("Academic advisor"), 60),           # 学管师
    ("number_obtainer", _("Number obtainer"), 70),    # 要号人
]

DEFAULT_ROLE_NAMES: dict[str, object] = {code: name for code, name, _order in DEFAULT_ROLES}
DEFAULT_ROLE_CODES: tuple[str, ...] = tuple(code for code, _name, _order in DEFAULT_ROLES)

#: The order credit lines are listed in (and the tie-break order of the cent rounding).
_ROLE_ORDER = list(DEFAULT_ROLE_CODES)


def _referral_like(what: str) -> dict:
    """Referral (转介绍) and expansion (扩课) share one shape (000 seed 三 and 四)."""
    if what == "referral":
        not_raised = gettext_noop("The teacher did not raise the referral: the consultant earns it all")
        consultant = gettext_noop("Referral closed with a consultant: the consultant gets half")
        teacher = gettext_noop("Referral closed by the teacher (several teachers share equally)")
    else:
        not_raised = gettext_noop("The teacher did not raise the expansion: the consultant earns it all")
        consultant = gettext_noop("Expansion done with a consultant: the consultant gets half")
        teacher = gettext_noop("Expansion done by the teacher (several teachers share equally)")
    return {
        "rules": [
            {"role": "consultant", "rest": True, "when": {"teacher_raised": False},
             "label": not_raised},
            {"role": "consultant", "percent": "50", "when": {"with": ["teacher"]},
             "label": consultant},
            {"role": "teacher", "rest": True, "label": teacher},
        ],
        "fallback": ["consultant", "closer"],
    }


EDUCATION: dict = {
    "role_order": _ROLE_ORDER,
    "kinds": {
        # 一.新单: the number obtainer gets half; a teacher who gave a trial lesson gets half;
        # the consultant (or else the closer) keeps what is left -- nothing when both halves
        # are claimed.
        "new": {
            "rules": [
                {"role": "number_obtainer", "percent": "50",
                 "label": gettext_noop("Obtained the phone number: half")},
                {"role": "teacher", "percent": "50",
                 "label": gettext_noop("Gave a trial lesson: half")},
                {"role": "consultant", "rest": True,
                 "label": gettext_noop("Consultant who closed the deal: the rest")},
                {"role": "closer", "rest": True,
                 "label": gettext_noop("Closer: the rest")},
            ],
            "fallback": [],
        },
        # 二.续费: done by the teacher(s), who share equally; a consultant who took part gets half.
        "renewal": {
            "rules": [
                {"role": "consultant", "percent": "50", "when": {"with": ["teacher"]},
                 "label": gettext_noop("Consultant took part in the renewal: half")},
                {"role": "teacher", "rest": True,
                 "label": gettext_noop("Renewal by the teacher (several teachers share equally)")},
            ],
            "fallback": ["consultant", "advisor", "closer"],
        },
        "referral": _referral_like("referral"),
        "expansion": _referral_like("expansion"),
    },
}

_GENERAL_KIND: dict = {
    "rules": [
        {"role": "lead", "percent": "20", "label": gettext_noop("Led the meeting: 20%")},
        {"role": "assistant", "percent": "10", "label": gettext_noop("Assisted the meeting: 10%")},
        {"role": "closer", "rest": True, "label": gettext_noop("Closer: the rest")},
    ],
    "fallback": ["consultant"],
}

GENERAL: dict = {
    "role_order": _ROLE_ORDER,
    "kinds": {kind: _GENERAL_KIND for kind in ("new", "renewal", "referral", "expansion")},
}

#: Presets by code. A tenant without a rule set uses PRESETS[preset_for_industry(industry)].
PRESETS: dict[str, dict] = {"education": EDUCATION, "general": GENERAL}

PRESET_NAMES: dict[str, object] = {
    "education": _("Education (新单/续费/转介绍/扩课 split)"),
    "general": _("General (the closer earns it)"),
}


def preset_for_industry(industry: str | None) -> str:
    """The preset a tenant of this industry uses until it writes its own rule set."""
    return "education" if (industry or "").strip().lower() == "education" else "general"
