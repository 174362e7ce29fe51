"""The price table: the one place that turns a script's usage into US dollars.

Prices are settings (plans differ); the defaults are each provider's (core/providers.py). A `local`
provider costs 0; what its call would have cost at the real provider of the same component is
`would_be_price()`, so a rehearsal tells the operator the price of a real video before anything
is spent.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from core.providers import DEFAULT_PRICES, REAL_PROVIDER_BY_COMPONENT

CENT = Decimal("0.0001")


def _prices():
    configured = getattr(settings, "VIDEOGEN_PRICES", None) or {}
    merged = {provider: dict(table) for provider, table in DEFAULT_PRICES.items()}
    for provider, table in configured.items():
        merged.setdefault(provider, {}).update(table)
    return merged


def _money(value):
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def price(*, provider, usage):
    """(units, unit_name, usd) for one call. usage holds the script's billable units:
    images, characters, clip_seconds (+ model), sfx_seconds / sfx, input_tokens and
    output_tokens (+ model)."""
    table = _prices().get(provider)
    if provider == "local" or table is None:
        units, unit_name = _primary_units(usage)
        return units, unit_name, _money(0)
    if "images" in usage:
        units = Decimal(str(usage["images"]))
        return units, "images", _money(units * Decimal(table["per_image"]))
    if "input_tokens" in usage or "output_tokens" in usage:
        return _tokens_price(table, usage)
    if "clip_seconds" in usage:
        units = Decimal(str(usage["clip_seconds"]))
        per_second = table["per_clip_second"]
        rate = per_second.get(usage.get("model") or "", per_second["default"])
        return units, "clip_seconds", _money(units * Decimal(rate))
    if "characters" in usage:
        units = Decimal(str(usage["characters"]))
        return units, "characters", _money(units / 1000 * Decimal(table["per_1000_characters"]))
    if "sfx_seconds" in usage or "sfx" in usage:
        count = Decimal(str(usage.get("sfx", 1)))
        units = Decimal(str(usage.get("sfx_seconds", 0)))
        return units, "sfx_seconds", _money(count * Decimal(table["per_sfx"]))
    units, unit_name = _primary_units(usage)
    return units, unit_name, _money(0)


def would_be_price(*, component, provider, usage, model=""):
    """What this call costs at the real providers' prices: for a real provider its own price, for
    the local provider the price of the real provider of the component, for the same usage.
    `model` (the channel's video model) prices a local clip, whose usage names no real model."""
    if provider != "local":
        return price(provider=provider, usage=usage)[2]
    real = REAL_PROVIDER_BY_COMPONENT.get(component)
    if real is None:
        return _money(0)
    if "clip_seconds" in usage and model:
        usage = {**usage, "model": model}
    return price(provider=real, usage=usage)[2]


def _tokens_price(table, usage):
    model = usage.get("model") or ""
    total = Decimal(0)
    units = Decimal(0)
    for key, rates in (
        ("input_tokens", table["per_million_input_tokens"]),
        ("output_tokens", table["per_million_output_tokens"]),
    ):
        tokens = Decimal(str(usage.get(key) or 0))
        units += tokens
        total += tokens / 1_000_000 * Decimal(rates.get(model, rates["default"]))
    return units, "tokens", _money(total)


def _primary_units(usage):
    for key in ("images", "clip_seconds", "characters", "sfx_seconds", "output_tokens"):
        if key in usage:
            return Decimal(str(usage[key])), key
    return Decimal(0), "calls"
