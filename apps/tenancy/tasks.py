"""Celery and tenants: a task body always runs inside exactly one tenant's context.

    @tenant_task(name="customers.count_team_customers")
    def count_team_customers(tenant_id: int) -> int: ...   # runs with app.tenant_id set

    count_team_customers.delay(tenant.pk)                  # one tenant
    fan_out.delay("customers.count_team_customers")        # every active tenant (periodic jobs)

Tasks take ids, are idempotent, and are acknowledged late: a worker that dies mid-task leaves
the message on the queue for another worker (acks_late + reject_on_worker_lost).

A job fanned out by beat runs once per tenant and period even if beat sends it twice (two beat
processes): fan_out passes the period (apps.core.jobs.job_period) and the task claims it first,
in its own transaction (apps.core.jobs.claim_job_run).
"""

import logging

from celery import Task, current_app, shared_task

from .context import tenant_context
from .models import Tenant

logger = logging.getLogger(__name__)


class TenantTask(Task):
    acks_late = True
    reject_on_worker_lost = True

    def __init_subclass__(cls, **kwargs):
        # Celery checks a call's arguments against the body's signature when it is sent; the
        # period fan_out adds is this class's, not the body's.
        super().__init_subclass__(**kwargs)
        header = cls.__dict__.get("__header__")
        if isinstance(header, staticmethod):
            check = header.__func__

            def check_body_arguments(*args, job_period=None, **kw):
                return check(*args, **kw)

            cls.__header__ = staticmethod(check_body_arguments)

    def __call__(self, tenant_id: int, *args, job_period: str | None = None, **kwargs):
        from apps.core.jobs import claim_job_run

        with tenant_context(tenant_id):
            if job_period is not None and not claim_job_run(self.name, job_period):
                logger.info("%s for tenant %s in %s: ran already, skipped", self.name,
                            tenant_id, job_period)
                return None
            return super().__call__(tenant_id, *args, **kwargs)


def tenant_task(*args, **kwargs):
    """Declare a task whose first argument is the tenant id it runs for."""
    kwargs.setdefault("base", TenantTask)
    return shared_task(*args, **kwargs)


def active_tenant_ids() -> list[int]:
    return list(Tenant.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))


@shared_task(name="tenancy.fan_out", acks_late=True, reject_on_worker_lost=True)
def fan_out(task_name: str, *args) -> int:
    """Enqueue `task_name(tenant_id, *args)` once per active tenant; returns how many. A job of
    the beat schedule carries its period, so each tenant's run happens once in it."""
    from apps.core.jobs import job_period

    task = current_app.tasks[task_name]
    period = job_period(task_name)
    extra = {"job_period": period} if period is not None else {}
    ids = active_tenant_ids()
    for tenant_id in ids:
        task.delay(tenant_id, *args, **extra)
    return len(ids)
