"""Layer 1: the tenant context, the scoped managers, the middleware and the RLS system check."""

import itertools

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import connection, models
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.customers.models import Customer
from apps.tenancy import checks
from apps.tenancy.context import (
    TenantContextMissing,
    _current_tenant_id,
    current_tenant_id,
    no_tenant,
    tenant_context,
)
from apps.tenancy.middleware import TenantMiddleware
from apps.tenancy.models import Staff, Tenant, TenantModel, User
from apps.tenancy.rls import RowLevelSecurityConstraint
from apps.tenancy.services import staff_set_active
from tests.isolation.data import populate, tenant_models

pytestmark = pytest.mark.django_db

TENANT_MODELS = tenant_models()


def _db_tenant() -> str | None:
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('app.tenant_id', true)")
        return cur.fetchone()[0]


def _assert_in(tenant) -> None:
    tenant_id = None if tenant is None else tenant.pk
    assert current_tenant_id() == tenant_id
    assert _db_tenant() in (("", None) if tenant_id is None else (str(tenant_id),))


# --------------------------------------------------------------------------- scoped managers


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_scoped_manager_refuses_to_run_without_a_tenant(model):
    assert current_tenant_id() is None
    with pytest.raises(TenantContextMissing):
        list(model.objects.all())
    with no_tenant(), pytest.raises(TenantContextMissing):
        model.objects.count()


def test_customer_objects_outside_a_tenant_raises():
    with pytest.raises(TenantContextMissing):
        Customer.objects.all()


def test_customer_objects_in_a_context_returns_only_a(world_a, world_b):
    a_data, b_data = populate(world_a), populate(world_b)
    with tenant_context(world_a.tenant):
        assert set(Customer.objects.values_list("pk", flat=True)) == {c.pk for c in a_data.customers}
        assert not Customer.objects.filter(pk=b_data.customer.pk).exists()
    with tenant_context(world_b.tenant):
        assert set(Customer.objects.values_list("pk", flat=True)) == {c.pk for c in b_data.customers}
        with pytest.raises(Customer.DoesNotExist):
            Customer.objects.get(pk=a_data.customer.pk)


def test_scoped_managers_filter_by_themselves_even_where_rls_would_let_rows_through(world_a, world_b):
    """Layer 1 alone: the database is in A's context (RLS shows A's rows) but the Python context
    says B. No scoped manager may then return a row of A (with RLS on they return nothing at
    all); only unscoped_objects sees A's rows."""
    populate(world_a)
    populate(world_b)
    with tenant_context(world_a.tenant):
        token = _current_tenant_id.set(world_b.tenant.pk)
        try:
            for model in TENANT_MODELS:
                label = model._meta.label
                assert model.unscoped_objects.filter(tenant_id=world_a.tenant.pk).exists(), label
                assert set(model.objects.values_list("tenant_id", flat=True)) <= {world_b.tenant.pk}, label
                assert not model.objects.filter(tenant_id=world_a.tenant.pk).exists(), label
        finally:
            _current_tenant_id.reset(token)


# --------------------------------------------------------------------------- context nesting


def test_nested_contexts_restore_the_outer_tenant(world_a, world_b):
    _assert_in(None)
    with tenant_context(world_a.tenant):
        _assert_in(world_a.tenant)
        with tenant_context(world_b.tenant):
            _assert_in(world_b.tenant)
        _assert_in(world_a.tenant)
        with pytest.raises(ZeroDivisionError), tenant_context(world_b.tenant.pk):
            _assert_in(world_b.tenant)
            1 / 0  # noqa: B018
        _assert_in(world_a.tenant)
        with no_tenant():
            _assert_in(None)
            with tenant_context(world_b.tenant):
                _assert_in(world_b.tenant)
            _assert_in(None)
        _assert_in(world_a.tenant)
    _assert_in(None)


# --------------------------------------------------------------------------- middleware


def _through_middleware(user):
    """Run a request for `user` through TenantMiddleware; what the view would have seen."""
    seen = {}

    def view(request):
        seen.update(staff=request.staff, tenant=request.tenant, context=current_tenant_id(),
                    db=_db_tenant())
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = user
    TenantMiddleware(view)(request)
    _assert_in(None)  # left behind after the request
    return seen


