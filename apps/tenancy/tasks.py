"""Celery and tenants: a task body always runs inside exactly one tenant's context.

    @tenant_task(name="customers.count_team_customers")
    def count_team_customers(tenant_id: int) -> int: ...   # runs with app.tenant_id set

    count_team_customers.delay(tenant.pk)                  # one tenant
    fan_out.delay("customers.count_team_customers")        # every active tenant (periodic jobs)

Tasks take ids, are idempotent, and are acknowledged late: a worker that dies mid-task leaves
the message on the queue for another worker (acks_late + reject_on_worker_lost).
"""

from celery import Task, current_app, shared_task

from .context import tenant_context
from .models import Tenant


class TenantTask(Task):
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, tenant_id: int, *args, **kwargs):
        with tenant_context(tenant_id):
            return super().__call__(tenant_id, *args, **kwargs)


def tenant_task(*args, **kwargs):
    """Declare a task whose first argument is the tenant id it runs for."""
    kwargs.setdefault("base", TenantTask)
    return shared_task(*args, **kwargs)


def active_tenant_ids() -> list[int]:
    return list(Tenant.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))


@shared_task(name="tenancy.fan_out", acks_late=True, reject_on_worker_lost=True)
def fan_out(task_name: str, *args) -> int:
    """Enqueue `task_name(tenant_id, *args)` once per active tenant; returns how many."""
    task = current_app.tasks[task_name]
    ids = active_tenant_ids()
    for tenant_id in ids:
        task.delay(tenant_id, *args)
    return len(ids)
