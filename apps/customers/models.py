from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Right
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Staff, Team, TenantModel


class Customer(TenantModel):
    class Gender(models.TextChoices):
        UNKNOWN = "", _("Unknown")
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Source(models.TextChoices):
        WALK_IN = "walk_in", _("Walk-in")
        REFERRAL = "referral", _("Referral (old brings new)")
        CHANNEL = "channel", _("Channel")
        PHONE = "phone", _("Phone")
        ONLINE = "online", _("Online")
        OTHER = "other", _("Other")

    class Grade(models.TextChoices):
        NONE = "", _("Not graded")
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"
        D = "D", "D"

    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=11,
                             help_text=_("Mainland mobile number; +86, spaces and dashes are accepted."))
    # Stored, so that the last-four search can use a plain equality index under row-level
    # security (an index on RIGHT(phone, 4) is not usable there: RIGHT() is not leakproof).
    phone_last4 = models.GeneratedField(expression=Right("phone", 4),
                                        output_field=models.CharField(max_length=4), db_persist=True)
    id_number = models.CharField(_("resident ID number"), max_length=18, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices,
                              default=Source.WALK_IN)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    tags = ArrayField(models.CharField(max_length=20), verbose_name=_("tags"), default=list,
                      blank=True)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="owned_customers", verbose_name=_("owner"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="customers", verbose_name=_("team"))
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("registered by"))
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Ownership state (the rules that move it live in apps.ownership). An effective contact is a
    # visit, a deal or a follow-up that reached the customer; registration counts as the first.
    last_contact_at = models.DateTimeField(_("last effective contact"), null=True, blank=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    released_at = models.DateTimeField(_("in the public pool since"), null=True, blank=True)
    previous_owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("previous owner"))

    class Meta(TenantModel.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "phone"], name="customer_phone_unique_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "id_number"], condition=~models.Q(id_number=""),
                                    name="customer_id_number_unique_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "owner", "-created_at"], name="customer_owner_idx"),
            models.Index(fields=["tenant", "team", "-created_at"], name="customer_team_idx"),
            # A manager's most common view (the team's customers from one source): ordered
            # pages and their COUNT come from the index alone.
            models.Index(fields=["tenant", "team", "source", "-created_at"],
                         name="customer_team_source_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="customer_created_idx"),
            models.Index(fields=["tenant", "phone_last4"], name="customer_phone_last4_idx"),
            models.Index(fields=["tenant", "name"], name="customer_name_idx"),
            GinIndex(fields=["tags"], name="customer_tags_gin"),
            # The nightly release to the public pool and the "about to be released" lists.
            models.Index(fields=["tenant", "last_contact_at"], name="customer_owned_contact_idx",
                         condition=models.Q(owner__isnull=False)),
            models.Index(fields=["tenant", "owner", "last_contact_at"],
                         name="customer_owner_contact_idx"),
            models.Index(fields=["tenant", "-released_at"], name="customer_pool_idx",
                         condition=models.Q(owner__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerRelation(TenantModel):
    """`customer` is the `kind` of `related` (e.g. customer is the spouse of related)."""

    class Kind(models.TextChoices):
        SPOUSE = "spouse", _("Spouse")
        PARENT = "parent", _("Parent")
        CHILD = "child", _("Child")
        RELATIVE = "relative", _("Relative")
        COLLEAGUE = "colleague", _("Colleague")
        FRIEND = "friend", _("Friend")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relations",
                                 verbose_name=_("customer"))
    related = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="related_by",
                                verbose_name=_("related customer"))
    kind = models.CharField(_("relation"), max_length=20, choices=Kind.choices)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("customer relation")
        verbose_name_plural = _("customer relations")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "customer", "related"],
                                    name="customer_relation_unique_pair"),
            models.CheckConstraint(condition=~models.Q(customer=models.F("related")),
                                   name="customer_relation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} → {self.related} ({self.get_kind_display()})"

    # The inverse label of each kind, to show the relation from the other side.
    INVERSE = {"spouse": "spouse", "parent": "child", "child": "parent", "relative": "relative",
               "colleague": "colleague", "friend": "friend"}


class TeamCustomerCount(TenantModel):
    """Nightly snapshot: how many customers each team had on a day (manager's home page)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    day = models.DateField(_("day"))
    customers = models.PositiveIntegerField(_("customers"))
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("team customer count")
        verbose_name_plural = _("team customer counts")
        ordering = ["-day", "team__name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "team", "day"], nulls_distinct=False,
                                    name="team_customer_count_unique_day"),
        ]


class OwnershipChange(TenantModel):
    """One change of a customer's owner: who, when, why. Written by the services, never edited."""

    class Reason(models.TextChoices):
        REGISTRATION = "registration", _("Registration")
        CLAIM = "claim", _("Claimed from the public pool")
        RELEASE = "release", _("Released to the public pool (no effective contact)")
        RETURN = "return", _("Returned to the public pool")
        DISPUTE = "dispute", _("Dispute decision")
        REASSIGNMENT = "reassignment", _("Reassignment")
        WALK_IN = "walk_in", _("Walk-in reception")
        IMPORT = "import", _("Import")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ownership_changes",
                                 verbose_name=_("customer"))
    from_owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("from"))
    to_owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("to"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.TextField(_("note"), max_length=1000, blank=True)
    #: None when the system did it (the nightly release).
    actor = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    #: The dispute whose decision made this change, if any (ids: disputes depend on customers).
    dispute_id = models.BigIntegerField(_("dispute"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership changes")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "customer", "-at"], name="ownership_change_customer_idx"),
            # Daily claim cap and "former owner may reclaim after N days".
            models.Index(fields=["tenant", "to_owner", "reason", "-at"],
                         name="ownership_change_to_idx"),
            models.Index(fields=["tenant", "from_owner", "-at"], name="ownership_change_from_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_owner_id} → {self.to_owner_id} ({self.reason})"
