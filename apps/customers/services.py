"""Every write to customers and their relations. Keyword-only, one transaction, audited.

Validation lives here (not in forms or serializers) so the web pages, the API and the admin
import all refuse the same things with the same field-keyed ValidationError."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record, diff
from apps.core.identity import id_birth_date, mask_id_number, normalize_id_number, normalize_phone
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from .models import Customer, CustomerRelation, OwnershipChange, TeamCustomerCount
from .selectors import (
    assignable_owners,
    assignable_teams,
    can_write_customers,
    editable_customers,
    relations_of,
    visible_customers,
)

#: The fields `customer_update` accepts.
EDITABLE_FIELDS = ("name", "phone", "id_number", "gender", "birthday", "address", "source", "grade",
                   "tags", "notes", "owner", "team")


def team_of(staff: Staff | None) -> Team | None:
    """The staff member's team (None for nobody or no team)."""
    return staff.team if staff is not None else None


def _require_writer(actor: Staff | None) -> None:
    if actor is not None and not can_write_customers(actor):
        raise PermissionDenied(_("You may not change customers."))


def _normalized(errors: dict, field: str, func, value):
    try:
        return func(value)
    except ValidationError as exc:
        errors[field] = exc.messages
        return value


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.replace("，", ",").split(",")
    out: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if tag and tag not in out:
            out.append(tag)
    return out


#: field -> (message for who may not see the duplicate, ... who may: no owner, ... with owner)
DUPLICATE_MESSAGES = {
    "phone": (
        gettext_lazy("This mobile number is already registered."),
        gettext_lazy("This mobile number is already registered to %(customer)s, who has no owner."),
        gettext_lazy("This mobile number is already registered to %(customer)s, owned by %(owner)s."),
    ),
    "id_number": (
        gettext_lazy("This ID number is already registered."),
        gettext_lazy("This ID number is already registered to %(customer)s, who has no owner."),
        gettext_lazy("This ID number is already registered to %(customer)s, owned by %(owner)s."),
    ),
}


def _duplicate_message(actor: Staff | None, duplicate: Customer, field: str) -> str:
    """Name the customer and owner only to someone who may see that customer."""
    hidden, unowned, owned = DUPLICATE_MESSAGES[field]
    if actor is not None and not visible_customers(actor).filter(pk=duplicate.pk).exists():
        return str(hidden)
    if duplicate.owner is None:
        return unowned % {"customer": duplicate.name}
    return owned % {"customer": duplicate.name, "owner": duplicate.owner.name}


def _check_duplicates(errors: dict, actor: Staff | None, *, phone: str, id_number: str,
                      exclude_pk: int | None = None) -> None:
    others = Customer.objects.select_related("owner")
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if "phone" not in errors and phone:
        dup = others.filter(phone=phone).first()
        if dup is not None:
            errors["phone"] = [_duplicate_message(actor, dup, "phone")]
    if "id_number" not in errors and id_number:
        dup = others.filter(id_number=id_number).first()
        if dup is not None:
            errors["id_number"] = [_duplicate_message(actor, dup, "id_number")]


def _check_birthday(errors: dict, id_number: str, birthday):
    """Fill the birthday from the ID number, or refuse one that contradicts it."""
    if "id_number" in errors or not id_number:
        return birthday
    born = id_birth_date(id_number)
    if birthday is None:
        return born
    if birthday != born:
        errors["birthday"] = [_("The birthday does not match the ID number.")]
    return birthday


def _check_owner(errors: dict, tenant: Tenant, actor: Staff | None, owner: Staff | None) -> None:
    if owner is None:
        return
    if owner.tenant_id != tenant.pk or not owner.active:
        errors["owner"] = [_("Unknown staff member.")]
        return
    if actor is None:
        return
    if owner.pk == actor.pk and actor.has_role(Role.SALES):
        return
    if not assignable_owners(actor).filter(pk=owner.pk).exists():
        errors["owner"] = [_("You may not make %(name)s the owner of a customer.") % {"name": owner.name}]


def _check_team(errors: dict, tenant: Tenant, actor: Staff | None, team: Team | None,
                derived: Team | None) -> None:
    """A team other than the one that follows from the owner needs the right to assign it."""
    if team is None:
        return
    if team.tenant_id != tenant.pk:
        errors["team"] = [_("Unknown team.")]
        return
    if actor is None or (derived is not None and team.pk == derived.pk):
        return
    if not assignable_teams(actor).filter(pk=team.pk).exists():
        errors["team"] = [_("You may not put customers in the team %(name)s.") % {"name": team.name}]


