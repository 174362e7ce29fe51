"""AuditLog now belongs to core (core 0001 took it over in Django's state): dropped from
reviews' state only; the table reviews_auditlog and its append-only triggers stay, core's model
uses them."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0008_auditlog_channel'),
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='AuditLog')],
        ),
    ]
