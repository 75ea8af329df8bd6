"""factory-boy factories that register customers through the service (validation + audit).

    CustomerFactory(tenant=world.tenant, actor=world.sales)            # owned by world.sales
    CustomerFactory(tenant=t, actor=world.admin, owner=world.sales2, tags=["VIP"])
"""

import itertools

import factory
from stdnum.cn import ric

from apps.customers.models import Customer
from apps.customers.services import customer_create

_phones = itertools.count(1)


def next_phone() -> str:
    """Valid, distinct mainland mobile numbers: 139 0000 0001, 139 0000 0002, ..."""
    return f"139{next(_phones):08d}"


def make_id_number(region: str = "110105", birth: str = "19900101", seq: str = "123") -> str:
    """A resident ID number with a correct check digit."""
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")  # (it ignores the last character)


class CustomerFactory(factory.Factory):
    class Meta:
        model = Customer

    tenant = None
    actor = None
    name = factory.Sequence(lambda n: f"客户{n:03d}")
    phone = factory.LazyFunction(next_phone)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("tenant") is None:
            raise TypeError("CustomerFactory needs tenant=")
        return customer_create(**kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("CustomerFactory only creates (through customer_create)")
