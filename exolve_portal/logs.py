"""Logging for the portal, gunicorn and the workers: one JSON object per line on stdout.

- ``JSONFormatter`` writes what a log collector (journald, Loki, ...) can parse.
- ``RedactSecretsFilter`` sits on every handler and replaces the Exolve API key, the
  SECRET_KEY, the database password and any ``Bearer ...`` token with ``[redacted]``,
  in the message, its arguments, the traceback and the stack. It works without
  Django configured (gunicorn's master process), reading the environment instead.

``build_logging()`` returns the dictConfig used by settings.py and gunicorn.conf.py.
Only the standard library is imported here, so gunicorn can load it before Django.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

REDACTED = "[redacted]"
# Any bearer token, whoever's it is: a header dumped by a library must not leak it.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# A secret shorter than this is not searched for: it would redact ordinary words.
_MIN_SECRET_LENGTH = 6

# Standard LogRecord attributes; anything else was passed in ``extra=`` and is kept.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _secrets() -> list[str]:
    """The values that must never appear in a log line, longest first."""
    values = []
    try:
        from django.conf import settings

        if settings.configured:
            values += [
                getattr(settings, "EXOLVE_API_KEY", ""),
                getattr(settings, "SECRET_KEY", ""),
                settings.DATABASES.get("default", {}).get("PASSWORD", ""),
            ]
    except Exception:  # noqa: BLE001 - logging must never fail because of settings
        pass
    values += [os.environ.get("EXOLVE_API_KEY", ""), os.environ.get("SECRET_KEY", "")]
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        try:
            password = urlsplit(database_url).password
        except ValueError:
            password = None
        if password:
            values += [password, unquote(password)]
    unique = {str(v) for v in values if v and len(str(v)) >= _MIN_SECRET_LENGTH}
    return sorted(unique, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every known secret and bearer token replaced by ``[redacted]``."""
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record so no handler can write a secret. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is still worth logging
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RefusalWithoutTracebackFilter(logging.Filter):
    """A refused request (4xx: 403 PermissionDenied, ...) is logged as one line, without its traceback.

    Django passes the exception of a refusal to ``django.request``; the refusal is the
    portal working as meant, and a traceback per refused page would bury real errors.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info, record.exc_text = None, None
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key.startswith("_") or key in entry:
                continue
            if key == "request":  # django.request passes the HttpRequest: keep what matters
                entry["method"] = getattr(value, "method", None)
                entry["path"] = getattr(value, "path", None)
                continue
            entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else redact(str(value))
        return json.dumps(entry, ensure_ascii=False, default=str)


def build_logging(*, json_format: bool = True, level: str = "INFO") -> dict:
    """The LOGGING dictConfig: everything to stdout, secrets redacted on every handler."""
    formatter = "json" if json_format else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact_secrets": {"()": "exolve_portal.logs.RedactSecretsFilter"},
            "refusal_without_traceback": {"()": "exolve_portal.logs.RefusalWithoutTracebackFilter"},
        },
        "formatters": {
            "json": {"()": "exolve_portal.logs.JSONFormatter"},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": formatter,
                "filters": ["redact_secrets"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # 403 and other refusals: one warning line each (they propagate to the console).
            "django.request": {"filters": ["refusal_without_traceback"]},
            # urllib3 logs request lines at DEBUG; never let headers near a log.
            "urllib3": {"level": "WARNING"},
            # Gunicorn's own loggers go through the same handler (see gunicorn.conf.py).
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
