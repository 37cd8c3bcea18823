"""The roles again, now that the stop list exists (its permissions are in the roles).

0001 runs as soon as calls 0001 is applied, before the stop list's model exists on a
fresh install: it applies what it can. The model has since moved to audiences (whose
0001 runs after this one): this migration applies what it can too, and 0004 applies the
roles in full.
"""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=True)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0002_steering_roles"),
        ("calls", "0007_reaching_people"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
