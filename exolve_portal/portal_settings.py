"""Every portal setting, declared once: its name, type, default, bounds and meaning.

`exolve_portal/settings.py` reads them from the environment through `read()`, and
`check_portal_settings` (a system check) names every value that is wrong, so
`manage.py check` (and every command that runs the checks, `db_worker` included) stops
before the worker does. A value that cannot be read (a word where a number belongs, a
time zone that does not exist) is replaced by its default while read, and reported.

Two groups:
- OPERATOR: what the people who run the portal decide (README "Configuration", `.env.example`).
- TUNING: internal timings and sizes, with defaults that need no changing. They stay
  readable from the environment only so that tests and benchmarks can tune worker
  processes they start; the README does not list them.

Settings Django itself defines (DEBUG, DATABASE_URL, the security ones) are read in
settings.py as Django documents them; TIME_ZONE is declared here because a wrong one
would otherwise stop every command with a traceback instead of a message.

Calling hours and retries are read here as text and numbers; whether they make a send
plan the form would take is checked with the plan's own rules (calls.plan_rules,
calls.E001-E003), in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TRUE_WORDS = {"1", "true", "yes", "on", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "off", "n", "f", ""}


class Unreadable(ValueError):
    """A value from the environment that is not of the setting's type; `str()` says why."""


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Unreadable("not on or off")


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise Unreadable("not a whole number") from None


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise Unreadable("not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Unreadable("not a number")
    return value


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _zone(text: str) -> str:
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unreadable("no such time zone") from None
    return name


def _url(text: str) -> str:
    url = text.strip()
    if not url.startswith(("https://", "http://")):
        raise Unreadable("not an http(s):// address")
    return url


PARSERS: dict[str, Callable[[str], object]] = {
    "text": str,
    "on/off": _boolean,
    "whole number": _integer,
    "number": _number,
    "list": _words,
    "path": str.strip,
    "time zone": _zone,
    "url": _url,
}
# What a value of each type is in Python (for the check of values set in code, e.g. by tests).
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "on/off": (bool,),
    "whole number": (int,),
    "number": (int, float),
    "list": (list, tuple),
    "path": (str, Path),
    "time zone": (str,),
    "url": (str,),
}


@dataclass(frozen=True)
class Setting:
    name: str
    type: str  # a key of PARSERS
    default: object  # or a callable(values read so far, var_dir) for defaults that follow others
    meaning: str
    minimum: float | None = None
    # The name this setting had before: still read, with a warning, for one release.
    old_name: str = ""

    def default_for(self, values: Mapping[str, object], var_dir: Path) -> object:
        return self.default(values, var_dir) if callable(self.default) else self.default

    def problem(self, value: object) -> str:
        """What is wrong with `value` in plain words, or ""."""
        a_bool_for_a_number = isinstance(value, bool) and self.type != "on/off"
        if a_bool_for_a_number or not isinstance(value, PYTHON_TYPES[self.type]):
            return "must be on or off" if self.type == "on/off" else f"must be a {self.type}"
        if self.type == "time zone":
            try:
                _zone(value)
            except Unreadable as error:
                return str(error)
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}"
        return ""


