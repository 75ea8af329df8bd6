"""Registration API (thin: `registration_check` reads, `customer_register` / `customer_claim`
write and validate). Only salespeople — and managers or administrators for themselves — may
use it; everyone else gets 403.

* ``GET|POST /api/v1/ownership/check/`` — the live duplicate check (query parameters or a JSON
  body: phone, id_number, name, related_phone).
* ``POST /api/v1/ownership/register/`` — register, claim, or collide (see RegisterAPIView).
* ``POST /api/v1/ownership/customers/<pk>/claim/`` — claim a customer from the public pool.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.customers.api import drf_error
from apps.customers.models import Customer
from apps.customers.serializers import CustomerSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from .registration import (
    OUTCOME_ALREADY_YOURS,
    OUTCOME_CLAIMED,
    OUTCOME_COLLISION,
    OUTCOME_REGISTERED,
    REGISTER_ROLES,
    VERDICT_LABELS,
    customer_claim,
    customer_register,
    registration_check,
)

CanRegister = role_permission(*REGISTER_ROLES)

OUTCOMES = [OUTCOME_REGISTERED, OUTCOME_CLAIMED, OUTCOME_ALREADY_YOURS, OUTCOME_COLLISION]

# --------------------------------------------------------------------------- serializers


class CheckQuerySerializer(serializers.Serializer):
    """What has been typed so far; incomplete values are simply not searched."""

    phone = serializers.CharField(required=False, allow_blank=True, max_length=32,
                                  help_text=gettext_lazy("Mobile number (or its last four digits, "
                                                         "to match with the name)."))
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=32,
                                      help_text=gettext_lazy("Resident ID number."))
    name = serializers.CharField(required=False, allow_blank=True, max_length=50,
                                 help_text=gettext_lazy("Name (matched with the last four digits "
                                                        "of the phone)."))
    related_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32,
        help_text=gettext_lazy("Mobile number of an existing customer this person is a relative "
                               "of, or was brought by."))


class CheckMatchSerializer(serializers.Serializer):
    """One existing customer, as the caller may see it (masked unless visible to them)."""

    # Plain strings (not enums): "kind" is already the name of other choice sets in the schema.
    kind = serializers.CharField(read_only=True, help_text=gettext_lazy(
        "The strongest way it matched: phone, id_number, name_last4, relative, related_customer."))
    kinds = serializers.ListField(child=serializers.CharField(), read_only=True)
    kind_label = serializers.CharField(read_only=True)
    verdict = serializers.ChoiceField(choices=["mine", "pool", "expired", "collision"],
                                      read_only=True)
    name = serializers.CharField(read_only=True, help_text=gettext_lazy(
        "The full name if the caller may see this customer, otherwise masked (张*)."))
    masked_name = serializers.CharField(read_only=True)
    in_pool = serializers.BooleanField(read_only=True)
    owner_name = serializers.CharField(read_only=True)
    protected_until = serializers.DateField(read_only=True, allow_null=True, help_text=gettext_lazy(
        "The last day of the owner's protection (null in the public pool)."))
    is_mine = serializers.BooleanField(read_only=True)
    customer_id = serializers.IntegerField(read_only=True, allow_null=True, help_text=gettext_lazy(
        "Only when the caller may see this customer."))
    relation = serializers.CharField(read_only=True, help_text=gettext_lazy(
        "Relatives: what this customer is to the matching one."))
    relation_label = serializers.CharField(read_only=True)
    relative_of = serializers.CharField(read_only=True)


class RegistrationCheckSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=list(VERDICT_LABELS), read_only=True, help_text=gettext_lazy(
        "new, mine, pool (claimable), expired (protection over: claimable), collision."))
    verdict_label = serializers.CharField(read_only=True)
    claimable = serializers.BooleanField(read_only=True)
    searched = serializers.BooleanField(read_only=True, help_text=gettext_lazy(
        "False when nothing searchable was given yet."))
    primary = CheckMatchSerializer(read_only=True, allow_null=True, help_text=gettext_lazy(
        "The match the verdict is about."))
    matches = CheckMatchSerializer(many=True, read_only=True)
    input_errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                         read_only=True)


class RegisterSerializer(serializers.Serializer):
    # Name, phone and lengths are checked by the service, so every error comes back at once.
    # Missing ones reach it as "" (a field error there, not a TypeError here).
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="",
                                  help_text=gettext_lazy("Mainland mobile number; +86, spaces and "
                                                         "dashes are accepted."))
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=32)
    gender = serializers.ChoiceField(choices=Customer.Gender.choices, required=False, allow_blank=True)
    birthday = serializers.DateField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    source = serializers.ChoiceField(choices=Customer.Source.choices, required=False,
                                     default=Customer.Source.WALK_IN)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    related_customer_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text=gettext_lazy(
            "An existing customer this person is a relative of, or was brought by."))
    relation_kind = serializers.CharField(
        required=False, allow_blank=True, max_length=20,
        help_text=gettext_lazy("What this person is to the related customer: spouse, parent, child, "
                               "relative, colleague or friend."))
    claim_note = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text=gettext_lazy(
            "Collision: the claimant's account for the manager. Claim: a note for the history."))
    confirm_collision = serializers.BooleanField(required=False, default=False, help_text=gettext_lazy(
        "Open the dispute when the person is protected by someone else. Without it a collision "
        "answers 409 and nothing is written."))


class RegistrationResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OUTCOMES, read_only=True)
    message = serializers.CharField(read_only=True)
    customer_id = serializers.IntegerField(read_only=True, allow_null=True, help_text=gettext_lazy(
        "Null on a collision unless the caller may see the customer."))
    dispute_id = serializers.IntegerField(read_only=True, allow_null=True, help_text=gettext_lazy(
        "The dispute opened (or joined) by a confirmed collision."))
    match = CheckMatchSerializer(read_only=True, allow_null=True)


class ClaimSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


# --------------------------------------------------------------------------- views


class _RegistrationAPIView(TenantAPIMixin, APIView):
    model = Customer
    permission_classes = (CanRegister,)
    lookup_field = "pk"
    lookup_url_kwarg = None


CHECK_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=str(field.help_text))
    for name, field in CheckQuerySerializer().fields.items()
]


class RegistrationCheckAPIView(_RegistrationAPIView):
    """Is this person already known? Answers what the caller may see: the owner's name, the
    protection end and the customer's masked name; the id only of customers they may see."""

    @extend_schema(summary="Duplicate check before registering", parameters=CHECK_PARAMETERS,
                   responses=RegistrationCheckSerializer)
    def get(self, request):
        return self._check(request.query_params)

    @extend_schema(summary="Duplicate check before registering (JSON body)",
                   request=CheckQuerySerializer, responses=RegistrationCheckSerializer)
    def post(self, request):
        return self._check(request.data)

    def _check(self, data):
        query = CheckQuerySerializer(data=data)
        query.is_valid(raise_exception=True)
        check = registration_check(self.staff, **query.validated_data)
        return Response(RegistrationCheckSerializer(check).data)