def _full_clean(errors: dict, customer: Customer) -> None:
    # A TextField's max_length only sizes form widgets; enforce it like a CharField's.
    for field in customer._meta.concrete_fields:
        if isinstance(field, models.TextField) and field.max_length and field.name not in errors:
            try:
                MaxLengthValidator(field.max_length)(getattr(customer, field.attname) or "")
            except ValidationError as exc:
                errors[field.name] = exc.messages
    try:
        # Uniqueness is checked above with a message that respects visibility.
        customer.full_clean(exclude=["tenant", *errors], validate_unique=False,
                            validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)


def _save(customer: Customer, actor: Staff | None, *, exclude_pk: int | None = None) -> None:
    """Save; a concurrent registration of the same phone/ID becomes a field error."""
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        errors: dict = {}
        _check_duplicates(errors, actor, phone=customer.phone, id_number=customer.id_number,
                          exclude_pk=exclude_pk)
        if not errors:
            raise
        raise ValidationError(errors)


def _editable_or_denied(actor: Staff | None, customer: Customer, *, lock: bool = False) -> Customer:
    """The customer freshly read (locked with `lock`), if `actor` may change it."""
    base = editable_customers(actor) if actor is not None else Customer.objects.all()
    if lock:
        base = base.select_for_update()
    try:
        return base.get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise PermissionDenied(_("You may not change this customer."))


def _snapshot(customer: Customer) -> dict:
    return {f: getattr(customer, f) for f in EDITABLE_FIELDS}


@transaction.atomic
def customer_create(*, tenant: Tenant, actor: Staff | None, name: str, phone: str,
                    id_number: str = "", gender: str = "", birthday=None, address: str = "",
                    source: str = Customer.Source.WALK_IN, grade: str = "",
                    tags: Iterable[str] = (), notes: str = "", owner: Staff | None = None,
                    team: Team | None = None,
                    ownership_reason: str = OwnershipChange.Reason.REGISTRATION,
                    ownership_note: str = "", policy_version: int | None = None,
                    owner_by_rule: bool = False) -> Customer:
    """Register a customer.

    The owner defaults to the actor when the actor is a salesperson; the team to the owner's
    team (or, for an unowned customer, the actor's team). Phone and ID number are normalised;
    a phone or ID already registered in the tenant is a field error that names the customer
    and owner only if the actor may see that customer. `owner_by_rule`: the caller's rules
    decided the owner (walk-in routing), so whether the actor may assign owners is not asked."""
    with tenant_context(tenant):
        _require_writer(actor)
        errors: dict = {}
        phone = _normalized(errors, "phone", normalize_phone, phone)
        id_number = _normalized(errors, "id_number", normalize_id_number, id_number)
        birthday = _check_birthday(errors, id_number, birthday)
        if owner is None and actor is not None and actor.has_role(Role.SALES):
            owner = actor
        _check_owner(errors, tenant, None if owner_by_rule else actor, owner)
        if owner is not None and "owner" not in errors:
            derived = team_of(owner)
        else:
            derived = team_of(actor)
        _check_team(errors, tenant, actor, team, derived)
        if team is None:
            team = derived
        _check_duplicates(errors, actor, phone=phone, id_number=id_number)
        now = timezone.now()
        customer = Customer(
            tenant=tenant, name=(name or "").strip(), phone=phone, id_number=id_number,
            gender=gender or "", birthday=birthday, address=(address or "").strip(),
            source=source or Customer.Source.WALK_IN, grade=grade or "", tags=clean_tags(tags),
            notes=(notes or "").strip(), owner=owner, team=team, created_by=actor,
            last_contact_at=now, owned_since=now if owner is not None else None,
            released_at=None if owner is not None else now)
        _full_clean(errors, customer)
        if errors:
            raise ValidationError(errors)
        _save(customer, actor)
        audit_record(tenant=tenant, actor=actor, action="customer.create", target=customer,
                     changes=_snapshot(customer))
        if owner is not None:
            OwnershipChange.objects.create(
                tenant=tenant, customer=customer, from_owner=None, to_owner=owner,
                reason=ownership_reason, note=ownership_note, actor=actor, at=now,
                policy_version=policy_version)
        return customer


