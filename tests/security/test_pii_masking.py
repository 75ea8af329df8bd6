"""PII masking audit (issue 10, deploy checks): where a customer's resident ID number and
mobile phone appear in full, masked, or not at all — every export (read back with openpyxl),
every API list/detail that returns customers or people, the public referral pages and the main
HTML pages — as every role.

The rules (../shared/docs/DOMAIN.md: the ID number is "shown masked"; the code's documented
rules: apps.customers.selectors.can_see_full_id_number, visible_customers, referral_rows,
apps.vip.card_export, apps.followups.reports):

* ID number: in full to tenant administrators only, masked 110105********0046 to everyone
  else, on every surface that shows it (the customer page, its API, the customer export).
  Assumed where the documents say nothing: an ID number a friend types on the public referral
  page is kept in the referral's note masked the same way (the full number is asked again
  when staff verify the referral), so nobody reads a full ID number outside the customer
  record.
* Mobile phone: in full to whoever may see the customer (visible_customers: administrators,
  customer service and finance every customer, a manager their team's and their own, a
  salesperson their own); masked 139****0001 in the lists that name a customer the viewer
  may not see (referrals, VIP cards, the follow-up report and export); a person who is not a
  customer yet (a public referral) in full to the staff who see the referral.
* The public pages (referral card page, honour board) show no phone and no ID number at all.
* A dispute's other party (the claimant, who does not own the customer) gets no phone and no
  ID number of the customer.

* The assignee of a follow-up sees the phone of its customer on "My day" (they have to call),
  even when the task came from another team and they may not see the customer otherwise.
* A referrer who is a customer is that customer: their phone is in full only to whoever may
  see the customer (referrer list and detail, page and API; apps.referrals.referrers.
  with_customer_visibility), masked to other roles that see referrers (e.g. a manager of
  another team).

MATRIX: per surface, per role (ROLES order), what the response shows of each person, a cell
being "x" (refused: 403/404), "." (no phone, no ID number of anyone), or "+"-joined
"<person><id><phone>" with the person C (the customer), R (the referrer customer) or P (the
public referral's friend) and the states F (full), M (masked), - (absent). Roles: manager of
team 1 (the customer's team), manager2 of team 2, sales the customer's owner, sales2 a
salesperson of team 1 (the dispute's claimant, the referrer customer's owner), sales3 of team
2 (assigned the other team's follow-up). Not covered: the import report (it echoes the
uploader's own file, whatever their role) and the SMS/e-mail texts (apps/notifications: they
name the customer, never a phone or ID number — grep-checked, no test).
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

ROLES = ("admin", "manager", "manager2", "sales", "sales2", "sales3", "cs", "finance")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for v in row if v is not None)


def _state(text: str, full: str, masked: str) -> str:
    if full in text:
        return "F"
    return "M" if masked in text else "-"


def observe(pii, text: str) -> str:
    """A MATRIX cell: what `text` shows of each person, e.g. "CMF R-F", "." for nothing."""
    out = []
    for letter, person in pii.people.items():
        id_state = _state(text, person.id_number, person.id_masked)
        phone_state = _state(text, person.phone, person.phone_masked)
        if (id_state, phone_state) != ("-", "-"):
            out.append(f"{letter}{id_state}{phone_state}")
    return " ".join(out) or "."


def _urls(pii) -> dict[str, tuple[str, str]]:
    """surface -> (kind, url): kind html, api, xlsx or public."""
    d, w = pii.data, pii.world
    today = dt.date.today()
    week = dt.timedelta(days=7)
    span = f"from={(today - week).isoformat()}&to={(today + week).isoformat()}"
    c, slug = pii.customer.pk, w.tenant.slug
    referrer, linked, public = d.referrer.pk, pii.linked_referral.pk, pii.public_referral.pk
    return {
        # HTML pages
        "customer_list": ("html", reverse("customers:list")),
        "customer_detail": ("html", reverse("customers:detail", args=[c])),
        "referral_list": ("html", reverse("referrals:referral_list")),
        "referral_detail_linked": ("html", reverse("referrals:referral_detail", args=[linked])),
        "referral_detail_public": ("html", reverse("referrals:referral_detail", args=[public])),
        "deal_list": ("html", reverse("deals:list")),
        "deal_detail": ("html", reverse("deals:detail", args=[d.deal.pk])),
        "dispute_list": ("html", reverse("disputes:list")),
        "dispute_detail": ("html", reverse("disputes:detail", args=[d.dispute.pk])),
        "vip_card_list": ("html", reverse("vip:card_list")),
        "vip_card_detail": ("html", reverse("vip:card_detail", args=[d.vip_card.pk])),
        "followup_list": ("html", reverse("followups:task_list")),
        "followup_detail": ("html", reverse("followups:task_detail", args=[d.followup.pk])),
        "followup_my_day": ("html", reverse("followups:my_day")),
        "followup_report": ("html", reverse("followups:report") + "?" + span),
        "followup_team": ("html", reverse("followups:team")),
        "pool": ("html", reverse("ownership:pool")),
        "notifications": ("html", reverse("notifications:inbox")),
        "rotation": ("html", reverse("rotation:board")),
        "referrer_list": ("html", reverse("referrals:referrer_list")),
        "referrer_detail": ("html", reverse("referrals:referrer_detail", args=[referrer])),
        # exports
        "customer_export": ("xlsx", reverse("customers:export")),
        "referral_export": ("xlsx", reverse("referrals:export")),
        "deal_export": ("xlsx", reverse("deals:export")),
        "vip_card_export": ("xlsx", reverse("vip:card_export")),
        "followup_export": ("xlsx", reverse("followups:export") + "?" + span),
        "workbook": ("xlsx", reverse("commissions:workbook", args=[d.settlement.pk])),
        # API
        "api_customer_list": ("api", reverse("customer-list")),
        "api_customer_detail": ("api", reverse("customer-detail", args=[c])),
        "api_customer_relations": ("api", reverse("customer-relations", args=[c])),
        "api_referral_list": ("api", reverse("referral-list")),
        "api_referral_detail_linked": ("api", reverse("referral-detail", args=[linked])),
        "api_referral_detail_public": ("api", reverse("referral-detail", args=[public])),
        "api_referrer_list": ("api", reverse("referrer-list")),
        "api_referrer_detail": ("api", reverse("referrer-detail", args=[referrer])),
        "api_deal_list": ("api", reverse("deal-list")),
        "api_deal_detail": ("api", reverse("deal-detail", args=[d.deal.pk])),
        "api_dispute_list": ("api", reverse("dispute-list")),
        "api_dispute_detail": ("api", reverse("dispute-detail", args=[d.dispute.pk])),
        "api_vip_cards": ("api", reverse("vip-cards")),
        "api_vip_card": ("api", reverse("vip-card", args=[d.vip_card.pk])),
        "api_vip_care": ("api", reverse("vip-care")),
        "api_vip_reviews": ("api", reverse("vip-reviews")),
        "api_followup_tasks": ("api", reverse("api-followups-tasks")),
        "api_followup_task": ("api", reverse("api-followups-task", args=[d.followup.pk])),
        "api_followup_my_day": ("api", reverse("api-followups-my-day")),
        "api_followup_reports": ("api", reverse("api-followups-reports") + "?" + span),
        "api_pool": ("api", reverse("api-ownership-pool")),
        "api_ownership_history": ("api", reverse("api-ownership-history", args=[c])),
        "api_notifications": ("api", reverse("notification-list")),
        "api_board": ("api", reverse("api-referrals-board")),
        "api_rotation": ("api", reverse("api-rotation-board")),
        # public pages (no login)
        "public_card": ("public", reverse("referral_public:submit", args=[slug, d.card.code])),
        "public_board": ("public", reverse("referral_public:board", args=[slug])),
    }


def fetch(pii, kind: str, url: str, role: str | None):
    """(status, text) of GET `url` as `role` (None: anonymous)."""
    client = Client() if role is None else pii.clients[role]
    response = client.get(url)
    if response.status_code != 200:
        return response.status_code, ""
    if response.get("Content-Type", "").startswith(XLSX):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return 200, _xlsx_text(body)
    if response.streaming:
        return 200, b"".join(response.streaming_content).decode()
    return 200, response.content.decode()




MATRIX_TABLE = """
surface                        admin  manager manager2    sales   sales2   sales3       cs  finance
-- HTML pages
customer_list                C-F+R-F  C-F+R-F        .      C-F      R-F        .  C-F+R-F  C-F+R-F
customer_detail                  CFF      CMF        x      CMF        x        x      CMF      CMF
referral_list                C-F+P-F  C-F+P-F  C-M+P-F      C-F  C-M+P-F        .  C-F+P-F  C-F+P-F
referral_detail_linked           C-F      C-F      C-M      C-F      C-M        x      C-F      C-F
referral_detail_public           PMF      PMF      PMF        x      PMF        x      PMF      PMF
deal_list                          .        .        .        .        .        .        x        .
deal_detail                        .        .        x        .        x        x        x        .
dispute_list                       .        .        .        .        .        .        .        .
dispute_detail                     .        .        x        .        .        x        x        x
vip_card_list                      .        .        .        .        .        .        .        .
vip_card_detail                    .        .        x        .        x        x        .        .
followup_list                      .        .        .        .        .        .        .        x
followup_detail                  C-F      C-F        x      C-F        x        x      C-F        x
followup_my_day                    .        .        .      C-F        .      C-F        .        x
followup_report                    .        .        .        x        x        x        .        x
followup_team                      .        .        .        x        x        x        .        x
pool                               .        .        .        .        .        .        .        .
notifications                      .        .        .        .        .        .        .        .
rotation                           .        .        .        .        .        .        x        x
referrer_list                    R-F      R-F      R-M        .      R-F        .      R-F      R-F
referrer_detail                  R-F      R-F      R-M        x      R-F        x      R-F      R-F
-- exports (.xlsx read back)
customer_export              CFF+RFF  CMF+RMF        .      CMF      RMF        .  CMF+RMF  CMF+RMF
referral_export              C-F+P-F  C-F+P-F  C-M+P-F      C-F  C-M+P-F        .  C-F+P-F  C-F+P-F
deal_export                        .        .        .        .        .        .        x        .
vip_card_export                  C-F      C-F        .      C-F        .        .      C-F      C-F
followup_export                  C-F      C-F      C-M        x        x        x      C-F        x
workbook                           .        x        x        x        x        x        x        .
-- API
api_customer_list            CFF+RFF  CMF+RMF        .      CMF      RMF        .  CMF+RMF  CMF+RMF
api_customer_detail              CFF      CMF        x      CMF        x        x      CMF      CMF
api_customer_relations             .        .        x        .        x        x        .        .
api_referral_list            C-F+P-F  C-F+P-F  C-M+P-F      C-F  C-M+P-F        .  C-F+P-F  C-F+P-F
api_referral_detail_linked       C-F      C-F      C-M      C-F      C-M        x      C-F      C-F
api_referral_detail_public       PMF      PMF      PMF        x      PMF        x      PMF      PMF
api_referrer_list                R-F      R-F      R-M        .      R-F        .      R-F      R-F
api_referrer_detail              R-F      R-F      R-M        x      R-F        x      R-F      R-F
api_deal_list                      .        .        .        .        .        .        x        .
api_deal_detail                    .        .        x        .        x        x        x        .
api_dispute_list                   .        .        .        .        .        .        .        .
api_dispute_detail                 .        .        x        .        .        x        x        x
api_vip_cards                      .        .        .        .        .        .        .        .
api_vip_card                       .        .        x        .        x        x        .        .
api_vip_care                       .        .        .        .        .        .        .        .
api_vip_reviews                    .        .        .        x        x        x        x        x
api_followup_tasks                 .        .        .        .        .        .        .        x
api_followup_task                  .        .        x        .        x        x        .        x
api_followup_my_day                .        .        .      C-F        .      C-F        .        x
api_followup_reports               .        .        .        x        x        x        .        x
api_pool                           .        .        .        .        .        .        .        .
api_ownership_history              .        .        x        .        x        x        .        .
api_notifications                  .        .        .        .        .        .        .        .
api_board                          .        .        .        .        .        .        .        .
api_rotation                       .        .        .        .        .        .        x        x
"""


def _parse(table: str) -> dict[str, tuple[str, ...]]:
    """surface -> cells in ROLES order ("+" joins people in a cell: "CMF+R-F")."""
    rows = {}
    for line in table.strip().splitlines()[1:]:
        if not line.startswith("--"):
            surface, *cells = line.split()
            assert len(cells) == len(ROLES), surface
            rows[surface] = tuple(cell.replace("+", " ") for cell in cells)
    return rows


MATRIX = _parse(MATRIX_TABLE)
#: The public pages, opened without logging in.
PUBLIC = {"public_card": ".", "public_board": "."}

#: (surface, role) cells where the code shows more than the rule (see the module docstring).


def _cell(pii, kind: str, url: str, role: str | None) -> str:
    status, text = fetch(pii, kind, url, role)
    if status in (403, 404):
        return "x"
    assert status == 200, f"{url} as {role}: {status}"
    return observe(pii, text)


def test_matrix_covers_every_surface(pii):
    assert set(MATRIX) | set(PUBLIC) == set(_urls(pii))


@pytest.mark.parametrize("surface", sorted(MATRIX))
def test_what_each_role_sees(pii, surface):
    kind, url = _urls(pii)[surface]
    expected = dict(zip(ROLES, MATRIX[surface], strict=True))
    observed = {role: _cell(pii, kind, url, role) for role in ROLES}
    assert observed == expected, (
        f"{surface}: observed {observed}")


@pytest.mark.parametrize("surface", sorted(PUBLIC))
def test_public_pages_show_no_phone_or_id(pii, surface):
    kind, url = _urls(pii)[surface]
    assert _cell(pii, kind, url, None) == PUBLIC[surface]
    status, text = fetch(pii, kind, url, None)
    assert pii.referrer_customer.name not in text  # the card page names the referrer masked


def test_public_referral_keeps_the_id_number_masked(pii):
    """The ID number typed on the public page is stored masked in the referral's note."""
    with pii.world.context():
        pii.public_referral.refresh_from_db()
    assert pii.people["P"].id_masked in pii.public_referral.note
    assert pii.people["P"].id_number not in pii.public_referral.note