def _day(value) -> str:
    return formats.date_format(value, "DATE_FORMAT") if value else ""


class RegisterAPIView(_RegistrationAPIView):
    """Register a person met by the caller.

    * **201** `registered`: a new customer, owned by the caller;
    * **200** `claimed`: the person was in the public pool, or protection by someone else had
      ended, and is now the caller's; `already_yours`: nothing changed;
    * **409** `collision`: somebody else protects the person. Without `confirm_collision` nothing
      is written (`dispute_id` null): ask the user, then send the same request again with
      `confirm_collision: true` and `claim_note`; that opens the dispute (or joins the one the
      caller already has open about this customer) and answers 409 with its `dispute_id`.
      The body says only the owner's name, the protection end and the customer's masked name.
    * **400** field errors (project format), e.g. an invalid phone; a refused claim (policy
      caps, the former owner's wait) under `non_field_errors`.
    """

    @extend_schema(summary="Register a customer (or claim, or open a collision)",
                   request=RegisterSerializer,
                   responses={201: RegistrationResultSerializer, 200: RegistrationResultSerializer,
                              409: RegistrationResultSerializer,
                              400: OpenApiResponse(description="Field errors."),
                              403: OpenApiResponse(description="Not a salesperson, manager or "
                                                               "administrator.")})
    def post(self, request):
        payload = RegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = customer_register(tenant=self.tenant, actor=self.staff, **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        match = result.match
        data = {"outcome": result.outcome, "match": match,
                "customer_id": result.customer.pk if result.outcome != OUTCOME_COLLISION
                else (match.customer_id if match else None),
                "dispute_id": result.dispute.pk if result.dispute is not None else None}
        name = result.customer.name
        if result.outcome == OUTCOME_REGISTERED:
            data["message"] = _("%(name)s is registered as your customer.") % {"name": name}
            code = status.HTTP_201_CREATED
        elif result.outcome == OUTCOME_CLAIMED:
            data["message"] = _("%(name)s was claimed: it is your customer now.") % {"name": name}
            code = status.HTTP_200_OK
        elif result.outcome == OUTCOME_ALREADY_YOURS:
            data["message"] = _("%(name)s is already your customer.") % {"name": name}
            code = status.HTTP_200_OK
        else:
            params = {"customer": match.masked_name, "owner": match.owner_name,
                      "date": _day(match.protected_until)}
            if result.dispute is None:
                data["message"] = _("%(customer)s is protected by %(owner)s until %(date)s. Confirm "
                                    "to open a dispute.") % params
            else:
                data["message"] = _("A dispute was opened about %(customer)s, protected by "
                                    "%(owner)s until %(date)s; a manager will decide.") % params
            code = status.HTTP_409_CONFLICT
        return Response(RegistrationResultSerializer(data).data, status=code)


class ClaimAPIView(TenantAPIMixin, GenericAPIView):
    """Claim a customer of the public pool (or one whose protection has ended) for the caller.
    Refusals (someone else protects it, already claimed, daily cap, most customers per owner,
    the former owner's wait) are 400 with `non_field_errors`; another tenant's id is 404."""

    model = Customer
    permission_classes = (CanRegister,)
    serializer_class = ClaimSerializer
    # Any customer of the tenant: who may claim it is the service's decision (a pool customer
    # is visible to no salesperson before it is claimed).
    lookup_value_regex = r"\d+"

    @extend_schema(summary="Claim a customer from the public pool", request=ClaimSerializer,
                   responses={200: CustomerSerializer,
                              400: OpenApiResponse(description="The claim was refused.")})
    def post(self, request, pk):
        customer = self.get_object()
        payload = ClaimSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            customer = customer_claim(tenant=self.tenant, actor=self.staff, customer=customer,
                                      note=payload.validated_data.get("note", ""))
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(CustomerSerializer(customer, context={"request": request}).data)
