"""System checks for the people who deploy the portal."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


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
