"""The stop list's model moves here from calls without its table moving.

The table keeps its name (`calls_stoplistentry`, the model's `db_table`): only Django's
state changes, here (the model is created) and in calls 0009 (it is deleted). Its
content type is renamed from calls to audiences, so the permissions that point at it,
the groups holding them and the admin's audit entries (LogEntry) follow the model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODEL = "stoplistentry"


def move_content_type(apps, schema_editor, source="calls", target="audiences"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    db = schema_editor.connection.alias
    old = ContentType.objects.using(db).filter(app_label=source, model=MODEL).first()
    if old is None:
        return  # a fresh database: the content type is made after migrate, already under `target`
    new = ContentType.objects.using(db).filter(app_label=target, model=MODEL).first()
    if new is None:
        old.app_label = target
        old.save(update_fields=["app_label"])
        return
    # Both exist (a content type made under the new name meanwhile): keep the new one,
    # give it the old one's permissions (their group assignments with them) and audit entries.
    taken = set(Permission.objects.using(db).filter(content_type=new).values_list("codename", flat=True))
    for permission in Permission.objects.using(db).filter(content_type=old):
        if permission.codename in taken:
            twin = Permission.objects.using(db).get(content_type=new, codename=permission.codename)
            for group in permission.group_set.all():
                group.permissions.add(twin)
            for user in permission.user_set.all():
                user.user_permissions.add(twin)
            permission.delete()
        else:
            permission.content_type = new
            permission.save(update_fields=["content_type"])
    LogEntry.objects.using(db).filter(content_type=old).update(content_type=new)
    old.delete()


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="audiences", target="calls")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("calls", "0008_claim_index_only"),
        # The roles migration that made the permissions under calls on a fresh install runs
        # first, so that they are moved here with the rest.
        ("exolve_portal", "0003_stop_list_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StopListEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("number", models.CharField(max_length=15, unique=True, verbose_name="number")),
                        (
                            "reason",
                            models.CharField(
                                choices=[
                                    ("asked", "asked not to be called"),
                                    ("complaint", "complaint"),
                                    ("wrong_person", "wrong person"),
                                    ("other", "other"),
                                ],
                                default="asked",
                                max_length=16,
                                verbose_name="reason",
                            ),
                        ),
                        ("note", models.CharField(blank=True, max_length=255, verbose_name="note")),
                        ("added_at", models.DateTimeField(auto_now_add=True, verbose_name="added at")),
                        (
                            "added_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="added by",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "stop-list number",
                        "verbose_name_plural": "stop list",
                        "ordering": ["-added_at", "-pk"],
                        "db_table": "calls_stoplistentry",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
