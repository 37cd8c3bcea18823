"""The roles again, now that the stop list's permissions are the audiences app's.

0001 and 0003 run before the model moved (audiences 0001): they apply what they can,
and this migration applies the roles in full.
"""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0003_stop_list_roles"),
        ("audiences", "0001_stop_list_from_calls"),
        ("calls", "0009_stop_list_moved_to_audiences"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
