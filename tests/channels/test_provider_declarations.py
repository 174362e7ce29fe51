"""Each provider is declared once (core/providers.py: its families, secret and variable, cap and
prices); the tables the apps read are derived from that list, and narration and sound effects
are separate families, so a speech-only provider is its declaration and breaks no sound effect."""

import pytest
from django.apps import apps
from django.conf import settings

from channels_app.config import PROVIDER_FIELDS
from channels_app.models import SecretName
from core import providers
from core.providers import PROVIDER_LIST, Provider, Secret, providers_expand, tables_from
from costs import prices
from pipeline.steps import AudioStep, SfxStep
from tests.factories import ChannelFactory, VideoTaskFactory

SPEECHCO = Provider(
    "speechco",
    families=("narration",),
    secret=Secret("speechco_api_key", "SpeechCo API key", env="SPEECHCO_API_KEY"),
    cap=4,
    prices={"per_1000_characters": "0.05"},
)


def test_it_derives_every_provider_table_the_apps_read_from_the_one_list():
    assert SecretName.values == [secret.name for secret in providers.SECRETS]
    assert [label for _, label in SecretName.choices][:2] == [
        "YouTube OAuth credentials (JSON)",
        "Notion integration token",
    ]
    assert set(settings.PROVIDER_CONCURRENCY) == set(providers.PROVIDER_CAPS)
    assert settings.PROVIDER_CONCURRENCY["elevenlabs"] == 3
    assert prices.DEFAULT_PRICES is providers.DEFAULT_PRICES
    assert prices.REAL_PROVIDER_BY_COMPONENT == {
        "storyboard": "gemini",
        "image": "gemini",
        "video": "kie",
        "narration": "elevenlabs",
        "sfx": "elevenlabs",
    }
    assert providers.SCRIPT_ENV_BY_SECRET == {
        "gemini_api_key": "GEMINI_API_KEY",
        "kie_api_key": "KIE_API_KEY",
        "elevenlabs_api_key": "ELEVENLABS_API_KEY",
    }
    assert set(PROVIDER_FIELDS) == {*providers.FAMILIES, "voice"}


def test_a_speech_only_provider_is_its_declaration_and_leaves_sound_effects_alone():
    tables = tables_from([*PROVIDER_LIST[:-2], SPEECHCO, *PROVIDER_LIST[-2:]])
    assert tables.providers["narration"] == ("elevenlabs", "speechco", "local")
    assert tables.providers["sfx"] == ("elevenlabs", "local")
    assert tables.secrets_by_provider["speechco"] == ["speechco_api_key"]
    assert tables.script_env_by_secret["speechco_api_key"] == "SPEECHCO_API_KEY"
    assert tables.caps["speechco"] == 4
    assert tables.default_prices["speechco"] == {"per_1000_characters": "0.05"}
    assert tables.real_providers["narration"] == "elevenlabs"


def test_the_voice_shorthand_names_narration_and_sound_effects_and_a_family_of_its_own_wins():
    assert providers_expand({"voice": "local"}) == {"narration": "local", "sfx": "local"}
    assert providers_expand({"voice": "local", "sfx": "elevenlabs"}) == {
        "narration": "local",
        "sfx": "elevenlabs",
    }


@pytest.mark.django_db
def test_narration_and_sound_effects_take_their_own_provider(settings):
    settings.VIDEOGEN_PROVIDER = ""
    channel = ChannelFactory(providers={"narration": "local", "sfx": "elevenlabs"})
    task = VideoTaskFactory(channel=channel)
    assert {spec.provider for spec in AudioStep().units(task)} == {"local"}
    assert {spec.provider for spec in SfxStep().units(task)} == {"elevenlabs"}


@pytest.mark.django_db
def test_a_channel_stored_with_the_voice_shorthand_still_uses_it_for_both(settings):
    settings.VIDEOGEN_PROVIDER = ""
    channel = ChannelFactory(providers={"voice": "local"})
    task = VideoTaskFactory(channel=channel)
    assert {spec.provider for spec in AudioStep().units(task)} == {"local"}
    assert {spec.provider for spec in SfxStep().units(task)} == {"local"}


@pytest.mark.django_db
def test_the_migration_spells_out_a_stored_voice_setting():
    from importlib import import_module

    migration = import_module("channels_app.migrations.0007_providers_narration_and_sfx")
    voice = ChannelFactory(id="voicechannel", providers={"voice": "elevenlabs", "image": "local"})
    own = ChannelFactory(id="ownsfx", providers={"voice": "local", "sfx": "elevenlabs"})
    migration.voice_to_narration_and_sfx(apps, None)
    voice.refresh_from_db()
    own.refresh_from_db()
    assert voice.providers == {"image": "local", "narration": "elevenlabs", "sfx": "elevenlabs"}
    assert own.providers == {"narration": "local", "sfx": "elevenlabs"}
