from django.apps import apps
from django.core import checks

from .rls import RowLevelSecurityConstraint


@checks.register(checks.Tags.models)
def tenant_models_have_rls(app_configs, **kwargs):
    """Every concrete model with a `tenant` column must carry its row-level security policy."""
    from .models import TenantModel

    errors = []
    for model in apps.get_models():
        fields = {f.name for f in model._meta.concrete_fields}
        if "tenant" not in fields:
            continue
        if not issubclass(model, TenantModel):
            errors.append(checks.Error(f"{model._meta.label} has a tenant column but is not a "
                                       "TenantModel", id="tenancy.E002", obj=model))
        if not any(isinstance(c, RowLevelSecurityConstraint) for c in model._meta.constraints):
            errors.append(checks.Error(
                f"{model._meta.label} has no RowLevelSecurityConstraint; keep "
                "TenantModel.Meta.constraints in its Meta.constraints", id="tenancy.E001",
                obj=model))
    return errors
