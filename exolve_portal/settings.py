"""Settings for Exolve Voice Portal.

Everything comes from the environment (or a `.env` file beside manage.py) with
embedded defaults, so that a fresh clone runs with nothing configured: SQLite under
`var/`, the built-in Exolve sandbox, DEBUG on. `.env.example` lists every variable an
operator sets; the portal's own settings are declared (typed, with their checks) in
exolve_portal/portal_settings.py.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from exolve_portal import portal_settings
from exolve_portal.logs import build_logging
from exolve_portal.private_files import private_file, private_folder, sqlite_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
# The embedded defaults keep the SQLite database and the sandbox state here; a fresh
# clone has no var/ yet (it is not in git). Phone numbers live there: 0700.
try:
    private_folder(VAR_DIR)
except OSError:  # a read-only install configured elsewhere does not need it
    pass

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG=off) needs a long random "
            "SECRET_KEY in the environment; see .env.example."
        )
    # Development only: a key that is useless anywhere DEBUG is off.
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Production security (all follow DEBUG; `manage.py check --deploy` is clean) ---
# Behind a reverse proxy that terminates HTTPS (docs/deploy.md): trust its
# X-Forwarded-Proto for "is this HTTPS?" and its X-Forwarded-For for the client's
# address (login throttling). Off by default: without a proxy these headers are forged.
TRUST_PROXY_HEADERS = env.bool("TRUST_PROXY_HEADERS", default=False)
if TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Monitoring may probe the app server directly over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# HSTS: browsers refuse plain HTTP for this host for that long. Start low (3600) on a
# first deploy if unsure; a year once HTTPS works.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is the parent domain owner's decision, not this app's: don't nag about it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)

# Request size limits. Form fields (pasted numbers, admin bulk actions) up to this
# size; uploaded files are checked by their forms (EXOLVE_UPLOAD_MAX_BYTES) and by the
# proxy (client_max_body_size). Too large: a plain 400 page (templates/400.html).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads spill to a temporary file

INSTALLED_APPS = [
    "exolve_portal.admin_config.PortalAdminConfig",  # Django's admin: the portal's login form, "View site"
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tables2",
    # django-axes, named in the staff's words (exolve_portal/installed_apps.py).
    "exolve_portal.installed_apps.LoginProtectionConfig",
    "exolve_portal",
    "jobs",
    "voicemessages",
    "caller_numbers",
    "audiences",
    "calls",
    "schedules",
    "pages",
    "api",
    "ninja",  # django-ninja: the API's docs page and its static files (Swagger UI, served by the portal)
    "integrations",
    # After `calls`, whose `db_worker` (the same worker, first looking for work left
    # behind by a killed one) takes precedence over this app's.
    "exolve_portal.installed_apps.TaskResultsConfig",  # django_tasks_db, named in the staff's words
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a logged-in staff member unless marked @login_not_required.
    "exolve_portal.security.StaffRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # An id or a date from the URL that no column can hold is a 400, not a 500.
    "exolve_portal.bounds.OutOfRangeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses logins that are locked out after too many failures (django-axes).
    "exolve_portal.security.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling: after LOGIN_FAILURE_LIMIT failures for one user name from one
# address, that pair waits LOGIN_COOLOFF_MINUTES. Per pair, so one person mistyping
# does not lock out the whole office behind the same address.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "exolve_portal.security.client_ip"
AXES_LOCKOUT_CALLABLE = "exolve_portal.security.lockout_response"
# No banner line on every manage.py command; failures and lockouts are still logged.
AXES_VERBOSE = False

ROOT_URLCONF = "exolve_portal.urls"
WSGI_APPLICATION = "exolve_portal.wsgi.application"
ASGI_APPLICATION = "exolve_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "exolve_portal.context_processors.exolve",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Created 0600 before SQLite opens it (SQLite would make it 0644 under the usual umask);
    # its journal and WAL files take the same mode.
    if (sqlite_path := sqlite_file(DATABASES["default"]["NAME"])) is not None:
        try:
            private_file(sqlite_path)
        except OSError:  # not ours to create: SQLite says what is wrong when it opens it
            pass
    # The web server and the task worker write to the same file: wait for locks
    # instead of failing, and let readers proceed while a writer works.
    # (A `?timeout=` in DATABASE_URL wins: the tests of a locked database wait less.)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].update(
        {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    # Reuse connections for a minute (the workers and gunicorn threads keep theirs),
    # checking each before reuse so a restarted PostgreSQL is not a failed request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer should fail /healthz quickly, not hang it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One format per kind of date and language (exolve_portal/formats/<language>/formats.py).
FORMAT_MODULE_PATH = ["exolve_portal.formats"]
# TIME_ZONE is read with the portal's settings below (a zone that does not exist is a check error).
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# E-mail (invitations, password reset): EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@smtp.example.com:587; by default printed to the log in
# development, and given to the machine's own mail server in production (as Django does).
_MAIL = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
_SMTP_OPTIONS = {"host": "EMAIL_HOST", "port": "EMAIL_PORT", "username": "EMAIL_HOST_USER"}
_SMTP_OPTIONS |= {"password": "EMAIL_HOST_PASSWORD", "use_tls": "EMAIL_USE_TLS", "use_ssl": "EMAIL_USE_SSL"}
MAILERS = {
    "default": {
        "BACKEND": _MAIL["EMAIL_BACKEND"],
        "OPTIONS": {option: _MAIL[key] for option, key in _SMTP_OPTIONS.items() if _MAIL.get(key) is not None},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")

# Background work (sending, statistics refresh) goes through django.tasks, stored in
# the same database and run by `manage.py db_worker`.
# Two queues: "default" (sending, statistics, jobs) and "webhooks" (webhook deliveries and
# e-mail notices, integrations/tasks.py), each with its own worker so delivering never
# takes a sender's turn.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "webhooks"]}}

# --- The portal's own settings (exolve_portal/portal_settings.py declares each one) ---
# Typed and checked: a value that cannot be read keeps its default here and fails
# `manage.py check` (exolve_portal/checks.py) with the setting's name.
_PORTAL = portal_settings.read(os.environ, VAR_DIR)
globals().update(_PORTAL.values)
PORTAL_SETTINGS_UNREADABLE = _PORTAL.unreadable
PORTAL_SETTINGS_OLD_NAMES = _PORTAL.old_names

# Error pages (DEBUG) and error reports hide passwords in URLs (DATABASE_URL) besides secret-looking names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "exolve_portal.error_reports.SecretsReporterFilter"

# Logs go to stdout (journald/docker collect them): JSON lines in production, plain
# text in development; the API key and other secrets are redacted on every handler.
LOGGING = build_logging(
    json_format=env.str("LOG_FORMAT", default="plain" if DEBUG else "json") == "json",
    level=env.str("LOG_LEVEL", default="INFO"),
)
