from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _clear_policy_cache(sender, instance, **kwargs):
    """Cache coherence only (no business rule): a saved or deleted policy version clears the
    tenant's cached versions now and again when the transaction commits, so no reader keeps a
    version that changed."""
    from django.core.cache import cache
    from django.db import transaction

    from .selectors import policy_cache_key

    key = policy_cache_key(instance.tenant_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


class OwnershipConfig(AppConfig):
    name = "apps.ownership"
    label = "ownership"
    verbose_name = _("Customer ownership")

    def ready(self):
        from .models import OwnershipPolicy

        post_save.connect(_clear_policy_cache, sender=OwnershipPolicy,
                          dispatch_uid="ownership.clear_policy_cache.save")
        post_delete.connect(_clear_policy_cache, sender=OwnershipPolicy,
                            dispatch_uid="ownership.clear_policy_cache.delete")