def _apply_owner(customer: Customer, owner: Staff | None, at, *, previous: Staff | None) -> None:
    """The ownership fields that follow a change of owner (not saved).

    A new owner starts a fresh protection window (the change is their first contact); a
    customer without an owner is in the public pool from `at`."""
    if previous is not None and previous != owner:
        customer.previous_owner = previous
    customer.owner = owner
    if owner is not None:
        customer.owned_since = at
        customer.last_contact_at = at
        customer.released_at = None
    else:
        customer.owned_since = None
        customer.released_at = at


@transaction.atomic
def customer_owner_set(*, tenant: Tenant, actor: Staff | None, customer: Customer,
                       owner: Staff | None, reason: str, note: str = "", team: Team | None = None,
                       at=None, policy_version: int | None = None,
                       dispute_id: int | None = None) -> Customer:
    """Move one customer to `owner` (None: the public pool) and record why.

    The primitive under every ownership rule (claim, release, dispute decision, walk-in,
    reassignment): the callers in apps.ownership / apps.disputes decide *whether* the change is
    allowed; this only applies it, locked, with the history row and the audit entry. The team
    follows the new owner (or is `team` when given); a customer released to the pool keeps it."""
    with tenant_context(tenant):
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before = customer.owner
        at = at or timezone.now()
        new_team = team if team is not None else (team_of(owner) if owner is not None
                                                  and owner.team_id else customer.team)
        changes = diff(customer, {"owner": owner, "team": new_team})
        _apply_owner(customer, owner, at, previous=before)
        customer.team = new_team
        customer.save(update_fields=["owner", "team", "previous_owner", "owned_since",
                                     "last_contact_at", "released_at", "updated_at"])
        OwnershipChange.objects.create(
            tenant=tenant, customer=customer, from_owner=before, to_owner=owner, reason=reason,
            note=note, actor=actor, at=at, policy_version=policy_version, dispute_id=dispute_id)
        audit_record(tenant=tenant, actor=actor, action=f"customer.owner.{reason}",
                     target=customer, changes=changes, reason=note)
        return customer


