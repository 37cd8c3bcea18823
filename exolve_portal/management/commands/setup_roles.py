"""Create the Operators and Managers groups with their permissions (safe to re-run)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from exolve_portal.roles import ROLE_DESCRIPTIONS, setup_roles


class Command(BaseCommand):
    help = _("Create or update the staff roles (Operators, Managers).")

    def handle(self, *args, **options):
        for name, count in setup_roles().items():
            self.stdout.write(
                _("%(group)s: %(count)d permissions (%(what)s)")
                % {"group": name, "count": count, "what": ROLE_DESCRIPTIONS[name]}
            )
