"""The export of follow-up records (/followups/reports/export.xlsx): the file read back with
openpyxl holds, under Chinese headers, exactly the records of the filters the viewer may see,
equal to the database (local times, labels, satisfaction as a number, a cancelled task's
reason in the notes); text is escaped against formula injection; a manager gets their team's
records with the mobile numbers of customers they may not see masked; another tenant's
records never appear; bad filters are a 400 page.

The records are test_reports' March, built through the services with explicit `now=` values
(tests.followups.test_reports.build_march), plus one follow-up an administrator assigns to a
salesperson of team 1 for a customer of team 2 (services.task_create)."""

from __future__ import annotations

import io
import zoneinfo

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from apps.core.identity import mask_phone
from apps.followups import services
from apps.followups.models import Channel, FollowUpTask, Purpose
from apps.ownership.selectors import local_midnight
from tests.followups.helpers import at, customer, zh
from tests.followups.test_reports import MARCH, build_march

EXPORT = reverse("followups:export")
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
HEADERS = ["Due", "Customer", "Mobile phone", "Purpose", "Channel", "Assigned to", "Team",
           "Status", "Result", "Satisfaction", "Notes", "Next step", "Done at"]


@pytest.fixture
def march(world_a, world_b):
    data = build_march(world_a, world_b)
    w = world_a
    stranger = customer(w, "sales_other_team", name="=HYPERLINK(\"x\")")
    data.tasks["cross"] = services.task_create(
        tenant=w.tenant, actor=w.admin, customer=stranger, purpose=Purpose.REPAIR,
        channel=Channel.PHONE, assignee=w.sales, due_at=at(2026, 3, 4, 15),
        now=at(2026, 3, 2, 9))
    return data


def read(response) -> list[list]:
    assert response.status_code == 200, response.content[:500]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    # (a read-only sheet leaves out the empty cells at the end of a row)
    return [[*row, *[None] * (len(HEADERS) - len(row))]
            for row in book.worksheets[0].iter_rows(values_only=True)]


def local_text(moment) -> str | None:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if moment else None


def expected_rows(world, *, team=None, masked=()) -> list[list]:
    """The records of March in world's database, as the export should write them."""
    with world.context():
        qs = (FollowUpTask.objects.filter(due_at__gte=local_midnight(world.tenant, MARCH[0]),
                                          due_at__lt=local_midnight(world.tenant, MARCH[1]))
              .select_related("customer", "assignee", "team").order_by("due_at", "id"))
        if team is not None:
            qs = qs.filter(team=team)
        tasks = list(qs)
    rows = []
    for t in tasks:
        phone = mask_phone(t.customer.phone) if t.customer_id in masked else t.customer.phone
        notes = t.cancel_reason if t.status == "cancelled" else t.result_notes
        name = t.customer.name
        rows.append([
            local_text(t.due_at), "'" + name if name.startswith("=") else name, phone,
            zh(dict(Purpose.choices)[t.purpose]), zh(dict(Channel.choices)[t.channel]),
            t.assignee.name, t.team.name if t.team else None,
            zh(dict(FollowUpTask.Status.choices)[t.status]),
            zh(dict(FollowUpTask.Result.choices)[t.result]) if t.result else None,
            t.satisfaction, ("'" + notes if notes.startswith("=") else notes) or None,
            t.next_step or None, local_text(t.completed_at)])
    return rows


def test_admin_export_equals_the_database(march, client_for):
    w, t = march.world, march.tasks
    response = client_for(w.admin).get(EXPORT, {"month": "2026-03"})
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert 'filename="followups-2026-03-01-2026-03-31.xlsx"' in response["Content-Disposition"]
    rows = read(response)
    assert rows[0] == [zh(h) for h in HEADERS]
    assert rows[1:] == expected_rows(w)
    assert len(rows) - 1 == 14                        # 13 of build_march + the cross one
    by_due = {row[0]: row for row in rows[1:]}
    # Spot checks against what was done (not only the database's view of it):
    assert by_due["2026-03-31 23:30"][12] == "2026-04-01 00:10"      # done after midnight
    assert by_due["2026-03-13 15:00"][10] == "'=2+3 不要再打"          # escaped, not a formula
    assert by_due["2026-03-05 10:00"][7:11] == [zh("Cancelled"), None, None, "客户出差"]
    assert by_due["2026-03-01 00:10"][9] == 5 and isinstance(by_due["2026-03-01 00:10"][9], int)
    assert by_due["2026-03-04 15:00"][1] == "'=HYPERLINK(\"x\")"
    assert "2026-04-01 00:30" not in by_due and "2026-02-28 23:50" not in by_due
    assert t["t2"].customer.phone in by_due["2026-03-03 10:00"]


def test_a_manager_gets_their_team_with_foreign_phones_masked(march, client_for):
    w, t = march.world, march.tasks
    rows = read(client_for(w.manager).get(EXPORT, {"month": "2026-03"}))
    cross = t["cross"]
    assert rows[1:] == expected_rows(w, team=w.team1, masked={cross.customer_id})
    assert len(rows) - 1 == 11
    with w.context():
        phone = cross.customer.phone
    row = next(r for r in rows if r[0] == "2026-03-04 15:00")
    assert row[2] == phone[:3] + "****" + phone[-4:] and row[2] != phone
    assert {r[6] for r in rows[1:]} == {"一组"}


def test_filters_and_other_tenants(march, world_b, client_for):
    w = march.world
    rows = read(client_for(w.cs).get(EXPORT, {"from": "2026-03-01", "to": "2026-03-03",
                                              "team": w.team1.pk}))
    assert [r[0] for r in rows[1:]] == ["2026-03-01 00:10", "2026-03-03 10:00"]
    theirs = read(client_for(world_b.admin).get(EXPORT, {"month": "2026-03"}))
    assert len(theirs) == 2 and theirs[1][5] == world_b.sales.name
    response = client_for(w.admin).get(EXPORT, {"month": "2026-13"})
    assert response.status_code == 400 and "month" in response.context["form"].errors
    response = client_for(w.manager).get(EXPORT, {"month": "2026-03", "team": w.team2.pk})
    assert response.status_code == 400