OPERATOR = (
    Setting("TIME_ZONE", "time zone", "Europe/Moscow", "time zone of pages, reports and broadcasts"),
    Setting("EXOLVE_API_KEY", "text", "", "the Exolve application's API key; empty: the built-in sandbox"),
    Setting("EXOLVE_API_URL", "url", "https://api.exolve.ru", "Exolve API base address"),
    Setting(
        "EXOLVE_SANDBOX",
        "on/off",
        lambda values, var_dir: not values["EXOLVE_API_KEY"],
        "use the built-in sandbox instead of Exolve: nobody is really called (default: on when no key is set)",
    ),
    Setting(
        "EXOLVE_SOURCE_NUMBERS",
        "list",
        [],
        "an override only: when set, staff send from exactly these numbers (comma-separated) instead of the "
        "caller numbers Managers enable in the admin (synced from Exolve); sandbox with none enabled: its own",
    ),
    Setting(
        "EXOLVE_SMS_SENDER_NAMES",
        "list",
        [],
        "SMS sender names registered for the application in the Exolve personal account (comma-separated), "
        "offered for follow-up SMS besides the enabled mobile caller numbers",
    ),
    Setting(
        "EXOLVE_CALLING_HOURS",
        "text",
        "09:00-21:00",
        "calls ring only inside these hours of the callee's local time (`any`: any time); a broadcast may set "
        'narrower ones (wider or any time: Managers, "send at any time")',
    ),
    Setting(
        "EXOLVE_CALLING_HOURS_WEEKEND",
        "text",
        "",
        "the same for weekends and public holidays of the Russian production calendar (empty: the same as "
        "EXOLVE_CALLING_HOURS)",
    ),
    Setting(
        "EXOLVE_RETRIES", "whole number", 0, "automatic retries of no-answer and busy calls the send form offers (0-5)"
    ),
    Setting("EXOLVE_RETRY_AFTER_MINUTES", "whole number", 30, "minutes between automatic attempts (5-10080)"),
    Setting(
        "EXOLVE_MAX_CALLS_PER_NUMBER_DAY",
        "whole number",
        0,
        "at most this many calls to one number per day, across broadcasts (0: no limit)",
        minimum=0,
    ),
    Setting(
        "EXOLVE_MAX_CALLS_PER_NUMBER_WEEK",
        "whole number",
        0,
        "at most this many calls to one number per week, across broadcasts (0: no limit)",
        minimum=0,
    ),
    Setting(
        "EXOLVE_MAX_CALLS_PER_NUMBER_MONTH",
        "whole number",
        0,
        "at most this many calls to one number in 31 days, across broadcasts (0: no limit)",
        minimum=0,
    ),
    Setting(
        "EXOLVE_UPLOAD_MAX_ROWS", "whole number", 10_000, "most numbers one uploaded or pasted list may hold", minimum=1
    ),
    Setting("EXOLVE_UPLOAD_MAX_BYTES", "whole number", 5 * 1024 * 1024, "largest uploaded list, in bytes", minimum=1),
    Setting(
        "EXOLVE_API_RATE_PER_MINUTE",
        "whole number",
        600,
        "requests one API token may make per minute, shared by every worker (0: no limit); more answer 429",
        minimum=0,
    ),
    Setting(
        "EXOLVE_API_SENDS_KEPT_DAYS",
        "whole number",
        30,
        "days an API send (its Idempotency-Key and answer) is kept; the same key after that is a new send",
        minimum=1,
    ),
    Setting(
        "EXOLVE_EXPORT_IN_REQUEST",
        "whole number",
        100_000,
        "exporting more calls than this runs in the background; its progress page offers the file",
        minimum=0,
    ),
    Setting(
        "EXOLVE_EXPORT_DIR",
        "path",
        lambda values, var_dir: str(var_dir / "exports"),
        "where background exports wait to be downloaded (default var/exports)",
    ),
    Setting(
        "EXOLVE_EXPORT_KEEP_HOURS",
        "number",
        24.0,
        "background exports older than this many hours are deleted",
        minimum=0,
    ),
    Setting("EXOLVE_TIMEOUT", "number", 15.0, "seconds to wait for Exolve's answer", minimum=0.1),
    Setting(
        "EXOLVE_MAX_IN_FLIGHT",
        "whole number",
        20,
        "Exolve requests one worker process keeps in flight at once (sending, refreshing, syncing, deleting)",
        minimum=1,
    ),
    Setting(
        "EXOLVE_MAX_RPS",
        "number",
        0.0,
        "Exolve requests per second per worker process (0: no cap; Exolve documents no limit)",
        minimum=0,
    ),
    # Integrations (integrations/): webhooks, e-mail notices, metrics.
    Setting("EXOLVE_METRICS_TOKEN", "text", "", "token Prometheus sends (Authorization: Bearer ...) for /metrics"),
    Setting(
        "EXOLVE_METRICS_ALLOWED_ADDRESSES",
        "list",
        [],
        "addresses or networks that may read /metrics without the token, e.g. 127.0.0.1,10.0.0.0/8",
    ),
    Setting(
        "EXOLVE_WEBHOOKS_ALLOW_PRIVATE",
        "on/off",
        False,
        "let webhooks go to private, loopback and link-local addresses (a receiver inside the company's network)",
    ),
    Setting("EXOLVE_WEBHOOK_RETRY_HOURS", "number", 24.0, "hours a failing webhook delivery is retried", 0),
    Setting(
        "EXOLVE_WEBHOOK_DISABLE_AFTER",
        "whole number",
        100,
        "failed webhook attempts in a row after which an endpoint is switched off (its owner is told)",
        1,
    ),
)

