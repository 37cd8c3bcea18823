"""The portal's settings are typed and checked: a bad value fails `manage.py check` by name."""

import re
from pathlib import Path

import pytest

from calls.plan_rules import plan_settings
from exolve_portal import portal_settings
from exolve_portal.checks import portal_settings_valid
from tests.deploy_env import BASE_DIR, manage

VAR = Path("/nonexistent-var")


def _messages(settings, environ: dict | None = None, **overrides) -> dict[str, str]:
    """Check id -> message of the portal's setting checks, after reading `environ` and setting `overrides`."""
    if environ is not None:
        read = portal_settings.read(environ, VAR)
        settings.PORTAL_SETTINGS_UNREADABLE, settings.PORTAL_SETTINGS_OLD_NAMES = read.unreadable, read.old_names
        for name in set(environ) & set(portal_settings.BY_NAME):
            setattr(settings, name, read.values[name])
    for name, value in overrides.items():
        setattr(settings, name, value)
    found = {}
    for message in portal_settings_valid(None) + plan_settings(None):
        found[message.id] = found.get(message.id, "") + message.msg
    return found


def test_the_defaults_read_from_an_empty_environment_pass_every_check(settings):
    read = portal_settings.read({}, VAR)

    assert not read.unreadable and not read.old_names
    assert read.values["EXOLVE_SANDBOX"] is True  # no key: the sandbox
    assert read.values["EXOLVE_EXPORT_DIR"] == str(VAR / "exports")
    assert _messages(settings, {}, **read.values) == {}


def test_an_empty_value_means_the_default_where_empty_means_nothing_else():
    """`EXOLVE_API_URL=` in a .env file: the default address, not an error."""
    read = portal_settings.read({"EXOLVE_API_URL": "", "EXOLVE_TIMEOUT": " ", "EXOLVE_SOURCE_NUMBERS": ""}, VAR)

    assert not read.unreadable
    assert read.values["EXOLVE_API_URL"] == "https://api.exolve.ru"
    assert read.values["EXOLVE_TIMEOUT"] == portal_settings.read({}, VAR).values["EXOLVE_TIMEOUT"]
    assert read.values["EXOLVE_SOURCE_NUMBERS"] == []  # an empty list is a value


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("EXOLVE_MAX_IN_FLIGHT", "twenty", "not a whole number"),
        ("EXOLVE_TIMEOUT", "nan", "not a number"),
        ("EXOLVE_SANDBOX", "maybe", "not on or off"),
        ("TIME_ZONE", "Europe/Atlantis", "no such time zone"),
        ("EXOLVE_API_URL", "api.exolve.ru", "not an http(s):// address"),
    ],
)
def test_a_value_that_cannot_be_read_is_an_error_naming_the_setting_and_the_default_stands_in(
    settings, name, text, why
):
    messages = _messages(settings, {name: text})

    assert messages["exolve_portal.E001"] == f"{name}={text!r} cannot be read: {why}."
    assert portal_settings.read({name: text}, VAR).values[name] == portal_settings.read({}, VAR).values[name]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("EXOLVE_MAX_CALLS_PER_NUMBER_DAY", -1, "must be at least 0"),
        ("EXOLVE_MAX_IN_FLIGHT", 0, "must be at least 1"),
        ("EXOLVE_UPLOAD_MAX_ROWS", "many", "must be a whole number"),
    ],
)
def test_a_value_out_of_bounds_is_an_error_naming_the_setting(settings, name, value, problem):
    assert _messages(settings, **{name: value}) == {"exolve_portal.E002": f"{name}={value!r} {problem}."}


def test_calling_hours_that_cannot_be_read_are_an_error_naming_the_setting(settings):
    # The window's syntax is the send plan's own rule (calls.plan_rules), checked there once.
    assert "EXOLVE_CALLING_HOURS='9 to 5'" in _messages(settings, EXOLVE_CALLING_HOURS="9 to 5")["calls.E001"]


def test_an_old_name_still_works_for_one_release_with_a_warning(settings):
    read = portal_settings.read({"EXOLVE_SEND_STALLED_AFTER": "7"}, VAR)

    assert read.values["EXOLVE_SEND_TASK_LOST_AFTER"] == 7
    messages = _messages(settings, {"EXOLVE_SEND_STALLED_AFTER": "7"})
    assert "EXOLVE_SEND_STALLED_AFTER is now called EXOLVE_SEND_TASK_LOST_AFTER" in messages["exolve_portal.W002"]
    # The new name wins when both are set.
    assert (
        portal_settings.read({"EXOLVE_SEND_TASK_LOST_AFTER": "9", "EXOLVE_SEND_STALLED_AFTER": "7"}, VAR).values[
            "EXOLVE_SEND_TASK_LOST_AFTER"
        ]
        == 9
    )


def test_manage_check_fails_before_anything_starts_on_a_bad_value():
    result = manage("check", env={"EXOLVE_MAX_CALLS_PER_NUMBER_WEEK": "-3", "TIME_ZONE": "Mars/Olympus"})

    assert result.returncode != 0
    assert "EXOLVE_MAX_CALLS_PER_NUMBER_WEEK=-3 must be at least 0" in result.stderr
    assert "TIME_ZONE='Mars/Olympus' cannot be read: no such time zone" in result.stderr


def test_the_readme_and_env_example_list_exactly_the_operator_settings():
    readme = (BASE_DIR / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    in_table = set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.MULTILINE))
    operator = {setting.name for setting in portal_settings.OPERATOR}
    assert operator <= in_table
    assert not in_table & {setting.name for setting in portal_settings.TUNING}
    example = (BASE_DIR / ".env.example").read_text()
    assert operator <= set(re.findall(r"^#([A-Z_]+)=", example, re.MULTILINE))
