from rest_framework import serializers

from .models import Staff, Team, Tenant, User
from .roles import Role


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False,
                                     style={"input_type": "password"}, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class MeUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email"]


class MeTeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]


class MeStaffSerializer(serializers.ModelSerializer):
    team = MeTeamSerializer(allow_null=True)

    class Meta:
        model = Staff
        fields = ["id", "name", "phone", "team", "roles", "base_salary", "joined_at"]


class MeTenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "industry", "time_zone"]


class MeSerializer(serializers.Serializer):
    """The signed-in member: login, membership, company, roles and interface language.

    The instance is a dict built by the view: {"user", "staff", "tenant", "roles", "language"}."""

    user = MeUserSerializer()
    staff = MeStaffSerializer()
    tenant = MeTenantSerializer()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    language = serializers.ChoiceField(
        choices=User._meta.get_field("language").choices,
        help_text="The interface language: the user's choice, else the site default (zh-hans).")