@transaction.atomic
def customer_update(*, tenant: Tenant, actor: Staff | None, customer: Customer,
                    **fields) -> Customer:
    """Change some of EDITABLE_FIELDS of a customer the actor may change; audited with a diff.

    A new owner brings the customer into the owner's team unless `team` is given too. An
    `id_number` equal to the masked current one (what non-admins are shown) means "unchanged"."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_update() got unexpected fields: {', '.join(sorted(unknown))}")
    with tenant_context(tenant):
        _require_writer(actor)
        customer = _editable_or_denied(actor, customer, lock=True)
        errors: dict = {}
        data = dict(fields)
        if "phone" in data:
            data["phone"] = _normalized(errors, "phone", normalize_phone, data["phone"])
        if "id_number" in data:
            if customer.id_number and data["id_number"] == mask_id_number(customer.id_number):
                data["id_number"] = customer.id_number
            data["id_number"] = _normalized(errors, "id_number", normalize_id_number,
                                            data["id_number"])
        if "id_number" in data or "birthday" in data:
            birthday = _check_birthday(errors, data.get("id_number", customer.id_number),
                                       data.get("birthday", customer.birthday))
            if birthday != customer.birthday or "birthday" in data:
                data["birthday"] = birthday
        for key in ("name", "address", "notes"):
            if key in data:
                data[key] = (data[key] or "").strip()
        for key in ("gender", "grade"):
            if key in data and data[key] is None:
                data[key] = ""
        if "tags" in data:
            data["tags"] = clean_tags(data["tags"])
        owner_changed = "owner" in data and data["owner"] != customer.owner
        if owner_changed:
            _check_owner(errors, tenant, actor, data["owner"])
            if ("team" not in data and "owner" not in errors and data["owner"] is not None
                    and data["owner"].team_id):
                data["team"] = team_of(data["owner"])
        if "team" in data and data["team"] != customer.team:
            new_owner = data.get("owner", customer.owner)
            _check_team(errors, tenant, actor, data["team"],
                        team_of(new_owner))
        _check_duplicates(errors, actor, phone=data.get("phone", customer.phone),
                          id_number=data.get("id_number", customer.id_number),
                          exclude_pk=customer.pk)
        changes = {} if errors else diff(customer, data)
        owner_before = customer.owner
        for field, value in data.items():
            setattr(customer, field, value)
        _full_clean(errors, customer)
        if errors:
            raise ValidationError(errors)
        if changes:
            if "owner" in changes:
                _apply_owner(customer, customer.owner, timezone.now(), previous=owner_before)
            _save(customer, actor, exclude_pk=customer.pk)
            audit_record(tenant=tenant, actor=actor, action="customer.update", target=customer,
                         changes=changes)
            if "owner" in changes:
                OwnershipChange.objects.create(
                    tenant=tenant, customer=customer, from_owner=owner_before,
                    to_owner=customer.owner, reason=OwnershipChange.Reason.REASSIGNMENT,
                    actor=actor, at=customer.owned_since or timezone.now())
        return customer


@transaction.atomic
def relation_add(*, tenant: Tenant, actor: Staff | None, customer: Customer,
                 related: Customer | None, kind: str) -> CustomerRelation:
    """Record that `customer` is the `kind` of `related` (e.g. the spouse of)."""
    with tenant_context(tenant):
        _require_writer(actor)
        customer = _editable_or_denied(actor, customer)
        errors: dict = {}
        if kind not in CustomerRelation.Kind.values:
            errors["kind"] = [_("Choose a kind of relation.")]
        base = visible_customers(actor) if actor is not None else Customer.objects.all()
        if related is None or not base.filter(pk=related.pk).exists():
            errors["related"] = [_("Unknown customer.")]
        elif related.pk == customer.pk:
            errors["related"] = [_("A customer cannot be related to themselves.")]
        elif CustomerRelation.objects.filter(
                customer__in=[customer.pk, related.pk], related__in=[customer.pk, related.pk]).exists():
            errors["related"] = [_("These two customers are already related.")]
        if errors:
            raise ValidationError(errors)
        relation = CustomerRelation(tenant=tenant, customer=customer, related=related, kind=kind,
                                    created_by=actor)
        try:
            with transaction.atomic():
                relation.save()
        except IntegrityError:
            raise ValidationError({"related": [_("These two customers are already related.")]})
        audit_record(tenant=tenant, actor=actor, action="customer.relation_add", target=customer,
                     changes={"relation": relation.pk, "related": related.pk, "kind": kind})
        return relation


@transaction.atomic
def relation_remove(*, tenant: Tenant, actor: Staff | None, customer: Customer,
                    relation: CustomerRelation) -> None:
    """Remove a relation of `customer` (either direction)."""
    with tenant_context(tenant):
        _require_writer(actor)
        customer = _editable_or_denied(actor, customer)
        relation = relations_of(customer).select_for_update().filter(pk=relation.pk).first()
        if relation is None:
            raise ValidationError({"relation": [_("Unknown relation.")]})
        other_id = relation.related_id if relation.customer_id == customer.pk else relation.customer_id
        changes = {"relation": relation.pk, "related": other_id, "kind": relation.kind,
                   "direction": "outgoing" if relation.customer_id == customer.pk else "incoming"}
        relation.delete()
        audit_record(tenant=tenant, actor=actor, action="customer.relation_remove", target=customer,
                     changes=changes)


@transaction.atomic
def team_customer_counts_record(*, tenant: Tenant, day: dt.date) -> int:
    """The snapshot of `day`: one row per team, plus one with team=None for unassigned
    customers. Idempotent: a row is written only when its count changed, so a second run on
    the same day leaves every row as it was. Returns how many rows it wrote."""
    with tenant_context(tenant):
        counts: dict[int | None, int] = {pk: 0 for pk in Team.objects.values_list("pk", flat=True)}
        counts[None] = 0
        for row in Customer.objects.order_by().values("team_id").annotate(n=Count("id")):
            counts[row["team_id"]] = row["n"]
        existing = {row.team_id: row for row in TeamCustomerCount.objects.filter(day=day)}
        written = 0
        for team_id, n in counts.items():
            row = existing.get(team_id)
            if row is not None and row.customers == n:
                continue
            TeamCustomerCount.objects.update_or_create(
                tenant=tenant, team_id=team_id, day=day, defaults={"customers": n})
            written += 1
        return written
