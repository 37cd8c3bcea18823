"""Settings from the environment: development defaults, production mode, logging."""

import io
import json
import logging
import subprocess
import sys

import pytest

from exolve_portal.logs import REDACTED, JSONFormatter, RedactSecretsFilter, build_logging
from tests.deploy_env import BASE_DIR, TEST_API_KEY, clean_env, documented_production_env, manage

# Prints the settings a test asks about, as JSON, from a fresh process.
_DUMP = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "exolve_portal.settings"
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in %r}, default=str))
"""


def load_settings(env: dict[str, str], *names: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _DUMP % (list(names),)],
        cwd=BASE_DIR,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_portal_starts_on_defaults_with_no_environment_at_all():
    result = manage("check", env={})

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = manage("check", env={"DEBUG": "off"})

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_documented_production_settings_pass_check_deploy_without_a_single_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=documented_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_does_complain_about_debug_in_production():
    # The clean result above means something only if the check can fail here.
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=documented_production_env(DEBUG="on"))

    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout


def test_production_mode_sends_cookies_over_https_only_and_serves_hashed_static_files():
    values = load_settings(
        documented_production_env(),
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_REDIRECT_EXEMPT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "STORAGES",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
    )

    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert values["ALLOWED_HOSTS"] == ["voice.example.com", "127.0.0.1"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://voice.example.com"]


def test_development_mode_keeps_plain_http_and_unhashed_static_files():
    values = load_settings(
        {}, "DEBUG", "SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "STORAGES"
    )

    assert values["DEBUG"] is True
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"


@pytest.mark.parametrize(("flag", "expected"), [("on", ["HTTP_X_FORWARDED_PROTO", "https"]), ("off", None)])
def test_proxy_headers_are_trusted_only_when_asked(flag, expected):
    values = load_settings(documented_production_env(TRUST_PROXY_HEADERS=flag), "SECURE_PROXY_SSL_HEADER")

    assert values["SECURE_PROXY_SSL_HEADER"] == expected


def test_postgresql_connections_are_kept_and_checked_and_the_task_queue_shares_the_database():
    env = documented_production_env(DATABASE_URL="postgres://portal:secret-pw@db.internal:5432/portal")
    values = load_settings(env, "DATABASES", "TASKS")

    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["NAME"] == "portal"
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["connect_timeout"] == 10
    # django-tasks-db keeps the queue in the default database: one thing to run and back up.
    assert values["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert list(values["DATABASES"]) == ["default"]


def test_login_throttling_and_upload_limits_come_from_the_environment():
    env = documented_production_env(
        LOGIN_FAILURE_LIMIT="3", LOGIN_COOLOFF_MINUTES="30", DATA_UPLOAD_MAX_MEMORY_SIZE="1000"
    )
    values = load_settings(
        env,
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_TIME",
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
        "AUTHENTICATION_BACKENDS",
        "MIDDLEWARE",
    )

    assert values["AXES_FAILURE_LIMIT"] == 3
    assert values["AXES_COOLOFF_TIME"] == "0:30:00"
    assert values["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 1000
    assert values["AUTHENTICATION_BACKENDS"][0] == "exolve_portal.security.LoginThrottleBackend"
    assert values["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"


def test_production_logs_are_json_and_development_logs_are_plain():
    production = load_settings(documented_production_env(), "LOGGING")["LOGGING"]
    development = load_settings({}, "LOGGING")["LOGGING"]

    assert production["handlers"]["console"]["formatter"] == "json"
    assert development["handlers"]["console"]["formatter"] == "plain"
    assert production["handlers"]["console"]["filters"] == ["redact_secrets"]
    assert development["handlers"]["console"]["filters"] == ["redact_secrets"]


def test_gunicorn_reads_its_settings_from_the_environment():
    env = documented_production_env(GUNICORN_BIND="127.0.0.1:8123", GUNICORN_WORKERS="5", GUNICORN_THREADS="2")
    result = subprocess.run(
        [str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "--print-config"],
        cwd=BASE_DIR,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    config = dict(line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    config = {key.strip(): value.strip() for key, value in config.items()}

    assert result.returncode == 0, result.stderr
    assert config["bind"] == "['127.0.0.1:8123']"
    assert config["workers"] == "5"
    assert config["threads"] == "2"
    assert config["wsgi_app"] == "exolve_portal.wsgi:application"


# --- The log format and its redaction, in this process ------------------------------


def _log_through_portal_handler(settings, *args, **kwargs) -> str:
    """Log one record through a handler configured exactly like the portal's console."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error(*args, **kwargs)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_a_log_line_is_one_json_object_with_the_extras(settings):
    line = _log_through_portal_handler(settings, "sent %d calls", 3, extra={"broadcast_id": 7})

    entry = json.loads(line)
    assert entry["message"] == "sent 3 calls"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "tests.logs"
    assert entry["broadcast_id"] == 7


def test_the_api_key_is_redacted_from_message_arguments_and_traceback(settings):
    settings.EXOLVE_API_KEY = TEST_API_KEY
    try:
        raise RuntimeError(f"request failed with key {TEST_API_KEY}")
    except RuntimeError:
        line = _log_through_portal_handler(
            settings, "headers: %s", {"Authorization": f"Bearer {TEST_API_KEY}"}, exc_info=True
        )

    assert TEST_API_KEY not in line
    entry = json.loads(line)
    assert REDACTED in entry["message"]
    assert REDACTED in entry["exception"]


def test_any_bearer_token_is_redacted_even_when_not_the_configured_key(settings):
    settings.EXOLVE_API_KEY = ""

    line = _log_through_portal_handler(settings, "Authorization: Bearer abc.DEF-123_456")

    assert "abc.DEF-123_456" not in line
    assert "Bearer [redacted]" in line


def test_the_portal_logging_config_redacts_on_every_handler():
    config = build_logging(json_format=True)

    for handler in config["handlers"].values():
        assert "redact_secrets" in handler["filters"]
