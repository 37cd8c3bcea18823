"""The roles again: Managers may now invite colleagues (auth.add_user, used by the invitation page)."""

from django.db import migrations


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("exolve_portal", "0004_stop_list_roles_in_audiences"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
