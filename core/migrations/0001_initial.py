"""Alert and AuditLog move to core without touching the database: their tables (pipeline_alert,
reviews_auditlog, with the audit log's append-only triggers) stay as they are; only Django's state
changes hands (pipeline 0009 and reviews 0009 drop them from their apps' state). Their content
types are relabelled, so the permissions granted on them (the Reviewers group's view_auditlog)
and the admin's history keep pointing at them."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = [("pipeline", "alert"), ("reviews", "auditlog")]


def relabel_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        if not ContentType.objects.filter(app_label="core", model=model).exists():
            ContentType.objects.filter(app_label=app_label, model=model).update(app_label="core")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        if not ContentType.objects.filter(app_label=app_label, model=model).exists():
            ContentType.objects.filter(app_label="core", model=model).update(app_label=app_label)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('channels_app', '0006_channel_budget_per_video'),
        ('pipeline', '0008_upload_fingerprint_and_worker_starts'),
        ('reviews', '0008_auditlog_channel'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Alert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('level', models.CharField(max_length=10)),
                        ('key', models.CharField(db_index=True, max_length=200)),
                        ('title', models.CharField(max_length=256)),
                        ('message', models.TextField()),
                        ('delivered', models.BooleanField(default=False)),
                        ('suppressed', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ],
                    options={
                        'db_table': 'pipeline_alert',
                    },
                ),
                migrations.CreateModel(
                    name='AuditLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('actor', models.CharField(max_length=150)),
                        ('action', models.CharField(db_index=True, max_length=50)),
                        ('object_type', models.CharField(blank=True, max_length=50)),
                        ('object_id', models.CharField(blank=True, max_length=100)),
                        ('notes', models.TextField(blank=True)),
                        ('metadata', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('channel', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='audit_entries', to='channels_app.channel')),
                        ('task', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='audit_entries', to='pipeline.videotask')),
                    ],
                    options={
                        'db_table': 'reviews_auditlog',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['channel', 'created_at'], name='audit_channel_time')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('actor', ''), _negated=True), name='audit_actor_named'), models.CheckConstraint(condition=models.Q(('action', ''), _negated=True), name='audit_action_named')],
                    },
                ),
            ],
        ),
        migrations.RunPython(relabel_content_types, restore_content_types),
    ]
