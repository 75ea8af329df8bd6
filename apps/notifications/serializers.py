from rest_framework import serializers

from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    # A plain string (not an enum) in the schema: another "kind" enum would collide in names.
    kind = serializers.CharField(help_text="One of: " + ", ".join(Notification.Kind.values) + ".")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "target_type", "target_id", "created_at",
                  "read_at", "unread"]
        read_only_fields = fields

    def get_unread(self, obj) -> bool:
        return obj.read_at is None


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read.")


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="One of: " + ", ".join(Notification.Kind.values) + ".")
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField(required=False, help_text=(
        "Shown in the inbox. Off: no in-app notification of this kind at all."))
    email = serializers.BooleanField(required=False, allow_null=True, help_text=(
        "E-mail copy. null: as the sending module asks (the value shown is then the module's "
        "default and email_default is true)."))
    sms = serializers.BooleanField(required=False, allow_null=True, help_text=(
        "SMS copy. null: as the sending module asks."))
    email_default = serializers.BooleanField(read_only=True)
    sms_default = serializers.BooleanField(read_only=True)


class PreferencesSerializer(serializers.Serializer):
    email_available = serializers.BooleanField(read_only=True, help_text=(
        "The caller has an e-mail address (e-mail cannot be turned on without one)."))
    sms_available = serializers.BooleanField(read_only=True, help_text=(
        "The caller has a mobile phone number (SMS cannot be turned on without one)."))
    preferences = PreferenceSerializer(many=True, help_text=(
        "One item per kind; on PUT, kinds and channels left out stay as they are."))
