from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0013_broadcast_basis'),
    ]

    operations = [
        migrations.AddField(
            model_name='broadcast',
            name='calling_hours_rest',
            field=models.CharField(blank=True, default='', max_length=16, verbose_name='calling hours on weekends and holidays'),
        ),
    ]
