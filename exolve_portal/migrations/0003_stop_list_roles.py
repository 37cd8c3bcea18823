"""The roles again, now that the stop list exists (its permissions are in the roles).

0001 runs as soon as calls 0001 is applied, before the stop list's model exists on a
fresh install: it applies what it can, and this migration applies the roles in full.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import setup_roles

    # Permissions are normally created after `migrate` finishes (post_migrate); the
    # roles need them now, so create them from this migration's state first.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    setup_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0002_steering_roles"),
        ("calls", "0007_reaching_people"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
