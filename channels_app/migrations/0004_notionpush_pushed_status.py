from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_notion_board"),
    ]

    operations = [
        migrations.AddField(
            model_name="notionpush",
            name="pushed_status",
            field=models.CharField(blank=True, max_length=40),
        ),
    ]
