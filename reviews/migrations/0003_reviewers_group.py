"""The "Reviewers" group: may approve and reject at review gates (reviews.can_review) and view
what a review needs (tasks, reviews, the audit log, costs, quota).

Permissions are normally created after migrations (post_migrate), so on a fresh database they do
not exist yet when this runs: the rows are created here (get_or_create, with their content types),
and the later post_migrate pass finds them and leaves them alone."""

from django.db import migrations

GROUP = "Reviewers"
# (app_label, model, codename, name)
PERMISSIONS = [
    ("reviews", "review", "can_review", "Can approve or reject videos at review gates"),
    ("reviews", "review", "view_review", "Can view review"),
    ("reviews", "auditlog", "view_auditlog", "Can view audit log"),
    ("pipeline", "videotask", "view_videotask", "Can view video task"),
    ("costs", "videocost", "view_videocost", "Can view video cost"),
    ("costs", "youtubequotausage", "view_youtubequotausage", "Can view you tube quota usage"),
]


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, model, codename, name in PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_auditlog_append_only"),
        ("pipeline", "0001_initial"),
        ("costs", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]
