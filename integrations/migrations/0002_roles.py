"""The roles again: webhook endpoints, their delivery log and notice subscriptions for Managers (an existing database)."""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("exolve_portal", "0006_audience_permissions"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
