"""Managers may steer anyone's broadcast and send at any time (permissions from calls 0005 and 0006)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import setup_roles

    # As in 0001: the permissions are created after `migrate` unless created here first.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    setup_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0001_staff_roles"),
        ("calls", "0006_send_plan"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
