"""Every write to disputes (撞单). Keyword-only, one transaction, audited, notified.

A dispute is opened by the registration service when a salesperson meets a customer someone
else holds inside the protection window; the parties may agree a split, the team's manager
approves it or decides, an administrator decides what was escalated to the company. The state
machine and who may take each step are apps.disputes.rules (TRANSITIONS, ACTORS); each step locks
the dispute row first (`select_for_update`), so of two managers deciding at the same moment the
second sees the first's decision and is refused with "already decided"; nothing else changes.

Applying an outcome (approve, decide) replaces the customer's active credit shares
(apps.ownership.models.OwnershipShare, read by the deals issue through
apps.disputes.selectors.credit_shares) and moves the customer record with
apps.customers.services.customer_owner_set when the record owner changes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import filetype
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record
from apps.core.i18n import lazy_format
from apps.customers.models import Customer, OwnershipChange
from apps.customers.services import customer_owner_set
from apps.notifications.services import notify
from apps.ownership.models import OwnershipShare
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant

from . import rules
from .models import Dispute, DisputeEvidence, DisputeShare
from .selectors import relations_to, team_managers, tenant_admins

NOTE_MAX = 2000
EVIDENCE_NOTE_MAX = 200

#: Content type detected from the bytes -> the file name endings that may go with it.
EVIDENCE_TYPES = {
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "image/webp": ("webp",),
    "image/gif": ("gif",),
    "application/pdf": ("pdf",),
}

#: The title of the notification each step sends.
TITLES = {
    "open": gettext_lazy("New dispute over %(customer)s"),
    rules.PROPOSE: gettext_lazy("Split proposed in the dispute over %(customer)s"),
    rules.REJECT: gettext_lazy("Proposed split rejected in the dispute over %(customer)s"),
    rules.APPROVE: gettext_lazy("Split approved in the dispute over %(customer)s"),
    rules.DECIDE: gettext_lazy("Dispute over %(customer)s decided"),
    rules.ESCALATE: gettext_lazy("Dispute over %(customer)s escalated to the company"),
    rules.WITHDRAW: gettext_lazy("Dispute over %(customer)s withdrawn"),
    rules.EVIDENCE: gettext_lazy("New evidence in the dispute over %(customer)s"),
}


def dispute_url(dispute: Dispute) -> str:
    return reverse("disputes:detail", args=[dispute.pk])


def _notify(tenant: Tenant, actor: Staff | None, dispute: Dispute, step: str, recipients,
            body="") -> None:
    notify(tenant=tenant, recipients=recipients, kind="dispute",
           title=lazy_format(TITLES[step], {"customer": dispute.customer.name}),
           body=body, url=dispute_url(dispute), target=dispute, exclude=actor)


def _parties(dispute: Dispute) -> list[Staff]:
    return [dispute.owner, dispute.claimant]


def _lock(dispute: Dispute) -> Dispute:
    """The dispute row, locked until the end of the transaction (the serialisation point of
    every step), with what the steps read."""
    return (Dispute.objects.select_for_update(of=("self",))
            .select_related("customer", "owner", "claimant", "team")
            .get(pk=dispute.pk))


def _check_step(actor: Staff, dispute: Dispute, action: str) -> None:
    """Refuse a step the state machine does not allow now (ValidationError: nothing changes),
    then one the actor may not take (PermissionDenied)."""
    error = rules.transition_error(action, dispute.status)
    if error is not None:
        raise ValidationError({NON_FIELD_ERRORS: [error]}, code="transition")
    error = rules.role_error(action, dispute.status, relations_to(actor, dispute))
    if error is not None:
        raise PermissionDenied(str(error))


def _clean_text(errors: dict, key: str, value: str, *, required=None, limit=NOTE_MAX) -> str:
    value = (value or "").strip()
    if required is not None and not value:
        errors[key] = [required]
    elif len(value) > limit:
        errors[key] = [_("At most %(max)s characters (%(count)s entered).")
                       % {"max": limit, "count": len(value)}]
    return value


def _side_of(dispute: Dispute, staff) -> str | None:
    pk = staff.pk if isinstance(staff, Staff) else staff
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    if pk == dispute.owner_id:
        return rules.OWNER
    if pk == dispute.claimant_id:
        return rules.CLAIMANT
    return None


def _side_shares(dispute: Dispute, shares: Mapping) -> tuple[dict[str, Decimal] | None, list]:
    """{staff or staff id: percent} as {side: Decimal} (a party left out has 0), or the errors."""
    by_side: dict[str, object] = {}
    for key, percent in shares.items():
        side = _side_of(dispute, key) or "other"
        if side in by_side and side != "other":
            return None, [_("Give each party's share once.")]
        by_side[side] = percent
    errors = rules.split_errors(by_side)
    if errors:
        return None, errors
    out = {side: rules.parse_percent(by_side.get(side, 0)) for side in rules.SIDES}
    return out, []


def _staff_of(dispute: Dispute, side: str) -> Staff:
    return dispute.owner if side == rules.OWNER else dispute.claimant


def _shares_audit(dispute: Dispute, side_shares: Mapping[str, Decimal]) -> dict:
    return {str(_staff_of(dispute, side).pk): str(pct) for side, pct in side_shares.items()}


# --------------------------------------------------------------------------- open


def _active_for(customer: Customer, claimant: Staff) -> Dispute | None:
    return (Dispute.objects.filter(customer=customer, claimant=claimant,
                                   status__in=Dispute.ACTIVE_STATUSES).first())


@transaction.atomic
def dispute_open(*, tenant: Tenant, actor: Staff | None, customer: Customer, claimant: Staff,
                 claim: str = "") -> Dispute:
    """Open a dispute: `claimant` met `customer`, whom somebody else owns (inside the
    protection window: the caller, the registration service, has checked that).

    The parties: `owner` = the customer's current owner, `team` = the owner's team (else the
    customer's). Returns the active dispute of the same customer and claimant when there is one
    (a second collision joins it; a concurrent one too, through the partial unique constraint).
    Audited; the owner and the team's managers are notified."""
    with tenant_context(tenant):
        customer = Customer.objects.select_related("owner", "owner__team", "team").get(
            pk=customer.pk)
        owner = customer.owner
        if owner is None:
            raise ValidationError({"customer": [_("This customer has no owner: there is "
                                                  "nothing to dispute.")]})
        if claimant is None or claimant.tenant_id != tenant.pk:
            raise ValidationError({"claimant": [_("Unknown staff member.")]})
        if claimant.pk == owner.pk:
            raise ValidationError({"claimant": [_("The claimant already owns this customer.")]})
        errors: dict = {}
        claim = _clean_text(errors, "claim", claim)
        if errors:
            raise ValidationError(errors)
        existing = _active_for(customer, claimant)
        if existing is not None:
            return existing
        team = owner.team if owner.team_id else customer.team
        try:
            with transaction.atomic():  # a savepoint: the unique constraint may refuse it
                dispute = Dispute.objects.create(
                    tenant=tenant, customer=customer, owner=owner, claimant=claimant, team=team,
                    claim=claim, opened_by=actor)
        except IntegrityError:
            # The same claimant's collision opened it a moment ago in another transaction.
            existing = _active_for(customer, claimant)
            if existing is None:
                raise
            return existing
        audit_record(tenant=tenant, actor=actor, action="dispute.open", target=dispute,
                     changes={"customer": customer, "owner": owner, "claimant": claimant,
                              "team": team, "status": dispute.status},
                     reason=claim)
        _notify(tenant, actor, dispute, "open", [owner, *team_managers(dispute.team_id)],
                body=lazy_format(gettext_lazy("%(claimant)s met %(customer)s, owned by "
                                              "%(owner)s."),
                                 {"claimant": claimant.name, "customer": customer.name,
                                  "owner": owner.name}))
        return dispute


# --------------------------------------------------------------------------- propose / reject


@transaction.atomic
def dispute_propose(*, tenant: Tenant, actor: Staff, dispute: Dispute, shares: Mapping,
                    note: str = "") -> Dispute:
    """A party proposes the split both parties agreed on: `shares` = {staff (or id): percent}
    with only the two parties, each ≥ 0, summing to exactly 100 (a party left out has 0).
    open → proposed; the other party may reject it, the team's manager approves it."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.PROPOSE)
        errors: dict = {}
        note = _clean_text(errors, "note", note)
        side_shares, share_errors = _side_shares(dispute, shares or {})
        if share_errors:
            errors["shares"] = share_errors
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        DisputeShare.objects.filter(dispute=dispute, stage=DisputeShare.Stage.PROPOSED).delete()
        DisputeShare.objects.bulk_create([
            DisputeShare(tenant=tenant, dispute=dispute, stage=DisputeShare.Stage.PROPOSED,
                         staff=_staff_of(dispute, side), percent=pct)
            for side, pct in side_shares.items()])
        before = dispute.status
        dispute.status = rules.next_status(rules.PROPOSE, before)
        dispute.proposed_by, dispute.proposed_at, dispute.proposal_note = actor, now, note
        dispute.save(update_fields=["status", "proposed_by", "proposed_at", "proposal_note",
                                    "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="dispute.propose", target=dispute,
                     changes={"status": [before, dispute.status],
                              "shares": _shares_audit(dispute, side_shares)},
                     reason=note)
        _notify(tenant, actor, dispute, rules.PROPOSE,
                [*_parties(dispute), *team_managers(dispute.team_id)], body=note)
        return dispute


@transaction.atomic
def dispute_reject_proposal(*, tenant: Tenant, actor: Staff, dispute: Dispute,
                            note: str = "") -> Dispute:
    """The party who did not propose the split rejects it: proposed → open."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.REJECT)
        errors: dict = {}
        note = _clean_text(errors, "note", note)
        if errors:
            raise ValidationError(errors)
        proposed = DisputeShare.objects.filter(dispute=dispute,
                                               stage=DisputeShare.Stage.PROPOSED)
        rejected = {str(s.staff_id): str(s.percent) for s in proposed}
        proposer = dispute.proposed_by
        proposed.delete()
        before = dispute.status
        dispute.status = rules.next_status(rules.REJECT, before)
        dispute.proposed_by, dispute.proposed_at, dispute.proposal_note = None, None, ""
        dispute.save(update_fields=["status", "proposed_by", "proposed_at", "proposal_note",
                                    "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="dispute.reject", target=dispute,
                     changes={"status": [before, dispute.status], "shares": rejected},
                     reason=note)
        _notify(tenant, actor, dispute, rules.REJECT,
                [proposer, *_parties(dispute), *team_managers(dispute.team_id)], body=note)
        return dispute


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Decision:
    """A decision checked and resolved: what `dispute_decide` applies and the confirmation
    page shows."""

    outcome: str
    shares: dict[str, Decimal]      # side -> percent ({} when confiscated)
    record_owner: str | None        # side keeping the customer record; None: it stays put
    rule: str = ""
    rule_params: dict = field(default_factory=dict)
    note: str = ""

    def staff_shares(self, dispute: Dispute) -> list[tuple[Staff, Decimal]]:
        return [(_staff_of(dispute, side), pct) for side, pct in self.shares.items()]

    def record_owner_staff(self, dispute: Dispute) -> Staff | None:
        """The party who gets the record, or None when it stays with the current owner."""
        return None if self.record_owner is None else _staff_of(dispute, self.record_owner)


def _resolve_decision(dispute: Dispute, *, outcome, shares, rule, decided_owner, rule_params,
                      note, evidence_count: int) -> Decision:
    errors: dict = {}
    note = _clean_text(errors, "note", note,
                       required=_("Give the reasons for the decision."))
    outcome = outcome or ""
    rule = rule or ""
    record_side = None
    if decided_owner not in (None, ""):
        record_side = _side_of(dispute, decided_owner)
        if record_side is None:
            errors["decided_owner"] = [_("The customer record can only go to one of the two "
                                         "parties.")]
    side_shares = None
    if shares:
        side_shares, share_errors = _side_shares(dispute, shares)
        if share_errors:
            errors["shares"] = share_errors
    params: dict = {}
    if outcome and outcome not in rules.OUTCOMES:
        errors["outcome"] = [_("Unknown outcome.")]
    elif rule:
        decision, rule_errors = rules.rule_decision(rule, rule_params,
                                                    evidence_count=evidence_count)
        if rule_errors:
            errors.update(rule_errors)
        else:
            label = rules.DEFAULT_RULES[rule].label
            if outcome and outcome != decision.outcome:
                errors["outcome"] = [_("The rule “%(rule)s” decides: %(outcome)s.") % {
                    "rule": label, "outcome": rules.OUTCOME_LABELS[decision.outcome]}]
            if (side_shares is not None and "shares" not in errors
                    and side_shares != decision.shares):
                errors["shares"] = [_("The shares differ from what the rule “%(rule)s” "
                                      "decides.") % {"rule": label}]
            if record_side is not None and record_side != decision.record_owner:
                errors["decided_owner"] = [_("The rule “%(rule)s” gives the customer record "
                                             "to %(name)s.") % {
                    "rule": label, "name": _staff_of(dispute, decision.record_owner).name}]
            outcome, side_shares = decision.outcome, decision.shares
            record_side, params = decision.record_owner, decision.params
    elif not outcome:
        errors["outcome"] = [_("Choose an outcome.")]
    else:
        if outcome == rules.SPLIT:
            if side_shares is None and "shares" not in errors:
                errors["shares"] = [_("Enter the share of each party.")]
        elif side_shares is not None:
            if outcome == rules.CONFISCATE:
                errors["shares"] = [_("Nobody earns credit when it is confiscated: leave the "
                                      "shares empty.")]
            elif side_shares != rules.shares_for(outcome):
                errors["shares"] = [_("An award gives 100% to the winner: leave the shares "
                                      "empty.")]
        if outcome in (rules.AWARD_OWNER, rules.AWARD_CLAIMANT) and record_side is not None \
                and record_side != rules.record_owner_side(outcome, None):
            errors["decided_owner"] = [_("The winner of an award keeps the customer record.")]
        if not errors:
            side_shares = rules.shares_for(outcome, side_shares)
            record_side = rules.record_owner_side(outcome, record_side)
    if not errors and record_side is not None:
        new_owner = _staff_of(dispute, record_side)
        if not new_owner.active and dispute.customer.owner_id != new_owner.pk:
            errors["decided_owner"] = [_("%(name)s has left: the customer record cannot go to "
                                         "them.") % {"name": new_owner.name}]
    if errors:
        raise ValidationError(errors)
    return Decision(outcome=outcome, shares=side_shares, record_owner=record_side, rule=rule,
                    rule_params=params, note=note)


def decision_check(*, tenant: Tenant, actor: Staff, dispute: Dispute, outcome: str = "",
                   shares: Mapping | None = None, rule: str = "", decided_owner=None,
                   note: str = "", rule_params: Mapping | None = None) -> Decision:
    """What `dispute_decide` with the same arguments would apply, or its refusal — without
    writing anything (the confirmation step of the decision page)."""
    with transaction.atomic(), tenant_context(tenant):
        dispute = (Dispute.objects.select_related("customer", "owner", "claimant", "team")
                   .get(pk=dispute.pk))
        _check_step(actor, dispute, rules.DECIDE)
        return _resolve_decision(dispute, outcome=outcome, shares=shares, rule=rule,
                                 decided_owner=decided_owner, rule_params=rule_params, note=note,
                                 evidence_count=dispute.evidence.count())


def _apply(tenant: Tenant, actor: Staff, dispute: Dispute, decision: Decision, now) -> Customer:
    """Replace the customer's active credit shares, record the decided ones, move the record
    (when the decision names a record owner other than the current one)."""
    customer = Customer.objects.select_for_update().get(pk=dispute.customer_id)
    OwnershipShare.objects.filter(customer=customer, active=True).update(active=False)
    common = {"tenant": tenant, "customer": customer, "dispute_id": dispute.pk,
              "rule": decision.rule, "created_by": actor, "created_at": now}
    if decision.outcome == rules.CONFISCATE:
        OwnershipShare.objects.create(staff=None, percent=Decimal("0"), confiscated=True,
                                      **common)
    else:
        OwnershipShare.objects.bulk_create([
            OwnershipShare(staff=staff, percent=pct, **common)
            for staff, pct in decision.staff_shares(dispute) if pct > 0])
    DisputeShare.objects.filter(dispute=dispute, stage=DisputeShare.Stage.DECIDED).delete()
    DisputeShare.objects.bulk_create([
        DisputeShare(tenant=tenant, dispute=dispute, stage=DisputeShare.Stage.DECIDED,
                     staff=staff, percent=pct)
        for staff, pct in decision.staff_shares(dispute)])
    new_owner = decision.record_owner_staff(dispute)
    if new_owner is not None and customer.owner_id != new_owner.pk:
        customer = customer_owner_set(tenant=tenant, actor=actor, customer=customer,
                                      owner=new_owner, reason=OwnershipChange.Reason.DISPUTE,
                                      note=decision.note, dispute_id=dispute.pk, at=now)
    return customer


def _close(tenant: Tenant, actor: Staff, dispute: Dispute, action: str,
           decision: Decision) -> Dispute:
    now = timezone.now()
    customer = _apply(tenant, actor, dispute, decision, now)
    before = dispute.status
    dispute.status = rules.next_status(action, before)
    dispute.outcome = decision.outcome
    dispute.rule = decision.rule
    dispute.decision_note = decision.note
    dispute.decided_owner = decision.record_owner_staff(dispute) or customer.owner
    dispute.decided_by, dispute.decided_at = actor, now
    dispute.save(update_fields=["status", "outcome", "rule", "decision_note", "decided_owner",
                                "decided_by", "decided_at", "updated_at"])
    changes = {"status": [before, dispute.status], "outcome": decision.outcome,
               "shares": _shares_audit(dispute, decision.shares),
               "decided_owner": dispute.decided_owner}
    if decision.rule:
        changes["rule"] = decision.rule
        changes.update(decision.rule_params)
    audit_record(tenant=tenant, actor=actor, action=f"dispute.{action}", target=dispute,
                 changes=changes, reason=decision.note)
    _notify(tenant, actor, dispute, action,
            [*_parties(dispute), *team_managers(dispute.team_id)], body=decision.note)
    return dispute


@transaction.atomic
def dispute_approve(*, tenant: Tenant, actor: Staff, dispute: Dispute, note: str = "") -> Dispute:
    """A manager of the dispute's team (or an administrator) approves the parties' proposed
    split: proposed → approved, the shares applied. The record stays with the owner unless the
    claimant gets everything."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.APPROVE)
        errors: dict = {}
        note = _clean_text(errors, "note", note)
        if errors:
            raise ValidationError(errors)
        proposed = {}
        for share in DisputeShare.objects.filter(dispute=dispute,
                                                 stage=DisputeShare.Stage.PROPOSED):
            side = _side_of(dispute, share.staff_id)
            if side is not None:
                proposed[side] = share.percent
        if rules.split_errors(proposed):  # pragma: no cover - checked when proposed
            raise ValidationError({NON_FIELD_ERRORS: [_("The proposed split is not valid any "
                                                         "more: decide the dispute instead.")]})
        for side in rules.SIDES:
            proposed.setdefault(side, Decimal("0"))
        outcome = rules.outcome_for_split(proposed)
        decision = Decision(outcome=outcome, shares=rules.shares_for(outcome, proposed),
                            record_owner=rules.record_owner_side(outcome, None),
                            note=note or dispute.proposal_note)
        return _close(tenant, actor, dispute, rules.APPROVE, decision)


@transaction.atomic
def dispute_decide(*, tenant: Tenant, actor: Staff, dispute: Dispute, outcome: str = "",
                   shares: Mapping | None = None, rule: str = "", decided_owner=None,
                   note: str, rule_params: Mapping | None = None) -> Dispute:
    """Decide: a manager of the dispute's team on an open or proposed dispute, an
    administrator on any active one (only an administrator on an escalated one) → decided.

    `outcome`: award_owner / award_claimant (the customer moves to the claimant) / split
    (`shares` = {staff or id: percent}, the two parties, each ≥ 0, summing to 100) /
    confiscate (nobody earns credit). `decided_owner` (a party) gets the customer record after
    a split or confiscation (default: it stays with the customer's current owner).
    `rule`: a code of rules.DEFAULT_RULES, which then fixes the decision from `rule_params`
    ({"winner": "owner"|"claimant"}, {"revisit": "within"|"after"}, {"units": n}):
    `outcome`/`shares`/`decided_owner` may be left out, and are refused when they contradict
    the rule. `note` (the reasons) is required."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.DECIDE)
        decision = _resolve_decision(dispute, outcome=outcome, shares=shares, rule=rule,
                                     decided_owner=decided_owner, rule_params=rule_params,
                                     note=note, evidence_count=dispute.evidence.count())
        return _close(tenant, actor, dispute, rules.DECIDE, decision)


# --------------------------------------------------------------------------- escalate / withdraw


@transaction.atomic
def dispute_escalate(*, tenant: Tenant, actor: Staff, dispute: Dispute, reason: str) -> Dispute:
    """A party or the team's manager sends the dispute to the company (open/proposed →
    escalated): from then on only an administrator decides it. The administrators are
    notified."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.ESCALATE)
        errors: dict = {}
        reason = _clean_text(errors, "reason", reason,
                             required=_("Say why the dispute goes to the company."))
        if errors:
            raise ValidationError(errors)
        before = dispute.status
        dispute.status = rules.next_status(rules.ESCALATE, before)
        dispute.escalated_by, dispute.escalated_at = actor, timezone.now()
        dispute.escalation_reason = reason
        dispute.save(update_fields=["status", "escalated_by", "escalated_at",
                                    "escalation_reason", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="dispute.escalate", target=dispute,
                     changes={"status": [before, dispute.status]}, reason=reason)
        _notify(tenant, actor, dispute, rules.ESCALATE,
                [*_parties(dispute), *team_managers(dispute.team_id), *tenant_admins()],
                body=reason)
        return dispute


@transaction.atomic
def dispute_withdraw(*, tenant: Tenant, actor: Staff, dispute: Dispute, note: str = "") -> Dispute:
    """The claimant gives up (open/proposed → withdrawn): the customer stays as it is."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.WITHDRAW)
        errors: dict = {}
        note = _clean_text(errors, "note", note)
        if errors:
            raise ValidationError(errors)
        before = dispute.status
        dispute.status = rules.next_status(rules.WITHDRAW, before)
        dispute.save(update_fields=["status", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="dispute.withdraw", target=dispute,
                     changes={"status": [before, dispute.status]}, reason=note)
        _notify(tenant, actor, dispute, rules.WITHDRAW,
                [*_parties(dispute), *team_managers(dispute.team_id)], body=note)
        return dispute


# --------------------------------------------------------------------------- evidence


def _evidence_errors(file) -> tuple[str, str, list]:
    """(content type, ending, errors) of an uploaded file, from its bytes and name."""
    name = os.path.basename(getattr(file, "name", "") or "").strip()
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    size = getattr(file, "size", None)
    if not size:
        return "", ext, [_("The file is empty.")]
    limit = settings.EVIDENCE_MAX_BYTES
    if size > limit:
        return "", ext, [_("The file is too large (%(size)s): at most %(max)s.") % {
            "size": filesizeformat(size), "max": filesizeformat(limit)}]
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    kind = filetype.guess(bytes(head))
    allowed = _("Only images (JPEG, PNG, WebP, GIF) and PDF files can be attached.")
    if kind is None or kind.mime not in EVIDENCE_TYPES:
        return "", ext, [allowed]
    if ext not in EVIDENCE_TYPES[kind.mime]:
        return kind.mime, ext, [_("The file name ends in “.%(ext)s” but the file is a "
                                  "%(type)s file: rename it or attach the right file.") % {
            "ext": ext, "type": EVIDENCE_TYPES[kind.mime][0].upper()}]
    return kind.mime, ext, []


@transaction.atomic
def evidence_add(*, tenant: Tenant, actor: Staff, dispute: Dispute, file,
                 note: str = "") -> DisputeEvidence:
    """Attach a file to an active dispute (a party, the team's manager or an administrator):
    JPEG/PNG/WebP/GIF images and PDF only, recognised from the content (the name's ending must
    agree), not empty, at most settings.EVIDENCE_MAX_BYTES. Refusals are errors on "file"
    and nothing is stored."""
    with tenant_context(tenant):
        dispute = _lock(dispute)
        _check_step(actor, dispute, rules.EVIDENCE)
        errors: dict = {}
        note = _clean_text(errors, "note", note, limit=EVIDENCE_NOTE_MAX)
        if file is None:
            errors["file"] = [_("Choose a file.")]
            content_type, ext = "", ""
        else:
            content_type, ext, file_errors = _evidence_errors(file)
            if file_errors:
                errors["file"] = file_errors
        if errors:
            raise ValidationError(errors)
        original = os.path.basename(file.name or "").strip()[:200] or f"evidence.{ext}"
        evidence = DisputeEvidence(tenant=tenant, dispute=dispute, original_name=original,
                                   content_type=content_type, size=file.size, note=note,
                                   uploaded_by=actor)
        evidence.file.save(f"evidence.{ext}", file, save=False)
        try:
            evidence.save()
            audit_record(tenant=tenant, actor=actor, action="dispute.evidence_add",
                         target=dispute,
                         changes={"evidence": evidence.pk, "file": original,
                                  "size": evidence.size},
                         reason=note)
            _notify(tenant, actor, dispute, rules.EVIDENCE,
                    [*_parties(dispute), *team_managers(dispute.team_id)],
                    body=original)
        except Exception:
            evidence.file.delete(save=False)
            raise
        return evidence
