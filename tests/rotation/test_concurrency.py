"""Two walk-ins (and two sign-ins) at the same moment, each in its own database connection:
they are serialised on the team's sign-ins, so they go to two different people, in order."""

from django.core.exceptions import ValidationError

from apps.ownership.models import Visit
from apps.rotation.models import DutySignIn
from apps.rotation.services import duty_sign_in, walk_in_receive
from tests.concurrency import committed, run_together

from .conftest import sign_in_team

pytestmark = committed


def test_two_walk_ins_at_once_go_to_two_people_in_order(world_a):
    w = world_a
    duty = sign_in_team(w)

    def walk_in(phone, actor):
        return lambda: walk_in_receive(tenant=w.tenant, actor=actor, team=w.team1,
                                       name="并发客户", phone=phone)

    results = run_together(walk_in("13800138001", w.sales), walk_in("13800138002", w.manager))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    with w.context():
        visits = list(Visit.objects.order_by("at", "pk"))
        served = dict(DutySignIn.objects.values_list("staff_id", "served_count"))
    # Whoever committed first got the first in order, the other the second.
    assert [v.received_by_id for v in visits] == [w.sales.pk, w.sales2.pk]
    assert served == {w.sales.pk: 1, w.sales2.pk: 1, duty.sales4.pk: 0}


def test_two_first_sign_ins_at_once_get_positions_one_and_two(world_a):
    w = world_a
    results = run_together(
        lambda: duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1),
        lambda: duty_sign_in(tenant=w.tenant, actor=w.sales2, team=w.team1))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert sorted(sign_in.position for _, sign_in in results) == [1, 2]
    with w.context():
        assert sorted(DutySignIn.objects.values_list("position", flat=True)) == [1, 2]


def test_the_same_person_signing_in_twice_at_once_is_refused_once(world_a):
    w = world_a
    results = run_together(*[lambda: duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1)]
                           * 2)
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert error.message_dict == {"staff": [f"{w.sales.name} 今天已签到。"]}
    with w.context():
        assert DutySignIn.objects.count() == 1

