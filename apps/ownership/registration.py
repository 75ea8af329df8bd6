"""Registration (报备/登记): the live duplicate check, registering a new person, claiming.

* `registration_check` (a read: pages and the API call it as the salesperson types) finds the
  same person in the tenant and says what the caller may know about them.
* `customer_register` (a write) registers a new person to the caller, claims a person who is
  in the public pool (or whose protection has ended), or opens a collision (撞单) dispute when
  somebody else still protects them.
* `customer_claim` (a write) claims a customer from the pool under the tenant's policy (daily
  claim cap, most customers per owner, the former owner's wait); the pool page calls it too.

What the check reveals about a customer the caller may not see: the masked name (张*), the
owner's name, whether it is in the public pool and until when it is protected. Never the full
name, phone number, ID number or id of someone else's customer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.i18n import lazy_format
from apps.core.identity import mask_name, normalize_id_number, normalize_phone
from apps.customers.models import Customer, CustomerRelation, OwnershipChange
from apps.customers.selectors import visible_customers
from apps.customers.services import customer_create, customer_owner_set, relation_add
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .rules import PolicyRules, is_protected, protection_end
from .selectors import local_date, local_midnight, policy_for, tenant_today

#: Who may register and claim: salespeople, and managers/admins for themselves.
REGISTER_ROLES = (Role.SALES, Role.MANAGER, Role.ADMIN)

# --------------------------------------------------------------------------- kinds and verdicts

KIND_PHONE = "phone"
KIND_ID_NUMBER = "id_number"
KIND_NAME_LAST4 = "name_last4"
KIND_RELATIVE = "relative"                  # linked by a family relation to a matching customer
KIND_RELATED_CUSTOMER = "related_customer"  # the existing customer named as relative / referrer

#: Strongest first: the first direct kind decides which customer the verdict is about.
DIRECT_KINDS = (KIND_PHONE, KIND_ID_NUMBER, KIND_NAME_LAST4)
KIND_LABELS = {
    KIND_PHONE: gettext_lazy("Same mobile number"),
    KIND_ID_NUMBER: gettext_lazy("Same ID number"),
    KIND_NAME_LAST4: gettext_lazy("Same name and same last four digits of the mobile number"),
    KIND_RELATIVE: gettext_lazy("Relative of a matching customer"),
    KIND_RELATED_CUSTOMER: gettext_lazy("The existing customer you named"),
}

#: The relations that make somebody "a known relative" (colleagues and friends do not).
FAMILY_KINDS = (CustomerRelation.Kind.SPOUSE, CustomerRelation.Kind.PARENT,
                CustomerRelation.Kind.CHILD, CustomerRelation.Kind.RELATIVE)

VERDICT_NEW = "new"
VERDICT_MINE = "mine"
VERDICT_POOL = "pool"
VERDICT_EXPIRED = "expired"
VERDICT_COLLISION = "collision"
VERDICT_LABELS = {
    VERDICT_NEW: gettext_lazy("New customer: registering makes it yours."),
    VERDICT_MINE: gettext_lazy("Already your customer."),
    VERDICT_POOL: gettext_lazy("In the public pool: registering claims it for you."),
    VERDICT_EXPIRED: gettext_lazy("Its owner's protection has ended: registering claims it for you."),
    VERDICT_COLLISION: gettext_lazy("Protected by another salesperson: registering opens a dispute."),
}
CLAIMABLE = (VERDICT_POOL, VERDICT_EXPIRED)

OUTCOME_REGISTERED = "registered"
OUTCOME_CLAIMED = "claimed"
OUTCOME_ALREADY_YOURS = "already_yours"
OUTCOME_COLLISION = "collision"

#: At most this many customers come back for one kind of direct match (a common name with
#: common last four digits), so one check stays one small index read.
MAX_ROWS = 20


@dataclass(frozen=True)
class CheckMatch:
    """One existing customer the check found, as the caller may see it."""

    kind: str                           # the strongest kind (KIND_*)
    kinds: tuple[str, ...]              # every way it matched
    verdict: str                        # mine / pool / expired / collision, for this customer
    masked_name: str                    # 张*
    name: str                           # the full name if the caller may see it, else masked
    in_pool: bool
    owner_name: str                     # "" in the pool
    protected_until: dt.date | None     # last day of the owner's protection (None: in the pool)
    is_mine: bool
    customer_id: int | None             # only when the caller may see the customer
    relation: str = ""                  # relatives: what this customer is to `relative_of`
    relative_of: str = ""               # relatives: the matching customer's masked name

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def kind_labels(self) -> list[str]:
        return [str(KIND_LABELS[k]) for k in self.kinds]

    @property
    def relation_label(self) -> str:
        return str(dict(CustomerRelation.Kind.choices).get(self.relation, "")) if self.relation else ""

    @property
    def is_direct(self) -> bool:
        return self.kind in DIRECT_KINDS


@dataclass(frozen=True)
class RegistrationCheck:
    """What the check found: the overall verdict and every match (direct ones first)."""

    verdict: str
    matches: tuple[CheckMatch, ...] = ()
    #: The match the verdict is about (None when new).
    primary: CheckMatch | None = None
    #: Something searchable was given (a full phone, an ID, or a name with last four digits).
    searched: bool = False
    #: Why a complete-looking input was not searched (shown next to the check result).
    input_errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def verdict_label(self) -> str:
        return str(VERDICT_LABELS[self.verdict])

    @property
    def claimable(self) -> bool:
        return self.verdict in CLAIMABLE

    @property
    def direct_matches(self) -> list[CheckMatch]:
        return [m for m in self.matches if m.is_direct]

    @property
    def other_matches(self) -> list[CheckMatch]:
        return [m for m in self.matches if not m.is_direct]


@dataclass
class RegistrationResult:
    outcome: str                  # registered / claimed / already_yours / collision
    customer: Customer
    dispute: object | None = None  # apps.disputes.models.Dispute (collision, once confirmed)
    #: The matched customer as the caller may see it (None for a new registration).
    match: CheckMatch | None = None

    @property
    def needs_confirmation(self) -> bool:
        """A collision that was not confirmed yet: no dispute was opened."""
        return self.outcome == OUTCOME_COLLISION and self.dispute is None


# --------------------------------------------------------------------------- input


def can_register(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*REGISTER_ROLES)


def _require_registrar(actor: Staff | None) -> None:
    if not can_register(actor):
        raise PermissionDenied(_("Only salespeople (and managers or administrators for "
                                 "themselves) may register and claim customers."))


def clean_name(value: str) -> str:
    """Trimmed, inner runs of spaces collapsed (names are compared exactly)."""
    return " ".join(str(value or "").split())


def _search_terms(phone: str, id_number: str, name: str, related_phone: str
                  ) -> tuple[str, str, str, str, str, dict]:
    """(phone, last4, id_number, name, related_phone, errors) from what was typed so far.

    An incomplete phone or ID is simply not searched; a complete-looking one that is invalid
    is reported in `errors` (so the page can say why nothing was found). Four digits typed as
    the phone are taken as its last four (to match with the name)."""
    errors: dict[str, list[str]] = {}

    def digits(value: str) -> str:
        return "".join(ch for ch in str(value or "") if ch.isdigit())

    def phone_of(raw: str, key: str) -> str:
        if not str(raw or "").strip():
            return ""
        try:
            return normalize_phone(raw)
        except ValidationError as exc:
            if len(digits(raw)) >= 11:
                errors[key] = exc.messages
            return ""

    phone_n = phone_of(phone, "phone")
    last4 = phone_n[-4:] if phone_n else ""
    if not last4 and str(phone or "").strip().isdigit() and len(str(phone).strip()) == 4:
        last4 = str(phone).strip()
    id_n = ""
    raw_id = "".join(str(id_number or "").split())
    if raw_id:
        try:
            id_n = normalize_id_number(raw_id)
        except ValidationError as exc:
            if len(raw_id) >= 18:
                errors["id_number"] = exc.messages
    related_n = phone_of(related_phone, "related_phone")
    return phone_n, last4, id_n, clean_name(name), related_n, errors


# --------------------------------------------------------------------------- the check


def _verdict_of(customer: Customer, staff: Staff, today: dt.date, policy: PolicyRules,
                tenant: Tenant) -> tuple[str, dt.date | None]:
    """(verdict, protection end) of one customer for `staff`."""
    last = local_date(tenant, customer.last_contact_at)
    end = protection_end(last, policy) if (last is not None and customer.owner_id) else None
    if customer.owner_id is None:
        return VERDICT_POOL, None
    if customer.owner_id == staff.pk:
        return VERDICT_MINE, end
    if is_protected(last, today, policy):
        return VERDICT_COLLISION, end
    return VERDICT_EXPIRED, end


def _match(customer: Customer, kinds: list[str], staff: Staff, visible: bool, today, policy,
           tenant, **extra) -> CheckMatch:
    verdict, end = _verdict_of(customer, staff, today, policy, tenant)
    owner = customer.owner if customer.owner_id else None
    masked = mask_name(customer.name)
    return CheckMatch(
        kind=kinds[0], kinds=tuple(kinds), verdict=verdict, masked_name=masked,
        name=customer.name if visible else masked, in_pool=owner is None,
        owner_name=owner.name if owner is not None else "", protected_until=end,
        is_mine=customer.owner_id == staff.pk, customer_id=customer.pk if visible else None,
        **extra)


#: Among direct matches of the same kind, which verdict the overall answer is about.
_VERDICT_RANK = {VERDICT_MINE: 0, VERDICT_COLLISION: 1, VERDICT_EXPIRED: 2, VERDICT_POOL: 3}


def _direct_rows(staff: Staff, *, phone: str, last4: str, id_number: str, name: str,
                 related_phone: str = "") -> list[Customer]:
    """One query: the customers with this phone / ID / name + last four (and the named related
    customer), owner joined, each annotated with `visible` (may `staff` see it)."""
    cond = Q()
    if phone:
        cond |= Q(phone=phone)
    if id_number:
        cond |= Q(id_number=id_number)
    if name and last4:
        cond |= Q(name=name, phone_last4=last4)
    if related_phone and related_phone != phone:
        cond |= Q(phone=related_phone)
    if not cond:
        return []
    return list(
        Customer.objects.filter(cond)
        .select_related("owner")
        .only("id", "name", "phone", "phone_last4", "id_number", "owner_id", "team_id",
              "last_contact_at", "owner__id", "owner__name")
        .annotate(visible=Exists(visible_customers(staff).filter(pk=OuterRef("pk"))))
        .order_by("id")[:MAX_ROWS * 3])


def _direct_kinds(c: Customer, *, phone: str, last4: str, id_number: str, name: str) -> list[str]:
    kinds = []
    if phone and c.phone == phone:
        kinds.append(KIND_PHONE)
    if id_number and c.id_number == id_number:
        kinds.append(KIND_ID_NUMBER)
    if name and last4 and c.name == name and c.phone_last4 == last4:
        kinds.append(KIND_NAME_LAST4)
    return kinds


def registration_check(staff: Staff, *, phone: str = "", id_number: str = "", name: str = "",
                       related_phone: str = "") -> RegistrationCheck:
    """Is the person being registered already known in the tenant? Call in the tenant context.

    Looks for the same phone, the same ID number, the same name with the same last four phone
    digits (each a plain equality on an indexed column, usable under row-level security), the
    relatives (spouse, parent, child, relative) of those customers and, with `related_phone`,
    the existing customer named as relative or referrer. At most three queries: the policy,
    the customers (owner joined, visibility annotated), the relations (both sides joined).

    The verdict is about the strongest direct match (phone, then ID, then name + last four):
    `new` (none), `mine`, `pool`, `expired` (someone else's, protection over: claimable) or
    `collision` (someone else's, inside the protection window). Relatives are shown, but the
    person being registered is still new."""
    tenant = staff.tenant
    phone, last4, id_number, name, related_phone, errors = _search_terms(
        phone, id_number, name, related_phone)
    searched = bool(phone or id_number or (name and last4) or related_phone)
    if not searched:
        return RegistrationCheck(verdict=VERDICT_NEW, searched=False, input_errors=errors)
    today = tenant_today(tenant)
    policy = policy_for(tenant, today)
    rows = _direct_rows(staff, phone=phone, last4=last4, id_number=id_number, name=name,
                        related_phone=related_phone)
    direct: list[CheckMatch] = []
    named: list[CheckMatch] = []
    direct_ids: list[int] = []
    for c in rows:
        kinds = _direct_kinds(c, phone=phone, last4=last4, id_number=id_number, name=name)
        if kinds:
            direct.append(_match(c, kinds, staff, c.visible, today, policy, tenant))
            direct_ids.append(c.pk)
        elif related_phone and c.phone == related_phone:
            named.append(_match(c, [KIND_RELATED_CUSTOMER], staff, c.visible, today, policy,
                                tenant))
    direct.sort(key=lambda m: (DIRECT_KINDS.index(m.kind), _VERDICT_RANK[m.verdict]))
    direct = direct[:MAX_ROWS]
    relatives = _relatives(staff, {c.pk: c.name for c in rows if c.pk in direct_ids}, today,
                           policy, tenant, skip={c.pk for c in rows})
    primary = direct[0] if direct else None
    verdict = primary.verdict if primary is not None else VERDICT_NEW
    return RegistrationCheck(verdict=verdict, matches=tuple(direct + named + relatives),
                             primary=primary, searched=True, input_errors=errors)


def _relatives(staff: Staff, names: dict[int, str], today, policy, tenant, *,
               skip: set[int]) -> list[CheckMatch]:
    """Customers related by family to the matched ones, `names` ({id: name} of the direct
    matches); `skip`: customers already listed.

    Two steps, because most matched customers have no family recorded: the relation rows alone
    (ids and kind, from the two foreign-key indexes), and only if there are some, the other
    customers in the shape of `_direct_rows` (owner joined, visibility annotated)."""
    if not names:
        return []
    ids = list(names)
    relations = (CustomerRelation.objects
                 .filter(Q(customer_id__in=ids) | Q(related_id__in=ids), kind__in=FAMILY_KINDS)
                 .order_by("id").values_list("customer_id", "related_id", "kind")[:MAX_ROWS])
    wanted: list[tuple[int, str, str]] = []  # (other customer, what they are to ours, our name)
    seen = set(skip)
    for customer_id, related_id, kind in relations:
        if customer_id in names and related_id not in seen:
            # "customer is the <kind> of related": the other person is the inverse to ours.
            wanted.append((related_id, CustomerRelation.INVERSE[kind], names[customer_id]))
            seen.add(related_id)
        elif related_id in names and customer_id not in seen:
            wanted.append((customer_id, kind, names[related_id]))
            seen.add(customer_id)
    if not wanted:
        return []
    others = {c.pk: c for c in (
        Customer.objects.filter(pk__in=[pk for pk, _kind, _of in wanted])
        .select_related("owner")
        .only("id", "name", "owner_id", "last_contact_at", "owner__id", "owner__name")
        .annotate(visible=Exists(visible_customers(staff).filter(pk=OuterRef("pk")))))}
    return [_match(others[pk], [KIND_RELATIVE], staff, others[pk].visible, today, policy, tenant,
                   relation=kind, relative_of=mask_name(of))
            for pk, kind, of in wanted if pk in others]


# --------------------------------------------------------------------------- writes


def _lock_staff(actor: Staff) -> None:
    """Serialise one person's registrations and claims (the daily cap counts them).

    FOR NO KEY UPDATE: rows that reference the staff member (history, notifications) can still
    be written by others meanwhile."""
    Staff.objects.select_for_update(no_key=True).filter(pk=actor.pk).values_list("pk").first()


def _locked(pk: int) -> Customer | None:
    return Customer.objects.select_for_update().filter(pk=pk).first()


def _locked_match(*, actor: Staff, phone: str, id_number: str, name: str, today: dt.date,
                  policy: PolicyRules, tenant: Tenant) -> tuple[Customer, list[str]] | None:
    """The existing customer a registration is about, read and locked now, with the kind it
    matches by: the phone, else the ID number, else the name with the last four digits (the
    same choice as `registration_check`: among several, yours first, then someone else's
    protected one, then expired, then the pool)."""
    for kind, cond in ((KIND_PHONE, Q(phone=phone)),
                       (KIND_ID_NUMBER, Q(id_number=id_number) if id_number else None),
                       (KIND_NAME_LAST4, Q(name=name, phone_last4=phone[-4:]) if name else None)):
        if cond is None:
            continue
        customers = list(Customer.objects.select_for_update().filter(cond).order_by("id")[:MAX_ROWS])
        if customers:
            best = min(customers, key=lambda c: (
                _VERDICT_RANK[_verdict_of(c, actor, today, policy, tenant)[0]], c.pk))
            return best, [kind]
    return None


def _normalized(errors: dict, key: str, func, value) -> str:
    try:
        return func(value)
    except ValidationError as exc:
        errors[key] = exc.messages
        return ""


@transaction.atomic
def customer_register(*, tenant: Tenant, actor: Staff, name: str, phone: str, id_number: str = "",
                      gender: str = "", birthday=None, address: str = "",
                      source: str = Customer.Source.WALK_IN, notes: str = "",
                      related_customer_phone: str = "", relation_kind: str = "",
                      claim_note: str = "", confirm_collision: bool = True) -> RegistrationResult:
    """Register a person met by `actor` (who must be a salesperson, or a manager/admin
    registering for themselves).

    * nobody like them yet → a new customer owned by `actor` (`registered`), related to the
      customer of `related_customer_phone` as `relation_kind` when given;
    * in the public pool, or someone else's whose protection has ended → `customer_claim`
      (`claimed`, under the policy's caps);
    * already the actor's → nothing changes (`already_yours`);
    * someone else's inside the protection window → `collision`: a dispute is opened with
      `claim_note` as the claimant's account, unless `confirm_collision` is False, in which
      case nothing is written and the caller asks the user to confirm first.

    Two people registering the same new phone at the same moment get one customer: the
    loser's insert fails on the unique phone, it re-reads the winner's row (locked) and goes
    on as a collision."""
    with tenant_context(tenant):
        _require_registrar(actor)
        errors: dict = {}
        name = clean_name(name)
        if not name:
            errors["name"] = [_("Enter the customer's name.")]
        phone = _normalized(errors, "phone", normalize_phone, phone)
        id_number = _normalized(errors, "id_number", normalize_id_number, id_number)
        related = None
        if str(related_customer_phone or "").strip():
            related_phone = _normalized(errors, "related_customer_phone", normalize_phone,
                                        related_customer_phone)
            if related_phone and related_phone == phone:
                errors["related_customer_phone"] = [
                    _("The related customer cannot be the person being registered.")]
            elif related_phone:
                related = Customer.objects.filter(phone=related_phone).first()
                if related is None:
                    errors["related_customer_phone"] = [_("No customer has this mobile number.")]
            if relation_kind not in CustomerRelation.Kind.values:
                errors["relation_kind"] = [_("Choose how the two are related.")]
        elif relation_kind:
            errors["related_customer_phone"] = [_("Enter the related customer's mobile number.")]
        if errors:
            raise ValidationError(errors)

        _lock_staff(actor)
        today = tenant_today(tenant)
        policy = policy_for(tenant, today)
        found = _locked_match(actor=actor, phone=phone, id_number=id_number, name=name,
                              today=today, policy=policy, tenant=tenant)
        if found is None:
            try:
                with transaction.atomic():
                    customer = customer_create(
                        tenant=tenant, actor=actor, name=name, phone=phone, id_number=id_number,
                        gender=gender or "", birthday=birthday, address=address,
                        source=source or Customer.Source.WALK_IN, notes=notes, owner=actor,
                        ownership_reason=OwnershipChange.Reason.REGISTRATION,
                        policy_version=policy.version or None)
            except (ValidationError, IntegrityError):
                # Registered a moment ago by someone else (the unique phone/ID): their row now.
                found = _locked_match(actor=actor, phone=phone, id_number=id_number, name=name,
                                      today=today, policy=policy, tenant=tenant)
                if found is None:
                    raise
            else:
                if related is not None:
                    _relate(tenant, actor, customer, related, relation_kind)
                return RegistrationResult(outcome=OUTCOME_REGISTERED, customer=customer)
        customer, kinds = found
        return _settle_existing(tenant=tenant, actor=actor, customer=customer, kinds=kinds,
                                today=today, policy=policy, related=related,
                                relation_kind=relation_kind, claim_note=claim_note,
                                confirm_collision=confirm_collision)


def _settle_existing(*, tenant, actor, customer, kinds, today, policy, related, relation_kind,
                     claim_note, confirm_collision) -> RegistrationResult:
    owner = Staff.objects.filter(pk=customer.owner_id).first() if customer.owner_id else None
    customer.owner = owner
    visible = visible_customers(actor).filter(pk=customer.pk).exists()
    match = _match(customer, kinds, actor, visible, today, policy, tenant)
    if match.verdict == VERDICT_MINE:
        if related is not None:
            _relate(tenant, actor, customer, related, relation_kind)
        return RegistrationResult(outcome=OUTCOME_ALREADY_YOURS, customer=customer, match=match)
    if match.verdict in CLAIMABLE:
        customer = customer_claim(tenant=tenant, actor=actor, customer=customer, note=claim_note)
        if related is not None:
            _relate(tenant, actor, customer, related, relation_kind)
        return RegistrationResult(outcome=OUTCOME_CLAIMED, customer=customer, match=match)
    if not confirm_collision:
        return RegistrationResult(outcome=OUTCOME_COLLISION, customer=customer, match=match)
    from apps.disputes.services import dispute_open

    dispute = dispute_open(tenant=tenant, actor=actor, customer=customer, claimant=actor,
                           claim=claim_note)
    return RegistrationResult(outcome=OUTCOME_COLLISION, customer=customer, dispute=dispute,
                              match=match)


def _relate(tenant: Tenant, actor: Staff, customer: Customer, related: Customer, kind: str) -> None:
    """Record the relation given at registration (unless the two are related already).

    The related customer may belong to someone else (a relative of, or brought by, another
    salesperson's customer): then the relation is recorded by the system on the actor's
    behalf, since the actor may not change that customer."""
    if CustomerRelation.objects.filter(customer__in=[customer.pk, related.pk],
                                       related__in=[customer.pk, related.pk]).exists():
        return
    sees_related = visible_customers(actor).filter(pk=related.pk).exists()
    relation_add(tenant=tenant, actor=actor if sees_related else None, customer=customer,
                 related=related, kind=kind)


def _refuse(message: str) -> ValidationError:
    return ValidationError({NON_FIELD_ERRORS: [message]})


def _day(value: dt.date) -> str:
    return formats.date_format(value, "DATE_FORMAT")




@transaction.atomic
def customer_claim(*, tenant: Tenant, actor: Staff, customer: Customer, note: str = "") -> Customer:
    """`actor` claims `customer` from the public pool (or someone else's whose protection has
    ended). Refusals are non-field ValidationErrors and change nothing:

    * the customer is already the actor's, or someone else holds it inside protection (when
      they took it while the actor was looking: "already claimed by …");
    * the actor lost this customer less than `reclaim_after_days` ago (the last ownership
      change that took it from them);
    * the actor already claimed `daily_claim_cap` customers today (tenant's time zone);
    * the actor already owns `max_customers_per_owner` customers.

    Locks the actor's staff row (so the caps hold under concurrency) and the customer row (so
    two claims at once give one owner)."""
    from apps.notifications.services import notify

    with tenant_context(tenant):
        _require_registrar(actor)
        seen_owner_id = customer.owner_id
        _lock_staff(actor)
        locked = _locked(customer.pk)
        if locked is None:
            raise ValidationError({"customer": [_("Unknown customer.")]})
        today = tenant_today(tenant)
        policy = policy_for(tenant, today)
        previous = Staff.objects.filter(pk=locked.owner_id).first() if locked.owner_id else None
        if locked.owner_id == actor.pk:
            raise _refuse(_("This customer is already yours."))
        last = local_date(tenant, locked.last_contact_at)
        if previous is not None and is_protected(last, today, policy):
            if seen_owner_id != locked.owner_id:
                raise _refuse(_("%(owner)s has already claimed this customer.")
                              % {"owner": previous.name})
            raise _refuse(_("This customer is protected by %(owner)s until %(date)s; register "
                            "the customer to open a dispute instead.")
                          % {"owner": previous.name, "date": _day(protection_end(last, policy))})
        lost = (OwnershipChange.objects.filter(customer_id=locked.pk, from_owner_id=actor.pk)
                .order_by("-at", "-id").values_list("at", flat=True).first())
        if lost is not None:
            lost_on = local_date(tenant, lost)
            allowed = lost_on + dt.timedelta(days=policy.reclaim_after_days)
            if today < allowed:
                raise _refuse(_("You lost this customer on %(lost)s; you may claim it back from "
                                "%(allowed)s.") % {"lost": _day(lost_on), "allowed": _day(allowed)})
        if policy.daily_claim_cap is not None:
            claimed = OwnershipChange.objects.filter(
                to_owner_id=actor.pk, reason=OwnershipChange.Reason.CLAIM,
                at__gte=local_midnight(tenant, today)).count()
            if claimed >= policy.daily_claim_cap:
                raise _refuse(_("You have already claimed %(count)s customers today; the limit "
                                "is %(cap)s a day.") % {"count": claimed,
                                                        "cap": policy.daily_claim_cap})
        if policy.max_customers_per_owner is not None:
            owned = Customer.objects.filter(owner_id=actor.pk).count()
            if owned >= policy.max_customers_per_owner:
                raise _refuse(_("You already own %(count)s customers; the limit is %(cap)s.")
                              % {"count": owned, "cap": policy.max_customers_per_owner})
        customer = customer_owner_set(tenant=tenant, actor=actor, customer=locked, owner=actor,
                                      reason=OwnershipChange.Reason.CLAIM, note=(note or "").strip(),
                                      policy_version=policy.version or None)
        if previous is not None:
            notify(tenant=tenant, recipients=[previous], kind="ownership",
                   title=lazy_format(gettext_lazy("%(name)s claimed %(customer)s after your "
                                                   "protection ended"),
                                      {"name": actor.name, "customer": customer.name}),
                   target=customer, exclude=actor)
        return customer
