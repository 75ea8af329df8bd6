"""Load the demo tenants (`make run` calls this after migrating).

Two companies from fixtures/demo.json -- 名匠家居 (home furnishing, two teams, one login per role,
200 customers) and 启航教育 (education, 20 customers) -- created through the services, so every
row passes the same validation and leaves the same audit trail as a real registration. The
customers are generated with a fixed random seed: the same data on every machine.

Idempotent: a tenant whose slug exists is left alone; the logins are printed either way.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.core.identity import make_resident_id, normalize_id_number, normalize_phone
from apps.customers.services import customer_create, relation_add
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
SEED = 2026


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class CustomerGenerator:
    def __init__(self, vocab: dict, spec: dict, rng: random.Random):
        self.vocab, self.spec, self.rng = vocab, spec, rng
        self.phones: set[str] = set()
        self.ids: set[str] = set()

    def name(self, gender: str, surname: str | None = None) -> str:
        rng = self.rng
        pool = {"M": "given_male", "F": "given_female"}.get(gender) or rng.choice(
            ["given_male", "given_female"])
        return (surname or rng.choice(self.vocab["surnames"])) + rng.choice(self.vocab[pool])

    def phone(self) -> str:
        while True:
            value = self.rng.choice(self.vocab["phone_prefixes"]) + f"{self.rng.randrange(10**8):08d}"
            if value not in self.phones:
                self.phones.add(value)
                return normalize_phone(value)

    def resident_id(self, gender: str, birth: dt.date | None = None) -> str:
        """A valid, unique resident ID (of `birth` when given). A region code is only valid for
        births after it was created (440305 Nanshan: 1983 on), which `normalize_id_number`
        checks: draw again."""
        rng = self.rng
        fixed = birth
        while True:
            birth = fixed or dt.date(1958, 1, 1) + dt.timedelta(days=rng.randrange(16_000))
            seq = rng.randrange(500) * 2 + (1 if gender == "M" else 0)
            value = make_resident_id(rng.choice(self.spec["id_regions"]), birth, seq)
            try:
                valid = normalize_id_number(value) == value
            except ValidationError:
                continue
            if valid and value not in self.ids:
                self.ids.add(value)
                return value

    def address(self) -> str:
        rng = self.rng
        return rng.choice(self.spec["addresses"]).format(
            n=rng.randrange(1, 999), b=rng.randrange(1, 30),
            r=f"{rng.randrange(1, 33)}{rng.randrange(1, 5):02d}")

    def customer(self, owner: Staff | None) -> dict:
        rng, spec = self.rng, self.spec
        gender = rng.choices(["M", "F", ""], weights=[45, 45, 10])[0]
        data = {"name": self.name(gender), "phone": self.phone(), "gender": gender,
                "source": _weighted(rng, spec["sources"]), "grade": _weighted(rng, spec["grades"]),
                "address": self.address() if rng.random() < 0.7 else "",
                "notes": rng.choice(spec["notes"]), "owner": owner, "id_number": "",
                "birthday": None}
        if gender and rng.random() < spec["id_share"]:
            data["id_number"] = self.resident_id(gender)  # the service fills the birthday
        elif rng.random() < 0.3:
            data["birthday"] = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15_000))
        r = rng.random()
        data["tags"] = [] if r < 0.3 else rng.sample(spec["tags"], 1 if r < 0.75 else 2)
        return data


class Command(BaseCommand):
    help = "Create the demo tenants (名匠家居, 启航教育) with one login per role; idempotent."

    def handle(self, *args, **options):
        config = json.loads(FIXTURE.read_text(encoding="utf-8"))
        for spec in config["tenants"]:
            if Tenant.objects.filter(slug=spec["slug"]).exists():
                self.stdout.write(f"demo tenant {spec['slug']} exists: left as it is")
                continue
            # Each tenant gets its own generator state, so one tenant's data never depends on
            # whether the other was loaded in the same run.
            tenant_rng = random.Random(f"{SEED}-{spec['slug']}")
            with transaction.atomic():
                counts = self._load(config, spec, tenant_rng)
            self.stdout.write(self.style.SUCCESS(
                f"demo tenant {spec['slug']} ({spec['name']}): {counts[0]} staff, "
                f"{counts[1]} customers, {counts[2]} relations"))
        self._print_logins(config)

    def _load(self, config: dict, spec: dict, rng: random.Random) -> tuple[int, int, int]:
        tenant = tenant_create(name=spec["name"], slug=spec["slug"], industry=spec["industry"])
        teams, staff = [], {}
        admin = None
        for person in spec["staff"]:
            if Role.ADMIN in person["roles"]:
                admin = self._staff(tenant, None, person, teams, config["password"])
                staff[person["username"]] = admin
                break
        for name in spec["teams"]:
            teams.append(team_create(tenant=tenant, actor=admin, name=name))
        for person in spec["staff"]:
            if person["username"] not in staff:
                staff[person["username"]] = self._staff(tenant, admin, person, teams,
                                                        config["password"])
        sales = [s for s in staff.values() if Role.SALES in s.roles]
        registrar = next((s for s in staff.values() if Role.CUSTOMER_SERVICE in s.roles), admin)

        gen = CustomerGenerator(config, spec, rng)
        specs = []
        for i in range(spec["customers"]):
            owner = None if rng.random() < spec["unowned_share"] else sales[i % len(sales)]
            specs.append(gen.customer(owner))
        pairs = self._plan_relations(spec, specs, gen, rng)

        customers = []
        for data in specs:
            # A salesperson registers their own customers; unowned ones come in through the
            # front desk (customer service), as in the store.
            actor = data["owner"] or registrar
            customers.append(customer_create(tenant=tenant, actor=actor, **data))
        for kind, i, j in pairs:
            relation_add(tenant=tenant, actor=admin, customer=customers[i], related=customers[j],
                         kind=kind)
        if len(sales) >= 2:
            self._ownership_story(tenant, customers, sales, rng)
        self._deals_story(tenant, customers, sales, rng)
        self._referrals_story(tenant, customers, staff, gen)
        self._vip_story(tenant, staff)
        self._followups_story(tenant, staff, rng)
        return len(staff), len(customers), len(pairs)

    @staticmethod
    def _deals_story(tenant, customers, sales, rng: random.Random) -> None:
        """A few deals through the deal service (credit split by the preset of the tenant's
        industry), each with a one-year term; the oldest terms end within the month, so the
        renewal pages have something to show."""
        from apps.deals.services import deal_create

        if not sales:
            return
        today = timezone.localdate()
        role = "consultant" if tenant.industry == Tenant.Industry.EDUCATION else "closer"
        owned = [c for c in customers if c.owner_id is not None][:8]
        for i, customer in enumerate(owned):
            with tenant_context(tenant):
                customer = type(customer).objects.select_related("owner").get(pk=customer.pk)
            if customer.owner is None:  # released to the pool by the ownership story
                continue
            signed_on = today - dt.timedelta(days=345 - i * 30)
            deal_create(
                tenant=tenant, actor=customer.owner, customer=customer,
                kind="new", amount=Decimal(rng.choice(("12800.00", "26800.00", "49800.00"))),
                signed_on=signed_on, contract_number=f"{tenant.slug.upper()}-{2025 + i // 6}-{i + 1:04d}",
                participants=[(customer.owner, role, "")], term_start=signed_on,
                term_end=signed_on + dt.timedelta(days=364))
    @staticmethod
    def _referrals_story(tenant, customers, staff, gen: CustomerGenerator) -> None:
        """Old customers who bought become referral members with a card and bring friends:
        one friend bought a month ago (reward ready to approve), one was approved and paid, others
        are logged and waiting for a first deal, and one left name and phone on the public
        page."""
        from apps.deals.services import deal_create
        from apps.referrals import lifecycle, referrers
        from apps.referrals.models import Referral, ReferralCard
        from apps.referrals.public import referral_submit_public

        people = list(staff.values())
        manager = next((s for s in people if Role.MANAGER in s.roles), None)
        admin = next((s for s in people if Role.ADMIN in s.roles), None)
        finance = next((s for s in people if Role.FINANCE in s.roles), None)
        role = "consultant" if tenant.industry == Tenant.Industry.EDUCATION else "closer"
        with tenant_context(tenant):
            # Buyers with an owner; those who gave no ID number give one now (a referral member
            # needs it): which generated customers have one depends on the day's draws.
            members = list(type(customers[0]).objects.select_related("owner")
                           .filter(deals__isnull=False, owner__isnull=False)
                           .distinct().order_by("-id_number", "pk")[:3])
        today = timezone.localdate()
        for n, member in enumerate(members):
            id_number = member.id_number or gen.resident_id(member.gender or "F",
                                                            member.birthday)
            referrer = referrers.referrer_register_customer(
                tenant=tenant, actor=admin or manager, customer=member, id_number=id_number)
            card = referrers.card_issue(tenant=tenant, actor=member.owner, referrer=referrer)
            friend = gen.customer(member.owner)
            logged = lifecycle.referral_log(tenant=tenant, actor=member.owner, referrer=referrer,
                                            name=friend["name"], phone=friend["phone"]).referral
            if n < 2:
                signed_on = today - dt.timedelta(days=30 - n)
                deal_create(tenant=tenant, actor=member.owner, customer=logged.customer,
                            kind="new", amount=Decimal(("8800.00", "36800.00")[n]),
                            signed_on=signed_on,
                            contract_number=f"{tenant.slug.upper()}-R-{n + 1:04d}",
                            participants=[(member.owner, role, "")])
            if n == 1 and manager is not None and finance is not None:
                with tenant_context(tenant):
                    logged = Referral.objects.get(pk=logged.pk)
                if logged.status == Referral.Status.REWARD_PENDING:
                    lifecycle.referral_approve(tenant=tenant, actor=manager, referral=logged)
                    lifecycle.referral_pay(tenant=tenant, actor=finance, referral=logged)
            if n == 0:
                with tenant_context(tenant):
                    card = ReferralCard.objects.get(pk=card.pk)
                walk_in = gen.customer(None)
                referral_submit_public(tenant=tenant, card=card, name=walk_in["name"],
                                       phone=walk_in["phone"], note="朋友推荐，想了解一下。")
                waiting = gen.customer(member.owner)
                lifecycle.referral_log(tenant=tenant, actor=member.owner, referrer=referrer,
                                       name=waiting["name"], phone=waiting["phone"])

    @staticmethod
    def _vip_story(tenant, staff) -> None:
        """Buyers got their tier from the deals above; customer service hands cards to all but
        two of them (who stay on the 发卡 list), and one card is lost and reissued."""
        from apps.vip import cards
        from apps.vip.models import CustomerTier

        desk = next((s for s in staff.values() if Role.CUSTOMER_SERVICE in s.roles), None)
        if desk is None:
            return
        with tenant_context(tenant):
            rows = list(CustomerTier.objects.select_related("customer").order_by("pk"))
        issued = []
        for row in rows[:-2]:
            issued.append(cards.card_issue(tenant=tenant, actor=desk, customer=row.customer,
                                           number=cards.next_card_number(tenant)))
        if issued:
            cards.card_reissue(tenant=tenant, actor=desk, card=issued[0],
                               number=cards.next_card_number(tenant), note="客户来电挂失。")

    @staticmethod
    def _followups_story(tenant, staff, rng: random.Random) -> None:
        """The daily generation makes the week's visits (grades, VIP care, birthdays,
        renewals); a few after-sale visits were due last week: most were done (one customer
        was unsatisfied, which opened a complaint), the others are overdue, so My day, the
        reminders in the inbox and the team page have something to show."""
        from apps.customers.models import Customer
        from apps.followups import generation, reminders, services
        from apps.followups.models import FollowUpTask

        generation.generate(tenant)
        now = timezone.now()
        with tenant_context(tenant):
            buyers = list(Customer.objects.filter(deals__isnull=False, owner__isnull=False)
                          .select_related("owner").distinct().order_by("pk")[:6])
        created = []
        for i, customer in enumerate(buyers):
            task = services.task_create(tenant=tenant, actor=None, customer=customer,
                                        purpose="after_sale", channel="phone",
                                        assignee=customer.owner)
            due = now - dt.timedelta(days=7 - i, hours=rng.randint(0, 3))
            with tenant_context(tenant):
                # Backdating is what the demo needs; real tasks are due from now on.
                FollowUpTask.objects.filter(pk=task.pk).update(
                    due_at=due, created_at=now - dt.timedelta(days=10))
            created.append((task, customer, due))
        for i, (task, customer, due) in enumerate(created[:4]):
            # Done an hour after it was due: on time, no penalty.
            services.task_complete(tenant=tenant, actor=customer.owner, task=task,
                                   now=due + dt.timedelta(hours=1),
                                   result="reached", satisfaction=(5, 4, 2, 5)[i],
                                   notes=("很满意，已推荐朋友来看。", "安装师傅很专业。",
                                          "送货晚了两天，客户不太高兴。", "一切正常。")[i],
                                   next_step="三个月后再回访" if i != 2 else "客服跟进投诉")
        reminders.remind(tenant)

    @staticmethod
    def _ownership_story(tenant, customers, sales, rng: random.Random) -> None:
        """Make the ownership pages worth a look: contacts spread over the last six weeks (so
        some customers are about to be released and the nightly release has already put others
        in the public pool), and one collision dispute waiting for the manager."""
        from apps.customers.models import Customer
        from apps.ownership.registration import customer_register
        from apps.ownership.services import pool_release_due

        now = timezone.now()
        with tenant_context(tenant):
            for customer in customers:
                if customer.owner_id is None:
                    continue
                roll = rng.random()
                days = (rng.randint(0, 26) if roll < 0.7 else rng.randint(27, 30) if roll < 0.85
                        else rng.randint(31, 45))
                # Backdating is what the demo needs; real contacts go through contact_record.
                Customer.objects.filter(pk=customer.pk).update(
                    last_contact_at=now - dt.timedelta(days=days, hours=rng.randint(0, 8)))
        pool_release_due(tenant=tenant)
        with tenant_context(tenant):
            protected = (Customer.objects.filter(owner=sales[0])
                         .order_by("-last_contact_at", "pk").first())
        if protected is not None:
            customer_register(tenant=tenant, actor=sales[1], name=protected.name,
                              phone=protected.phone,
                              claim_note="客户说上周在二组看过样板间，是我先接待的。")

    @staticmethod
    def _staff(tenant, actor, person, teams, password) -> Staff:
        team = teams[person["team"]] if person.get("team") is not None else None
        return staff_create(tenant=tenant, actor=actor, username=person["username"],
                            password=password, name=person["name"], roles=person["roles"],
                            team=team, phone=person.get("phone", ""))

    @staticmethod
    def _plan_relations(spec, specs, gen: CustomerGenerator, rng: random.Random):
        """Couples share an owner and an address; a child carries the father's surname.
        Only customers without an ID number take part, so a changed gender stays consistent."""
        free = [i for i, d in enumerate(specs) if d["owner"] is not None and not d["id_number"]]
        rng.shuffle(free)
        pairs = []
        for kind, count in spec["relations"]:
            for _ in range(count):
                i, j = free.pop(), free.pop()
                a, b = specs[i], specs[j]
                b["owner"] = a["owner"]
                a["gender"] = "M"
                a["name"] = gen.name("M")
                if kind == "spouse":
                    b["gender"], b["name"] = "F", gen.name("F")
                    b["address"] = a["address"] = a["address"] or gen.address()
                    b["birthday"] = a["birthday"] = None
                else:  # a is the parent of b
                    b["name"] = gen.name(b["gender"], surname=a["name"][0])
                    a["birthday"] = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(3650))
                    b["birthday"] = a["birthday"] + dt.timedelta(days=365 * 26 + rng.randrange(3650))
                    b["address"] = a["address"]
                pairs.append((kind, i, j))
        return pairs

    def _print_logins(self, config: dict) -> None:
        rows = []
        for spec in config["tenants"]:
            tenant = Tenant.objects.filter(slug=spec["slug"]).first()
            if tenant is None:
                continue
            with tenant_context(tenant):
                members = {s.user.username: s for s in Staff.objects.select_related("user", "team")}
            for person in spec["staff"]:
                s = members.get(person["username"])
                if s is not None:
                    rows.append((s.user.username, config["password"], ",".join(s.roles),
                                 tenant.name, s.name, s.team.name if s.team else ""))
        header = ("username", "password", "roles", "tenant", "name", "team")
        widths = [max(_width(r[k]) for r in [header, *rows]) for k in range(len(header))]
        self.stdout.write("\nDemo logins:")
        for row in [header, tuple("-" * w for w in widths), *rows]:
            line = "  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True))
            self.stdout.write(("  " + line).rstrip())


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