TUNING = (
    Setting(
        "EXOLVE_WEBHOOK_TIMEOUT", "number", 10.0, "seconds to wait for a webhook receiver (connect, each read)", 0.1
    ),
    Setting("EXOLVE_WEBHOOK_IN_FLIGHT", "whole number", 20, "webhook requests one worker keeps in flight", 1),
    Setting(
        "EXOLVE_SANDBOX_STATE",
        "path",
        lambda values, var_dir: str(var_dir / "sandbox.sqlite3"),
        "where the sandbox keeps its state",
    ),
    Setting("EXOLVE_CONNECT_TIMEOUT", "number", 3.05, "seconds to wait for a connection to Exolve", 0.1),
    Setting(
        "EXOLVE_SEND_TASKS_PER_BROADCAST",
        "whole number",
        4,
        "send tasks enqueued per broadcast, so several workers share it",
        1,
    ),
    Setting(
        "EXOLVE_SENDING_CALL_UNKNOWN_AFTER",
        "whole number",
        300,
        'seconds after which a call left "sending" by a stopped worker becomes "unknown" (never sent again)',
        0,
        old_name="EXOLVE_SENDING_STALE_AFTER",
    ),
    Setting(
        "EXOLVE_SEND_TASK_LOST_AFTER",
        "whole number",
        120,
        "seconds after which queued calls with no send task waiting, or whose send task's worker gave no sign of "
        "life, go to a new send task",
        0,
        old_name="EXOLVE_SEND_STALLED_AFTER",
    ),
    Setting("EXOLVE_REFRESH_FIRST_DELAY", "number", 5.0, "seconds after sending before the first refresh", 0),
    Setting("EXOLVE_REFRESH_MAX_DELAY", "number", 900.0, "longest wait between two refreshes of a call", 0),
    Setting("EXOLVE_REFRESH_MAX_AGE", "number", 86_400.0, "seconds after sending when refreshing stops", 0),
    Setting(
        "EXOLVE_REFRESH_LEASE",
        "number",
        120.0,
        "seconds a refresh task leases the calls it takes, renewed while its batch lasts",
        0.1,
    ),
    Setting(
        "EXOLVE_REFRESH_IN_REQUEST",
        "whole number",
        20,
        "refreshing more calls than this from a staff page runs in the background",
        0,
    ),
    Setting(
        "EXOLVE_DELETE_IN_REQUEST",
        "whole number",
        5,
        "deleting more voice messages than this at once runs in the background",
        0,
    ),
    Setting(
        "JOBS_STALE_AFTER",
        "whole number",
        600,
        "seconds without progress after which a running background job counts as stopped",
        1,
    ),
)

SETTINGS = OPERATOR + TUNING
BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class ReadResult:
    values: dict[str, object]
    # name -> (the text found, why it could not be read): the default stands in.
    unreadable: dict[str, tuple[str, str]]
    # new name -> old name found in the environment (and used).
    old_names: dict[str, str]


def read(environ: Mapping[str, str], var_dir: Path) -> ReadResult:
    """Every declared setting from `environ` (the process environment after .env), typed."""
    values: dict[str, object] = {}
    unreadable: dict[str, tuple[str, str]] = {}
    old_names: dict[str, str] = {}
    for setting in SETTINGS:
        text = environ.get(setting.name)
        if text is None and setting.old_name and setting.old_name in environ:
            text = environ[setting.old_name]
            old_names[setting.name] = setting.old_name  # the checks warn (logging is not set up yet)
        # An empty value (`EXOLVE_API_URL=` in .env) means the default, except where empty
        # means something (no text, an empty list).
        if text is None or (not text.strip() and setting.type not in ("text", "list")):
            values[setting.name] = setting.default_for(values, var_dir)
            continue
        try:
            values[setting.name] = PARSERS[setting.type](text)
        except Unreadable as error:
            unreadable[setting.name] = (text, str(error))
            values[setting.name] = setting.default_for(values, var_dir)
    return ReadResult(values, unreadable, old_names)
