"""Referrer reward presets a tenant can start from (pure data in the format of
apps.referrals.rewards; see docs/referrals.md "Reward rules").

* "education": seed 000 (2024年转介绍奖励方案): 5 % / 8 % / 10 % of the referred purchase by band
  (1 000–5 000, 5 000–10 000, 10 000 and over; lower bound included), 10 points per successful
  referral (100 points → a paid day off, 500 → a family trip), 3 000 once at the 10th successful
  referral (2023年方案 b); and, as the education seed 002 (乐易教育) answers, the old customer keeps
  a benefit already given when the new student is refunded.
* "home": the furniture store (家居转介绍提成方案): ≤ 10 000 → 5 %, 10 000–50 000 → 7 %,
  50 000–100 000 → 10 %, over 100 000 → 15 %, upper bound included (1万元(含)以下, 1万(不含)至5万(含)…);
  a paid reward is clawed back after a refund.
* "franchise": seed 002 (倩秀): 4 000 / 5 000 / 6 000 cash for the 1st–3rd / 4th–6th / 7th-on
  referral plus 2 % / 2.5 % / 3 % of the referred customers' later purchases; and the gift table
  of seed 000 (聚典: 10 000–30 000 → U 盘, 30 000–50 000 → 纪念册, 50 000 and over → both).

A tenant without a policy uses `preset_for_industry(industry)`: education tenants "education",
every other industry "home" (a percentage of the deal by band is the most common scheme).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

EDUCATION: dict = {
    "percent_bands": {"edges": "lower", "bands": [
        {"min": "1000", "max": "5000", "percent": "5"},
        {"min": "5000", "max": "10000", "percent": "8"},
        {"min": "10000", "percent": "10"},
    ]},
    "points": 10,
    "count_bonus": {"threshold": 10, "amount": "3000"},
    "keep_after_refund": True,
}

HOME: dict = {
    "percent_bands": {"edges": "upper", "bands": [
        {"max": "10000", "percent": "5"},
        {"min": "10000", "max": "50000", "percent": "7"},
        {"min": "50000", "max": "100000", "percent": "10"},
        {"min": "100000", "percent": "15"},
    ]},
    "keep_after_refund": False,
}

FRANCHISE: dict = {
    "ordinal_tiers": [
        {"from": 1, "cash": "4000", "override_percent": "2"},
        {"from": 4, "cash": "5000", "override_percent": "2.5"},
        {"from": 7, "cash": "6000", "override_percent": "3"},
    ],
    "gift_bands": {"edges": "lower", "bands": [
        {"min": "10000", "max": "30000", "gift": "U盘"},
        {"min": "30000", "max": "50000", "gift": "纪念册"},
        {"min": "50000", "gift": "纪念册 + U盘"},
    ]},
    "keep_after_refund": False,
}

PRESETS: dict[str, dict] = {"education": EDUCATION, "home": HOME, "franchise": FRANCHISE}

PRESET_NAMES: dict[str, object] = {
    "education": _("Education (5 / 8 / 10 percent by band, points, 3 000 at the 10th)"),
    "home": _("Home furnishing (5 / 7 / 10 / 15 percent by band)"),
    "franchise": _("Franchise (4 000/5 000/6 000 by ordinal + override, gifts)"),
}


def preset_for_industry(industry: str | None) -> str:
    """The preset a tenant of this industry uses until it saves its own policy."""
    return "education" if (industry or "").strip().lower() == "education" else "home"
