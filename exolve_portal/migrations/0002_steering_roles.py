"""Managers may steer anyone's broadcast and send at any time (permissions from calls 0005 and 0006)."""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=True)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0001_staff_roles"),
        ("calls", "0006_send_plan"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
