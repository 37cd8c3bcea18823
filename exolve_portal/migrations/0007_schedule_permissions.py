"""The roles again: repeating broadcasts (schedules 0001) for Operators and Managers."""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0006_audience_permissions"),
        ("schedules", "0001_initial"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
