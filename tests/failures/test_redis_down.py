"""Redis unreachable (the cache, the cached sessions, the API throttles and the Celery broker
all live there) while users save deals: the deal is saved and the user sees the normal
success; background work sent through the outbox is kept and goes out once Redis is back.

A throwaway redis-server is stopped in the middle of each test (tests/failures/servers.py)."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from apps.core.models import OutboxMessage
from apps.core.outbox import enqueue_on_commit, relay_pending
from apps.core.tasks import relay_outbox
from apps.deals.models import Deal
from tests.concurrency import committed
from tests.followups.helpers import tasks

from .servers import app_redis

CREATE = reverse("deals:create")
API = "/api/v1/deals/"


def test_the_cache_misses_while_redis_is_down_and_works_again_when_it_is_back(settings):
    with app_redis(settings) as redis_server:
        cache.set("kept", 1)
        assert cache.get("kept") == 1
        redis_server.stop()
        assert cache.get("kept") is None and cache.get("kept", "default") == "default"
        assert cache.get_many(["kept"]) == {} and not cache.has_key("kept")
        cache.set("other", 2)                       # nothing happens, nothing raised
        assert cache.add("lock", 1) is False        # "not added": a caller backs off
        with pytest.raises(ValueError):
            cache.incr("kept")
        cache.delete("kept")
        redis_server.start()
        cache.set("again", 3)
        assert cache.get("again") == 3 and cache.add("lock", 1) is True


def page_data(edu, number: str) -> dict:
    return {
        "customer_phone": edu.customer.phone, "kind": "new", "amount": "12800.50",
        "signed_on": edu.today.isoformat(), "contract_number": number, "units": "1",
        "teacher_raised": "on", "renews": "", "term_start": "", "term_end": "",
        "hours_bought": "", "notes": "",
        "participants-TOTAL_FORMS": "1", "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "0", "participants-MAX_NUM_FORMS": "30",
        "participants-0-staff": str(edu.world.sales.pk),
        "participants-0-role": "number_obtainer", "participants-0-subject": "",
    }


def test_redis_down_deals_are_saved_through_the_page_and_the_api(edu, settings, client_for,
                                                                   api_client_for, caplog):
    w = edu.world
    with app_redis(settings) as redis_server:
        web = client_for(w.sales)        # logged in while Redis is up: the session is cached
        api = api_client_for(w.sales)
        assert web.get(CREATE).status_code == 200
        redis_server.stop()

        with caplog.at_level(logging.WARNING, logger="apps.core.cache"):
            page = web.post(CREATE, page_data(edu, "HT-NO-REDIS-1"), follow=True)
            created = api.post(API, {
                "customer": edu.customer.pk, "kind": "new", "amount": "9000.00",
                "signed_on": edu.today.isoformat(), "contract_number": "HT-NO-REDIS-2",
                "participants": [{"staff": w.sales.pk, "role": "number_obtainer"}]},
                format="json")

        assert [code for _url, code in page.redirect_chain] == [302], page.content[:500]
        assert page.status_code == 200
        with translation.override("zh-hans"):
            told = gettext("Deal %(number)s entered.") % {"number": "HT-NO-REDIS-1"}
        assert told in page.content.decode()
        assert created.status_code == 201, created.content[:500]
        assert "Redis cache unreachable" in caplog.text   # the operator is told, once

    with w.context():
        deals = {d.contract_number: d for d in Deal.objects.filter(
            contract_number__in=["HT-NO-REDIS-1", "HT-NO-REDIS-2"])}
    assert set(deals) == {"HT-NO-REDIS-1", "HT-NO-REDIS-2"}
    for deal in deals.values():  # the work the deal triggers was written with it
        assert tasks(w, deal_id=deal.pk), deal.contract_number


@committed
def test_outbox_keeps_tasks_while_redis_is_down_and_the_relay_sends_each_once(settings):
    queue = "failures-outbox"
    with app_redis(settings) as redis_server:
        redis_server.stop()
        with transaction.atomic():
            first = enqueue_on_commit("customers.count_team_customers", 1, queue=queue)
            second = enqueue_on_commit("customers.count_team_customers", 2, queue=queue)
        # The commit-time attempts failed quietly: both are kept, nothing was sent.
        assert OutboxMessage.objects.filter(pk__in=[first.pk, second.pk],
                                            sent_at__isnull=True).count() == 2
        assert relay_outbox() == 0           # still down: the relay gives up for this minute

        redis_server.start()                 # Redis is back (empty: what it held is gone)
        assert relay_outbox() == 2
        assert relay_pending() == 0          # a second relay (two beats) sends nothing more
        assert redis_server.client().llen(queue) == 2
        assert not OutboxMessage.objects.filter(pk__in=[first.pk, second.pk],
                                                sent_at__isnull=True).exists()

        with transaction.atomic():           # with Redis up the commit sends it at once
            third = enqueue_on_commit("customers.count_team_customers", 3, queue=queue)
        assert OutboxMessage.objects.get(pk=third.pk).sent_at is not None
        assert relay_pending() == 0
        assert redis_server.client().llen(queue) == 3

        with transaction.atomic():           # a rolled-back write sends nothing
            enqueue_on_commit("customers.count_team_customers", 4, queue=queue)
            transaction.set_rollback(True)
        assert relay_pending() == 0 and redis_server.client().llen(queue) == 3


def test_with_eager_tasks_the_outbox_runs_the_task_at_the_commit(world_a, settings,
                                                                 django_capture_on_commit_callbacks):
    """Unit tests run tasks in-process (CELERY_TASK_ALWAYS_EAGER): so does the outbox."""
    import apps.customers.tasks  # noqa: F401 - registers the task, as its caller's import does
    from apps.customers.models import TeamCustomerCount

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_on_commit("customers.count_team_customers", world_a.tenant.pk)
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is not None
    with world_a.context():
        assert TeamCustomerCount.objects.exists()
