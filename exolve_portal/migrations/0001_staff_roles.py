"""The Operators and Managers groups on a fresh install (the same as `manage.py setup_roles`)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from exolve_portal.roles import setup_roles

    # Permissions are normally created after `migrate` finishes (post_migrate); the
    # roles need them now, so create them from this migration's state first.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    # Permissions of models added by later migrations do not exist yet: 0002 applies them.
    setup_roles(apps, skip_missing=True)


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("calls", "0001_initial"),
        ("voicemessages", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
