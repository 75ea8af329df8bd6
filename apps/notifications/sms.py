"""Sending SMS (短信) through a pluggable backend, the way django.core.mail sends e-mail.

settings.SMS_BACKEND names the class:

* ``apps.notifications.sms.ConsoleBackend`` — prints each message (development);
* ``apps.notifications.sms.FileBackend`` — appends one JSON line per message to
  ``settings.SMS_FILE_PATH`` (development, demos);
* ``apps.notifications.sms.LocmemBackend`` — keeps them in ``sms.outbox`` (the tests);
* ``apps.notifications.sms.HttpBackend`` — the adapter for an HTTP SMS provider: POSTs
  ``{"phone", "text", "sign"}`` as JSON to ``SMS_HTTP_URL`` with
  ``Authorization: Bearer SMS_HTTP_TOKEN``, a 2xx answer meaning accepted (docs/followups.md
  shows how to adapt it to a provider's own API, e.g. Aliyun or Tencent Cloud SMS).

A backend's ``send_messages`` returns how many it accepted and raises SmsError when the
provider refuses; callers that must not fail (reminders) log the error and go on."""

from __future__ import annotations

import abc
import json
import logging
import sys
import threading
import urllib.request
from dataclasses import asdict, dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

#: What the LocmemBackend sent (tests clear it).
outbox: list[SmsMessage] = []


class SmsError(Exception):
    pass


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class BaseBackend(abc.ABC):
    @abc.abstractmethod
    def send_messages(self, messages: list[SmsMessage]) -> int:
        """Deliver the messages; how many were accepted (SmsError: refused)."""


class ConsoleBackend(BaseBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            sys.stdout.write(f"[SMS to {message.phone}] {message.text}\n")
        return len(messages)


class FileBackend(BaseBackend):
    _lock = threading.Lock()

    def send_messages(self, messages: list[SmsMessage]) -> int:
        with self._lock, open(settings.SMS_FILE_PATH, "a", encoding="utf-8") as out:
            for message in messages:
                out.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
        return len(messages)


class LocmemBackend(BaseBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


class HttpBackend(BaseBackend):
    timeout = 10

    def send_messages(self, messages: list[SmsMessage]) -> int:
        sent = 0
        for message in messages:
            body = json.dumps({"phone": message.phone, "text": message.text,
                               "sign": getattr(settings, "SMS_SIGN", "")}).encode()
            request = urllib.request.Request(
                settings.SMS_HTTP_URL, data=body, method="POST",
                headers={"Content-Type": "application/json",
                         "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    if not 200 <= answer.status < 300:
                        raise SmsError(f"the SMS provider answered {answer.status}")
            except OSError as exc:
                raise SmsError(str(exc)) from exc
            sent += 1
        return sent


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(messages: list[SmsMessage]) -> int:
    """Send through the configured backend; a refusal is logged and counted as not sent."""
    if not messages:
        return 0
    try:
        return get_backend().send_messages(messages)
    except SmsError:
        logger.exception("SMS not sent")
        return 0
