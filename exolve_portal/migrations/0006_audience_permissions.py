"""The roles again: contacts, lists and consent (audiences 0002) for Operators and Managers."""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0005_managers_invite_colleagues"),
        ("audiences", "0002_contacts_lists_consent"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
