"""The roles again: Managers create, change and revoke API tokens (api 0001)."""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("exolve_portal", "0006_audience_permissions"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
