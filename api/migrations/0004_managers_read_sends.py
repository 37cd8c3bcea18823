"""Managers read what became of each API send (the admin's "API sends"): its columns' names, the view
permission and the roles again."""

import django.db.models.deletion
from django.db import migrations, models


def apply_roles(apps, schema_editor):
    from exolve_portal.roles import apply_in_migration

    apply_in_migration(apps, skip_missing=False)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_sends_recorded_by_workers"),
        ("exolve_portal", "0007_schedule_permissions"),
        ("integrations", "0004_send_finished_event"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apisend",
            options={"default_permissions": ("view",), "verbose_name": "API send", "verbose_name_plural": "API sends"},
        ),
        migrations.AlterField(
            model_name="apisend",
            name="broadcast",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="calls.broadcast",
                verbose_name="broadcast",
            ),
        ),
        migrations.AlterField(
            model_name="apisend",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="accepted at"),
        ),
        migrations.AlterField(
            model_name="apisend",
            name="key",
            field=models.CharField(max_length=255, verbose_name="Idempotency-Key"),
        ),
        migrations.AlterField(
            model_name="apisend",
            name="recorded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="recorded at"),
        ),
        migrations.AlterField(
            model_name="apisend",
            name="state",
            field=models.CharField(
                choices=[("accepted", "accepted, being recorded"), ("recorded", "recorded"), ("refused", "refused")],
                default="accepted",
                max_length=10,
                verbose_name="state",
            ),
        ),
        migrations.AlterField(
            model_name="apisend",
            name="token",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="api.apitoken",
                verbose_name="API token",
            ),
        ),
        migrations.RunPython(apply_roles, migrations.RunPython.noop),
    ]
