"""The services the pipeline calls, each declared once: the families of work it does, the secret
it needs (and the environment variable a script reads it from), its default concurrency cap and
its prices. The tables the apps read (PROVIDERS, SECRETS_BY_PROVIDER, SECRETS,
SCRIPT_ENV_BY_SECRET, DEFAULT_PRICES, REAL_PROVIDER_BY_COMPONENT, PROVIDER_CAPS) are derived
from the list, so a new provider (a speech-only narration service, say) is its declaration.

Plain Python, no Django: settings read the caps here, channels_app builds its SecretName from it."""

from dataclasses import dataclass, field

# The kinds of work a channel picks a provider for (its file's `providers:`). Narration and sound
# effects are separate: a speech-only provider serves one without breaking the other.
FAMILIES = ("image", "video", "narration", "sfx", "upload", "text")
# Older names a channel file may still use for several families at once.
SHORTHANDS = {"voice": ("narration", "sfx")}
LOCAL = "local"


@dataclass(frozen=True)
class Secret:
    name: str  # as stored (ChannelSecret.name, manage.py set_channel_secret)
    label: str
    env: str = ""  # the environment variable a script reads it from ("": never given to scripts)


@dataclass(frozen=True)
class Provider:
    name: str
    families: tuple = ()
    real_for: tuple = ()  # the cost components it does the paid work of (costs.models.Component)
    secret: Secret | None = None
    cap: int | None = None  # calls at once across every worker (PROVIDER_CAP_<NAME> overrides)
    prices: dict = field(default_factory=dict)  # costs.prices reads these; settings may override


# In the order their secrets are listed (SecretName's choices keep that order).
PROVIDER_LIST = [
    Provider(
        "youtube",
        families=("upload",),
        secret=Secret("youtube_oauth", "YouTube OAuth credentials (JSON)"),
        cap=2,
    ),
    # The board (pipeline/integrations/notion_board.py): a secret, no family of script work.
    Provider("notion", secret=Secret("notion_token", "Notion integration token")),
    Provider(
        "gemini",
        families=("image", "text"),  # text: the storyboard writer (scripts/generate_storyboard.py)
        real_for=("storyboard", "image"),
        secret=Secret("gemini_api_key", "Gemini API key", env="GEMINI_API_KEY"),
        cap=5,
        # Gemini 2.5 Flash Image: 1290 output tokens at $30 per million.
        # Gemini text (the storyboard writer), per million tokens, by model (usage "model");
        # thinking tokens are billed as output and the writer counts them there. Gemini 3.8 Flash
        # input $0.75 ("through December 31, 2026"), read from ai.google.dev/gemini-api/docs/pricing
        # on 2026-10-07; output $3.75 from the same family's resale price (check the page).
        prices={
            "per_image": "0.039",
            "per_million_input_tokens": {"gemini-3.8-flash": "0.75", "default": "0.75"},
            "per_million_output_tokens": {"gemini-3.8-flash": "3.75", "default": "3.75"},
        },
    ),
    Provider(
        "kie",
        families=("video",),
        real_for=("video",),
        secret=Secret("kie_api_key", "KIE.ai API key", env="KIE_API_KEY"),
        cap=5,
        # Kling via KIE.ai, per clip second, by model ($0.125 per 5 s on v2.1 standard).
        prices={
            "per_clip_second": {
                "kling/v2-1-standard": "0.025",
                "kling/v2-1-pro": "0.05",
                "kling/v2-5-turbo-image-to-video-pro": "0.042",
                "default": "0.05",
            }
        },
    ),
    Provider(
        "elevenlabs",
        families=("narration", "sfx"),
        real_for=("narration", "sfx"),
        secret=Secret("elevenlabs_api_key", "ElevenLabs API key", env="ELEVENLABS_API_KEY"),
        cap=3,  # ElevenLabs Starter allows 3 concurrent requests
        # Narration per 1,000 characters; a sound effect per generation.
        prices={"per_1000_characters": "0.10", "per_sfx": "0.12"},
    ),
    # Real media made offline at zero cost, for every family (a rehearsal).
    Provider(LOCAL, families=FAMILIES, cap=2),
    # Local FFmpeg and Pillow work (composites, assembly): no family, free, capped by the CPU.
    Provider("ffmpeg", cap=2),
]

@dataclass(frozen=True)
class ProviderTables:
    providers: dict  # {family: the providers a channel may pick for it}, the real service first
    real_providers: dict  # {family: the service used when nothing else names one}
    secrets: list  # every Secret, in declaration order
    secrets_by_provider: dict  # {provider: [secret names its scripts are given]}
    script_env_by_secret: dict  # {secret name: the environment variable it travels in}
    default_prices: dict  # {provider: its price table}
    real_provider_by_component: dict  # {cost component: the provider doing it for real}
    caps: dict  # {provider: default calls at once}


def tables_from(provider_list):
    """Every provider table for this list (a test's list with one more provider, say)."""
    providers = {
        family: tuple(p.name for p in provider_list if family in p.families) for family in FAMILIES
    }
    secrets = [provider.secret for provider in provider_list if provider.secret]
    return ProviderTables(
        providers=providers,
        real_providers={
            family: next(name for name in names if name != LOCAL)
            for family, names in providers.items()
        },
        secrets=secrets,
        secrets_by_provider={
            p.name: [p.secret.name] for p in provider_list if p.secret and p.secret.env
        },
        script_env_by_secret={secret.name: secret.env for secret in secrets if secret.env},
        default_prices={p.name: p.prices for p in provider_list if p.prices},
        real_provider_by_component={
            component: p.name for p in provider_list for component in p.real_for
        },
        caps={p.name: p.cap for p in provider_list if p.cap},
    )


TABLES = tables_from(PROVIDER_LIST)
PROVIDERS = TABLES.providers
REAL_PROVIDERS = TABLES.real_providers
SECRETS = TABLES.secrets
SECRETS_BY_PROVIDER = TABLES.secrets_by_provider
SCRIPT_ENV_BY_SECRET = TABLES.script_env_by_secret
DEFAULT_PRICES = TABLES.default_prices
REAL_PROVIDER_BY_COMPONENT = TABLES.real_provider_by_component
PROVIDER_CAPS = TABLES.caps


def providers_expand(configured):
    """A channel's {family: provider} with the shorthands spelt out (`voice:` names narration and
    sound effects); a family named on its own wins over a shorthand."""
    expanded = {}
    for key, value in configured.items():
        for family in SHORTHANDS.get(key, (key,)):
            if key in SHORTHANDS and configured.get(family):
                continue
            expanded[family] = value
    return expanded


def provider_for(configured, family):
    """The provider a channel's settings name for a family ("" for none)."""
    return providers_expand(configured or {}).get(family) or ""