def test_middleware_enters_the_members_tenant(world_a, world_b):
    for world, staff in ((world_a, world_a.sales), (world_b, world_b.admin)):
        seen = _through_middleware(staff.user)
        assert seen["staff"].pk == staff.pk
        assert seen["tenant"].pk == world.tenant.pk
        assert seen["context"] == world.tenant.pk
        assert seen["db"] == str(world.tenant.pk)


def test_middleware_enters_no_tenant_for_anonymous(world_a):
    seen = _through_middleware(AnonymousUser())
    assert seen == {"staff": None, "tenant": None, "context": None, "db": seen["db"]}
    assert seen["db"] in ("", None)


def test_middleware_enters_no_tenant_for_a_deactivated_member(world_a):
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=world_a.sales, active=False)
    user = User.objects.get(pk=world_a.sales.user_id)
    seen = _through_middleware(user)
    assert (seen["staff"], seen["tenant"], seen["context"]) == (None, None, None)
    assert seen["db"] in ("", None)


def test_middleware_enters_no_tenant_for_members_of_a_deactivated_tenant(world_a):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(active=False)
    seen = _through_middleware(world_a.admin.user)
    assert (seen["staff"], seen["tenant"], seen["context"]) == (None, None, None)


def test_middleware_enters_no_tenant_for_a_login_without_membership(world_a):
    user = User.objects.create_user("no-membership", password="pw-for-tests-123")
    seen = _through_middleware(user)
    assert (seen["staff"], seen["tenant"], seen["context"]) == (None, None, None)


# --------------------------------------------------------------------------- system check

_counter = itertools.count()


@pytest.fixture
def temporary_model():
    """Define models in the `customers` app for one test, then unregister them."""
    made = []

    def define(base, *, constraints, with_tenant_field=False):
        name = f"IsolationProbe{next(_counter)}"
        meta = type("Meta", (), {"app_label": "customers", "constraints": constraints})
        attrs = {"__module__": __name__, "Meta": meta}
        if with_tenant_field:
            attrs["tenant"] = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
        model = type(name, (base,), attrs)
        made.append(model)
        return model

    yield define
    for model in made:
        del apps.all_models["customers"][model._meta.model_name]
    apps.clear_cache()


def test_rls_check_passes_for_the_project():
    assert checks.tenant_models_have_rls(None) == []


def test_rls_check_flags_a_tenant_model_without_its_policy(temporary_model):
    model = temporary_model(TenantModel, constraints=[])
    errors = checks.tenant_models_have_rls(None)
    assert [(e.id, e.obj) for e in errors] == [("tenancy.E001", model)]


def test_rls_check_flags_a_tenant_column_outside_tenant_model(temporary_model):
    model = temporary_model(models.Model, with_tenant_field=True, constraints=[
        RowLevelSecurityConstraint(name="customers_probe_tenant_isolation")])
    errors = checks.tenant_models_have_rls(None)
    assert [(e.id, e.obj) for e in errors] == [("tenancy.E002", model)]


def test_rls_check_accepts_a_tenant_model_that_keeps_the_base_constraints(temporary_model):
    temporary_model(TenantModel, constraints=[*TenantModel.Meta.constraints])
    assert checks.tenant_models_have_rls(None) == []


def test_every_tenant_model_has_the_scoped_manager_as_default():
    from apps.tenancy.managers import TenantScopedManager, UnscopedManager

    for model in TENANT_MODELS:
        assert isinstance(model._default_manager, TenantScopedManager), model._meta.label
        assert isinstance(model.unscoped_objects, UnscopedManager), model._meta.label
    assert Staff._meta.default_manager_name in (None, "objects")


def _tenant_setting() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('app.tenant_id', true)")
        return cur.fetchone()[0]


def test_nested_context_of_the_same_tenant_costs_no_round_trip(world_a, world_b):
    """A service calling a service in the same tenant: the setting is already in place."""
    with tenant_context(world_a.tenant):
        with CaptureQueriesContext(connection) as queries:
            with tenant_context(world_a.tenant):
                assert Customer.objects.count() == 0
        assert not [q for q in queries if "set_config" in q["sql"]]
        assert _tenant_setting() == str(world_a.tenant.pk)
        # Another tenant nested inside still switches, and switches back.
        with tenant_context(world_b.tenant):
            assert _tenant_setting() == str(world_b.tenant.pk)
        assert _tenant_setting() == str(world_a.tenant.pk)
        assert current_tenant_id() == world_a.tenant.pk
