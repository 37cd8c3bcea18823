"""System checks for the people who deploy the portal."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from exolve_portal import portal_settings


@register(Tags.security, deploy=True)
def sandbox_in_production(app_configs, **kwargs):
    """`check --deploy` warns when a production install would call nobody."""
    if settings.EXOLVE_SANDBOX:
        return [
            Warning(
                "The Exolve sandbox is in use: nobody is really called.",
                hint="Set EXOLVE_API_KEY (and leave EXOLVE_SANDBOX unset) to use the real Exolve API.",
                id="exolve_portal.W001",
            )
        ]
    return []


@register()
def portal_settings_valid(app_configs, **kwargs):
    """`manage.py check` names every portal setting that cannot be read or is out of bounds.

    Runs before `db_worker` and `runserver` start, so a typo stops them with the setting's
    name instead of failing later inside a task.
    """
    messages = []
    unreadable = getattr(settings, "PORTAL_SETTINGS_UNREADABLE", {})
    for setting in portal_settings.SETTINGS:
        if setting.name in unreadable:
            text, why = unreadable[setting.name]
            messages.append(
                Error(
                    f"{setting.name}={text!r} cannot be read: {why}.",
                    hint=f"{setting.name}: {setting.meaning}.",
                    id="exolve_portal.E001",
                )
            )
            continue
        value = getattr(settings, setting.name, None)
        if problem := setting.problem(value):
            messages.append(
                Error(
                    f"{setting.name}={value!r} {problem}.",
                    hint=f"{setting.name}: {setting.meaning}.",
                    id="exolve_portal.E002",
                )
            )
    for new, old in getattr(settings, "PORTAL_SETTINGS_OLD_NAMES", {}).items():
        messages.append(
            Warning(
                f"{old} is now called {new}; the old name is read for this release only.",
                hint=f"Rename {old} to {new} in the environment or .env.",
                id="exolve_portal.W002",
            )
        )
    return messages
