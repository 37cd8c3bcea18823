"""The stop list's model now belongs to audiences (audiences 0001): removed from this
app's state only; its table stays where it is and is the audiences model's table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0008_claim_index_only"),
        ("audiences", "0001_stop_list_from_calls"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StopListEntry")],
            database_operations=[],
        ),
    ]
