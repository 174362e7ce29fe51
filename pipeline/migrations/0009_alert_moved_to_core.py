"""Alert now belongs to core (core 0001 took it over in Django's state): dropped from pipeline's
state only; the table pipeline_alert stays, core's model uses it."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0008_upload_fingerprint_and_worker_starts'),
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='Alert')],
        ),
    ]
