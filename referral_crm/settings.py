"""Settings, all read from the environment (see README "Configuration")."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

# PRODUCTION=true turns on the safety checks (no DEBUG, no superuser/owner database role...).
PRODUCTION = env.bool("PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else "dev-only-insecure-key-change-me")
if PRODUCTION and not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when PRODUCTION=true")
if PRODUCTION and DEBUG:
    raise environ.ImproperlyConfigured("DEBUG must be off when PRODUCTION=true")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind the TLS-terminating proxy of docs/deployment.md (production default): trust its
# X-Forwarded-Proto, and take the client's address from the last X-Forwarded-For entry.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=PRODUCTION)
TESTING = env.bool("TESTING", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "axes",
    "csp",
    "apps.core",
    "apps.tenancy",
    "apps.customers",
    "apps.ownership",
    "apps.disputes",
    "apps.rotation",
    "apps.notifications",
    "apps.deals",
    "apps.renewals",
    "apps.referrals",
    "apps.commissions",
    "apps.vip",
    "apps.followups",
    "apps.dashboards",
    "apps.imports",
    "apps.exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Refuses a body over REQUEST_MAX_BYTES before anything reads it (apps/core/limits.py).
    "apps.core.limits.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Opens the request's transaction and enters the user's tenant (SET LOCAL app.tenant_id).
    "apps.tenancy.middleware.TenantMiddleware",
    "apps.tenancy.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last (django-axes' rule): turns a locked-out login into apps.tenancy.lockout's answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "referral_crm.urls"
WSGI_APPLICATION = "referral_crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.tenancy.context_processors.tenancy",
                "apps.notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# --------------------------------------------------------------------------- database
# DATABASE_URL is the restricted application role (never a superuser, never the table owner);
# DATABASE_OWNER_URL is the role that owns the tables and runs migrations.
DATABASES = {
    "default": env.db("DATABASE_URL"),
    "owner": env.db("DATABASE_OWNER_URL", default=env.str("DATABASE_URL")),
}
for _alias in DATABASES.values():
    _alias.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    _alias["CONN_HEALTH_CHECKS"] = True
    _alias.setdefault("OPTIONS", {})
# PostgreSQL's JIT compiles a plan whose estimated cost is high; for the app's short queries
# the compiling costs more than it saves (a follow-up report of 70 000 tasks: 708 ms with JIT,
# 166 ms without; docs/benchmarks.md, dashboards). DB_JIT=true leaves the server's setting.
if not env.bool("DB_JIT", default=False):
    _opts = DATABASES["default"]["OPTIONS"]
    _opts["options"] = (_opts.get("options", "") + " -c jit=off").strip()
# A Celery worker started by a test must use the test database (tests/customers/test_tasks.py).
if env.str("DATABASE_NAME_OVERRIDE", default=""):
    DATABASES["default"]["NAME"] = env.str("DATABASE_NAME_OVERRIDE")
# Tests: the owner creates and migrates the test database; the app role uses it (as in production).
DATABASES["owner"]["TEST"] = {"NAME": env.str("TEST_DB_NAME", default="test_referral_crm"),
                              "SERIALIZE": False, "DEPENDENCIES": []}
DATABASES["default"]["TEST"] = {"MIRROR": "owner"}
DATABASE_ROUTERS = ["apps.tenancy.routers.OwnerMigratesRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------- redis, cache, celery
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")


def _redis_db(url: str) -> int:
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        return int(parse_qs(parsed.query).get("db", ["0"])[0])
    return int((parsed.path or "/0").strip("/") or 0)


def _with_redis_db(url: str, db: int) -> str:
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        query = {**parse_qs(parsed.query), "db": [str(db)]}
        return f"unix://{parsed.path}?{urlencode(query, doseq=True)}"
    return parsed._replace(path=f"/{db}").geturl()


# Parallel test processes (pytest-xdist workers gw0, gw1, ...) each get their own test database
# (pytest-django) and their own Redis database after the suite's: every test clears the cache.
if TESTING and os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    REDIS_URL = _with_redis_db(REDIS_URL, _redis_db(REDIS_URL) + 1
                               + int(os.environ["PYTEST_XDIST_WORKER"][2:]))


def _celery_broker(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme == "unix":  # kombu spells unix sockets differently from redis-py
        return f"redis+socket://{parsed.path}?virtual_host={_redis_db(url)}"
    return url


# Redis unreachable: reads miss, writes are skipped, a warning is logged (apps/core/cache.py);
# sessions then come from the database (cached_db) and API throttles let requests through.
CACHES = {
    "default": {
        "BACKEND": "apps.core.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rcrm",
        "OPTIONS": {"socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                    "socket_timeout": env.float("REDIS_TIMEOUT", default=1.0),
                    "DOWN_SECONDS": env.float("REDIS_DOWN_SECONDS", default=5.0)},
    }
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_celery_broker(REDIS_URL))
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Code-defined periodic jobs (django-celery-beat's DatabaseScheduler loads them at start).
CELERY_BEAT_SCHEDULE = {
    # Customer import: uploads, reports and results older than IMPORT_KEEP_DAYS are deleted.
    "daily-import-cleanup": {
        "task": "imports.cleanup_uploads",
        "schedule": crontab(hour=3, minute=40),
        "args": [],
    },
    "nightly-team-customer-counts": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=1, minute=5),
        "args": ["customers.count_team_customers"],
    },
    # The public pool: customers without effective contact for the policy's days (per tenant).
    "nightly-pool-release": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=0, minute=30),
        "args": ["ownership.release_due_customers"],
    },
    # Renewal reminders at the tenant's lead days before each contract's end (per tenant).
    "daily-renewal-reminders": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=8, minute=0),
        "args": ["renewals.send_reminders"],
    },
    # Referrals with no deal within the policy's conversion window are rejected as expired.
    "nightly-referral-expiry": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=0, minute=45),
        "args": ["referrals.expire_referrals"],
    },
    # The honour board: last month's top three staff referrers, recorded on the 1st.
    "monthly-honour-awards": {
        "task": "tenancy.fan_out",
        "schedule": crontab(day_of_month=1, hour=3, minute=10),
        "args": ["referrals.record_honour_awards"],
    },
    # Commissions: last month is calculated on the tenant's calculation day (default the 1st).
    "daily-commission-calculation": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=4, minute=0),
        "args": ["commissions.calculate_due"],
    },
    # VIP: a tier scheme version that takes effect today re-evaluates every customer.
    "daily-vip-recompute": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=0, minute=15),
        "args": ["vip.recompute_due"],
    },
    # Follow-ups: grades, then the next days' visits of every plan rule (idempotent).
    "daily-followup-generation": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=1, minute=30),
        "args": ["followups.generate"],
    },
    # Overdue follow-ups: remind the assignee, tell the manager, record the penalty (each once),
    # hourly in the working day (08:20–20:20): nobody gets an SMS about work at night.
    "hourly-followup-reminders": {
        "task": "tenancy.fan_out",
        "schedule": crontab(minute=20, hour="8-20"),
        "args": ["followups.remind"],
    },
    # Background list exports: files older than EXPORT_KEEP_DAYS are deleted (docs/exports.md).
    "daily-export-expiry": {
        "task": "tenancy.fan_out",
        "schedule": crontab(hour=2, minute=40),
        "args": ["exports.expire_files"],
    },
    # The outbox (apps/core/outbox.py): tasks whose send failed at commit (Redis down) go out.
    "outbox-relay": {
        "task": "core.relay_outbox",
        "schedule": crontab(),
        "args": [],
    },
}

# --------------------------------------------------------------------------- auth
AUTH_USER_MODEL = "tenancy.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Login throttling (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address lock that pair out for LOGIN_COOLOFF_MINUTES (each further try restarts the wait), on
# the login page, the admin's and the API token endpoint alike; `manage.py axes_reset_username`
# unlocks earlier. The database handler keeps each lock-out as a row (axes_accessattempt,
# a global table: no tenant, no RLS); successful logins are not logged (AccessLog off).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False  # the admin is the tenant admins' own: no cross-tenant login records
AXES_LOCKOUT_CALLABLE = "apps.tenancy.lockout.locked_out_response"
AXES_CLIENT_IP_CALLABLE = "apps.tenancy.lockout.client_ip"
AXES_VERBOSE = False  # no start-up banner on every command; lock-outs are still logged

# --------------------------------------------------------------------------- i18n
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --------------------------------------------------------------------------- static
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Home-page panels contributed by the apps (apps.tenancy.selectors.app_home_panels).
HOME_PANELS: list[str] = [
    "apps.ownership.panels.expiring_panel",
    "apps.disputes.panels.dispute_queue_panel",
    "apps.renewals.panels.expiring_contracts_panel",
    "apps.referrals.panels.referral_charts_panel",
]

# Uploaded files (dispute evidence). Never served as public static files: each download goes
# through a view that checks the tenant and the role.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"
# Evidence uploads: images and PDF, checked by content, at most this many bytes each.
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=5 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --------------------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.tenancy.permissions.IsActiveStaff"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        # POST /api/v1/auth/token/ per client address (on top of the lock-outs of django-axes).
        "auth_token": env.str("API_THROTTLE_AUTH_TOKEN", default="10/min"),
    },
    # The client address of the throttles: REMOTE_ADDR, or behind the proxy the address it
    # appended to X-Forwarded-For (DRF's default would trust the whole header, which the client
    # can set to anything and so escape the throttle).
    "NUM_PROXIES": 1 if BEHIND_PROXY else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "referral_crm API",
    "DESCRIPTION": "Multi-tenant referral CRM. Every object is scoped to the caller's tenant.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its viewers list every endpoint: for signed-in staff only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets whose field names other components use too ("status", "outcome").
    "ENUM_NAME_OVERRIDES": {
        "DisputeStatusEnum": "apps.disputes.models.Dispute.Status",
        "DisputeOutcomeEnum": "apps.disputes.models.Dispute.Outcome",
        "DutySignInStatusEnum": "apps.rotation.models.DutySignIn.Status",
        "ReferrerKindEnum": "apps.referrals.models.Referrer.Kind",
        "RelationKindEnum": "apps.customers.models.CustomerRelation.Kind",
        "PointsEntryKindEnum": "apps.referrals.models.PointsEntry.Kind",
        # The presets of the tier schemes and the follow-up plans: both just "default".
        "DefaultPresetEnum": [("default", "default")],
    },
}

# --------------------------------------------------------------------------- e-mail and SMS
# Notifications (apps.notifications) also go out by e-mail and SMS; links in them start with
# SITE_URL. Development prints both to the console; the tests keep them in memory.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="referral-crm@localhost")
SMS_BACKEND = env.str("SMS_BACKEND", default="apps.notifications.sms.LocmemBackend" if TESTING
                      else "apps.notifications.sms.ConsoleBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms.jsonl"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", default="")
SMS_SIGN = env.str("SMS_SIGN", default="")

# --------------------------------------------------------------------------- commissions
# How long the dashboard's "commission so far" (one engine run per tenant-month) is reused.
COMMISSION_SO_FAR_SECONDS = env.int("COMMISSION_SO_FAR_SECONDS", default=300)

# --------------------------------------------------------------------------- customer import
# Larger files are refused at once; files over IMPORT_DIRECT_MAX_BYTES are imported by a task.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_DIRECT_MAX_BYTES = env.int("IMPORT_DIRECT_MAX_BYTES", default=2 * 1024 * 1024)
# Data rows per imported file (more is refused, naming the limit); days uploads are kept.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_KEEP_DAYS = env.int("IMPORT_KEEP_DAYS", default=2)

# --------------------------------------------------------------------------- request size limits
# Every upload has its own limit checked with its content (EVIDENCE_MAX_BYTES, IMPORT_MAX_BYTES);
# a whole body over REQUEST_MAX_BYTES (the largest of them plus room for the form) gets 413
# before Django reads it. Form fields and JSON bodies: Django's 2.5 MB, stated here on purpose;
# uploaded files over FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file, not to memory.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES",
                            default=max(IMPORT_MAX_BYTES, EVIDENCE_MAX_BYTES) + 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --------------------------------------------------------------------------- list exports
# Lists of more rows are exported by a task with a progress bar; its files are kept this many
# days (docs/exports.md).
EXPORT_DIRECT_MAX_ROWS = env.int("EXPORT_DIRECT_MAX_ROWS", default=20_000)
EXPORT_PROGRESS_EVERY = env.int("EXPORT_PROGRESS_EVERY", default=1000)
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)

# --------------------------------------------------------------------------- security headers
# `manage.py check --deploy --fail-level WARNING` passes with the production defaults
# (tests/deploy/test_deploy_checks.py; docs/OPERATIONS.md).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if BEHIND_PROXY:
    # Only behind a proxy that sets (overwrites) this header: a client could send it itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is the domain owner's decision (a submission to the browsers' lists,
        # slow to undo), not a default of the product: security.W021 asks for it.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content security policy (django-csp): scripts, styles, images and fonts from this site only;
# no inline <script>, no onclick=, no style="" (static/js/app.js, static/css/app.css), so an
# injected tag or attribute cannot run. The browser journeys fail on any violation
# (tests/browser; docs/SECURITY.md). The API viewers of drf-spectacular relax it for themselves.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
