"""The one settings module of a minimal Django project reporting to Sentry.

Sentry is initialised here, as Sentry's Django guide says. ``SENTRY_DSN`` is only set
for the server process; management commands (migrate, createsuperuser) run without it.
The SQLite database lives wherever ``DJANGO_DB_PATH`` points (a per-test directory).
"""

from __future__ import annotations

import os

import sentry_sdk

SECRET_KEY = "faultline-sdk-matrix-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
# No CSRF middleware: the test drives the JSON endpoints like an API client would.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "django_app.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

if os.environ.get("SENTRY_DSN"):
    sentry_sdk.init(
        dsn=os.environ["SENTRY_DSN"],
        release="django-orders@3.4.0",
        environment="sdk-matrix",
        send_default_pii=True,
        max_request_body_size="always",
    )
