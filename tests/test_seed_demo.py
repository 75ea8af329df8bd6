"""`make run` loads the demo tenants: the ownership pages must have something to show."""

import pytest
from django.core.management import call_command

from apps.customers.models import Customer, OwnershipChange
from apps.deals.models import Contract, Deal
from apps.disputes.models import Dispute
from apps.followups.models import FollowUpTask
from apps.notifications.models import Notification
from apps.referrals.models import Referral
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def test_demo_has_a_public_pool_customers_about_to_go_and_a_dispute(capsys):
    call_command("seed_demo")
    tenant = Tenant.objects.get(slug="demo-home")
    with tenant_context(tenant):
        released = OwnershipChange.objects.filter(reason=OwnershipChange.Reason.RELEASE).count()
        assert released > 0
        assert Customer.objects.filter(owner__isnull=True).count() >= released
        dispute = Dispute.objects.get()
        assert dispute.status == Dispute.Status.OPEN
        assert dispute.owner.user.username == "demo-sales"
        assert dispute.claimant.user.username == "demo-sales2"
    with tenant_context(tenant):
        assert Deal.objects.count() > 0 and Contract.objects.filter(renewed_by__isnull=True).exists()
        statuses = set(Referral.objects.values_list("status", flat=True))
        assert {"registered", "verified", "reward_pending", "paid"} <= statuses
    with tenant_context(tenant):  # follow-ups: some done, one complaint opened, some overdue
        results = list(FollowUpTask.objects.filter(status="done").values_list("satisfaction",
                                                                            flat=True))
        assert len(results) == 4 and min(results) == 2
        assert FollowUpTask.objects.filter(purpose="complaint", parent__isnull=False).exists()
        assert FollowUpTask.objects.filter(status="open", reminded_at__isnull=False).exists()
        assert Notification.objects.filter(kind="follow_up").exists()
    call_command("seed_demo")  # idempotent: a second run leaves the tenants alone
    assert "exists: left as it is" in capsys.readouterr().out
