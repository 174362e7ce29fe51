"""Narration and sound effects are separate provider families: a channel's stored `voice`
setting becomes `narration` and `sfx` (a family already set on its own keeps its value)."""

from django.db import migrations


def voice_to_narration_and_sfx(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    for channel in Channel.objects.filter(providers__has_key="voice"):
        providers = dict(channel.providers)
        voice = providers.pop("voice")
        for family in ("narration", "sfx"):
            providers[family] = providers.get(family) or voice
        channel.providers = providers
        channel.save(update_fields=["providers"])


def narration_and_sfx_to_voice(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    for channel in Channel.objects.filter(providers__has_key="narration"):
        providers = dict(channel.providers)
        narration = providers.pop("narration")
        providers.pop("sfx", None)
        providers["voice"] = narration
        channel.providers = providers
        channel.save(update_fields=["providers"])


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0006_channel_budget_per_video")]

    operations = [migrations.RunPython(voice_to_narration_and_sfx, narration_and_sfx_to_voice)]
