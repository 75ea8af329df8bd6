"""Mainland mobile numbers and resident ID numbers: normalise, validate, mask, make.

Validation uses maintained libraries rather than hand-written rules: `phonenumbers`
(Google's libphonenumber metadata, updated as new mobile prefixes are issued) and
`python-stdnum`'s `cn.ric` (GB 11643 check digit, birth date and region code)."""

import datetime as dt
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

_SEPARATORS = re.compile(r"[\s\-()（）]")


def normalize_phone(raw: str) -> str:
    """'+86 138-0013-8000' -> '13800138000'. Raises ValidationError if not a mainland mobile."""
    value = _SEPARATORS.sub("", str(raw or ""))
    if not value:
        raise ValidationError(_("Enter a mobile phone number."), code="required")
    if not re.fullmatch(r"\+?\d+", value):
        raise ValidationError(_("A mobile phone number has digits only, e.g. 138 0013 8000."),
                              code="invalid_phone")
    if len(value.lstrip("+")) > 16:
        raise ValidationError(_("Enter a valid mainland China mobile number."), code="invalid_phone")
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid mainland China mobile number."), code="invalid_phone")
    national = str(number.national_number)
    if (number.country_code != 86 or len(national) != 11 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)):
        raise ValidationError(_("Enter a valid mainland China mobile number."), code="invalid_phone")
    return national


def normalize_id_number(raw: str) -> str:
    """Validate an 18-digit resident ID (check digit, birth date, region); '' stays ''."""
    value = _SEPARATORS.sub("", str(raw or "")).upper()
    if not value:
        return ""
    try:
        value = ric.validate(value)
    except stdnum_errors.InvalidLength:
        raise ValidationError(_("A resident ID number has 18 characters."), code="invalid_id_length")
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("The check digit of this ID number is wrong."), code="invalid_id_checksum")
    except stdnum_errors.InvalidComponent:
        raise ValidationError(_("This ID number contains an impossible birth date or region."),
                              code="invalid_id_component")
    except stdnum_errors.ValidationError:
        raise ValidationError(_("Enter a valid resident ID number."), code="invalid_id")
    birth = ric.get_birth_date(value)
    if birth > timezone.localdate() or birth < dt.date(1900, 1, 1):
        raise ValidationError(_("This ID number contains an impossible birth date or region."),
                              code="invalid_id_component")
    return value


def id_birth_date(id_number: str) -> dt.date:
    return ric.get_birth_date(id_number)


def make_resident_id(region: str, birth: dt.date, seq: int) -> str:
    """An 18-character resident ID (demo and benchmark data); `seq` (0-999) is odd for men.
    Whether `region` existed in the birth year is not checked: normalize_id_number does that."""
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")  # (it ignores the last character)


def mask_id_number(value: str) -> str:
    """110105194912310021 -> 110105********0021"""
    if not value:
        return ""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(phone: str) -> str:
    """13912345678 -> 139****5678 (the last four stay: staff search the pool by them)."""
    if not phone:
        return ""
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:]


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***"""
    if not value:
        return ""
    return value[0] + "*" * max(1, len(value) - 1)
