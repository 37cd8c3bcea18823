# An API send is now accepted by the request (one row) and recorded by a worker: the key's row
# becomes the send, keeping the keys (and answers) of sends made before.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_manager_token_permissions"),
        ("calls", "0016_sms_followup"),
    ]

    operations = [
        migrations.RenameModel("IdempotencyKey", "ApiSend"),
        migrations.AlterModelOptions(
            name="apisend",
            options={"default_permissions": (), "verbose_name": "API send", "verbose_name_plural": "API sends"},
        ),
        migrations.AddField("apisend", "body", models.JSONField(default=dict)),
        # The sends made before were recorded by their request.
        migrations.AddField(
            "apisend",
            "state",
            models.CharField(
                choices=[("accepted", "accepted, being recorded"), ("recorded", "recorded"), ("refused", "refused")],
                default="recorded",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            "apisend",
            "state",
            models.CharField(
                choices=[("accepted", "accepted, being recorded"), ("recorded", "recorded"), ("refused", "refused")],
                default="accepted",
                max_length=10,
            ),
        ),
        migrations.AddField("apisend", "language", models.CharField(blank=True, default="", max_length=10)),
        migrations.AddField("apisend", "recorded_at", models.DateTimeField(blank=True, null=True)),
        migrations.AddIndex(
            "apisend",
            models.Index(condition=models.Q(("state", "accepted")), fields=["id"], name="api_send_to_record"),
        ),
    ]
