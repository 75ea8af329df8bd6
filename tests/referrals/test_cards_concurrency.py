"""Two cards issued at the same moment for a referrer one below the cap: one wins."""

from django.core.exceptions import ValidationError

from apps.referrals.models import ReferralCard
from apps.tenancy.models import Tenant
from tests.concurrency import committed, run_together

from .cards_helpers import card_for, customer_referrer


@committed
def test_cap_holds_under_concurrent_issues(world_a):
    w = world_a
    Tenant.objects.filter(pk=w.tenant.pk).update(industry=Tenant.Industry.EDUCATION)
    w.tenant.refresh_from_db()
    r = customer_referrer(w)
    for _i in range(4):
        card_for(w, r)
    results = run_together(lambda: card_for(w, r), lambda: card_for(w, r))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(v for kind, v in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert error.message_dict["referrer"] == ["每位转介绍人最多持有 5 张有效卡片。"]
    with w.context():
        assert ReferralCard.objects.filter(referrer=r, active=True).count() == 5
