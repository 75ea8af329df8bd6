"""Production settings: `check --deploy --fail-level WARNING` passes with the production
environment, and production refuses to start without a SECRET_KEY or with DEBUG on.

Each case runs Django in a subprocess: settings are read once per process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ("import django; django.setup(); from django.core.management import call_command; "
         "call_command('check', deploy=True, fail_level='WARNING'); print('CHECK-OK')")


def production_env(**overrides):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "TESTING", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "BEHIND_PROXY")}
    env.update(PRODUCTION="true", SECRET_KEY=secrets.token_urlsafe(50),
               ALLOWED_HOSTS="crm.example.com", DJANGO_SETTINGS_MODULE="referral_crm.settings")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_check(**overrides):
    return subprocess.run([sys.executable, "-c", CHECK], env=production_env(**overrides),
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_deploy_check_passes_with_production_settings():
    result = run_check()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CHECK-OK" in result.stdout


def test_deploy_check_fails_when_production_is_weakened():
    """The check is not silenced wholesale: turning HTTPS redirects off fails it."""
    result = run_check(SECURE_SSL_REDIRECT="false")
    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_production_without_secret_key_refuses_to_start():
    result = run_check(SECRET_KEY=None)
    assert result.returncode != 0 and "CHECK-OK" not in result.stdout
    assert "ImproperlyConfigured: SECRET_KEY must be set when PRODUCTION=true" in result.stderr


def test_production_with_debug_refuses_to_start():
    result = run_check(DEBUG="true")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG must be off when PRODUCTION=true" in result.stderr
