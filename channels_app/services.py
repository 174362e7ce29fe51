"""Writes of the channels app: channels from their YAML files, encrypted credentials, and a
budget overridden by hand."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from channels_app.config import channel_configs_load_directory
from channels_app.models import Channel, ChannelSecret, SecretName
from core.audit import audit_log_record


@dataclass
class SyncResult:
    created: list = field(default_factory=list)  # channel ids
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    deactivated: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # channels_app.config.ConfigError
    older_form: list = field(default_factory=list)  # ChannelConfig of files in the older form
    defaulted: list = field(default_factory=list)  # ChannelConfig whose schedule took defaults
    # {channel id: {setting: [in the database, in the file]}} for the channels created or updated
    changes: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # {channel id: its file}
    check: bool = False

    @property
    def ok(self):
        return not self.errors

    def summary(self):
        counts = (
            f"created {len(self.created)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, deactivated {len(self.deactivated)}"
        )
        return f"check only, nothing written; would have: {counts}" if self.check else counts


def _desired_fields(config):
    return {**config.fields, "config_file": config.file, "config_sha256": config.sha256}


# Bookkeeping, not settings: left out of the diff an audit row and doctor show.
NOT_SETTINGS = {"config_sha256"}


def _shown(name, value):
    """A setting's value as the database holds it, JSON-safe, for the audit row and doctor
    (a file's 25 is the database's 25.00)."""
    if value is None:
        return None
    model_field = Channel._meta.get_field(name)
    value = model_field.to_python(value)
    if isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-model_field.decimal_places))
    if isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def settings_diff(channel, fields):
    """{setting: [current, wanted]} for the settings that differ; a new channel's current values
    are None. Channel fields hold no secret (those are ChannelSecret rows), so all may be shown."""
    return {
        name: [_shown(name, getattr(channel, name) if channel else None), _shown(name, value)]
        for name, value in fields.items()
        if name not in NOT_SETTINGS and (channel is None or getattr(channel, name) != value)
    }


def channel_sync_from_directory(*, config_dir, check=False, actor="sync_channels"):
    """Make the channels in the database match the YAML files in config_dir.

    A valid file creates or updates its channel; an invalid file changes nothing for its channel
    (its errors are in the result); an active channel with no file in the folder is deactivated,
    never deleted. With check=True the files are validated and the result says what would
    happen, but nothing is written.
    """
    loaded = channel_configs_load_directory(config_dir)
    result = SyncResult(errors=loaded.errors, check=check)
    result.older_form = [config for config in loaded.configs if config.current_form]
    result.defaulted = [config for config in loaded.configs if config.defaults_note]
    if not loaded.claimed_ids and loaded.errors:
        return result  # the folder itself is unreadable: deactivating everything would be wrong
    with transaction.atomic():
        channels = Channel.objects.all() if check else Channel.objects.select_for_update()
        existing = channels.in_bulk()
        for config in loaded.configs:
            result.files[config.fields["id"]] = config.file
            channel = existing.get(config.fields["id"])
            _sync_one(channel, _desired_fields(config), result, check, actor)
        _deactivate_missing(existing, loaded.claimed_ids, result, check, actor)
    return result


def _sync_one(channel, fields, result, check, actor):
    """Create or update one channel from its file; every change written is audited with its
    diff (from files or the admin: the admin's budget override audits itself)."""
    diff = settings_diff(channel, fields)
    if channel is not None and not diff and channel.config_sha256 == fields["config_sha256"]:
        result.unchanged.append(channel.pk)
        return
    (result.created if channel is None else result.updated).append(fields["id"])
    result.changes[fields["id"]] = diff
    if check:
        return
    if channel is None:
        Channel.objects.create(**fields)
    else:
        for name, value in fields.items():
            setattr(channel, name, value)
        channel.save()
    audit_log_record(
        actor=actor,
        action="channel_created" if channel is None else "channel_settings_changed",
        channel=fields["id"],
        notes=f"from {fields['config_file']}",
        metadata={"diff": diff, "file": fields["config_file"]},
        object_type="channel",
        object_id=fields["id"],
    )


def _deactivate_missing(existing, claimed_ids, result, check, actor):
    missing = [
        channel_id
        for channel_id, channel in existing.items()
        if channel.is_active and channel_id not in claimed_ids
    ]
    result.deactivated.extend(sorted(missing))
    if missing and not check:
        Channel.objects.filter(pk__in=missing).update(is_active=False)
        for channel_id in missing:
            audit_log_record(
                actor=actor,
                action="channel_deactivated",
                channel=channel_id,
                notes="its file is gone from the channel folder",
                metadata={"diff": {"is_active": [True, False]}},
                object_type="channel",
                object_id=channel_id,
            )


def channel_files_drift(*, config_dir):
    """What differs between the channel files and the database, without writing: one line per
    file (or channel) that differs, naming the settings; plus the files' errors."""
    result = channel_sync_from_directory(config_dir=config_dir, check=True)
    lines = [
        f"{result.files[channel_id]}: "
        + ("no channel in the database yet" if channel_id in result.created else
           "differs from the database in " + ", ".join(sorted(result.changes[channel_id])
                                                       or ["its file only (comments, layout)"]))
        for channel_id in [*result.created, *result.updated]
    ] + [f"channel {channel_id}: active in the database, its file is gone"
         for channel_id in result.deactivated]  # fmt: skip
    return lines, [str(error) for error in result.errors]


class ChannelSecretInvalid(ValueError):
    pass


def _secret_name(name):
    if name not in SecretName.values:
        raise ChannelSecretInvalid(
            f"unknown secret name {name!r}; choose one of {', '.join(SecretName.values)}"
        )
    return SecretName(name)


def channel_secret_set(*, channel, name, value, actor):
    """Store one credential of a channel, encrypted, and record who changed it (never the value).

    The value is stripped of surrounding whitespace (a pasted key's trailing newline). An empty
    value is refused: the encryption library would store it as NULL, which reads back as missing.
    """
    secret_name = _secret_name(name)
    if not isinstance(value, str) or not value.strip():
        raise ChannelSecretInvalid(
            f"the value for {secret_name} is empty; nothing was stored (pipe the value in on "
            "stdin or type it at the prompt)"
        )
    with transaction.atomic():
        _, created = ChannelSecret.objects.update_or_create(
            channel=channel, name=secret_name.value, defaults={"value": value.strip()}
        )
        audit_log_record(
            actor=actor,
            action="credential_changed",
            object_type="channel",
            object_id=channel.pk,
            metadata={"name": secret_name.value, "created": created},
        )
    return created


def channel_secret_get(*, channel, name):
    """The decrypted credential, or None when the channel has none by that name."""
    secret_name = _secret_name(name)
    return (
        ChannelSecret.objects.filter(channel=channel, name=secret_name.value)
        .values_list("value", flat=True)
        .first()
    )


class BudgetOverrideInvalid(ValueError):
    """The override was refused; the message says why and nothing was changed."""


def _budget_amount(value, name):
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError as error:
        message = f"{name}: must be a number of dollars, got {value!r}"
        raise BudgetOverrideInvalid(message) from error
    if amount <= 0:
        raise BudgetOverrideInvalid(f"{name}: must be a positive number of dollars, got {amount}")
    return amount


def budget_override(*, channel, actor, daily_usd=None, weekly_usd=None, notes):
    """Change a channel's daily and/or weekly budget by hand, with the old and new values and the
    reason in the audit log. The channel's YAML file stays the source of truth: the next
    sync_channels sets the budgets from it again (edit the file to make a change last)."""
    if not (notes or "").strip():
        raise BudgetOverrideInvalid("a budget override needs notes: say why the budget changes")
    if daily_usd is None and weekly_usd is None:
        raise BudgetOverrideInvalid("a budget override needs a daily or a weekly budget")
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        before = {"daily_usd": locked.budget_daily_usd, "weekly_usd": locked.budget_weekly_usd}
        daily = (
            _budget_amount(daily_usd, "daily_usd") if daily_usd is not None else before["daily_usd"]
        )
        weekly = (
            _budget_amount(weekly_usd, "weekly_usd")
            if weekly_usd is not None
            else before["weekly_usd"]
        )
        if weekly < daily:
            raise BudgetOverrideInvalid(
                f"weekly budget ${weekly} is below the daily budget ${daily}; "
                "the weekly budget must be at least the daily one"
            )
        Channel.objects.filter(pk=locked.pk).update(
            budget_daily_usd=daily, budget_weekly_usd=weekly, updated_at=timezone.now()
        )
        audit_log_record(
            actor=actor,
            action="budget_override",
            object_type="channel",
            object_id=locked.pk,
            notes=notes.strip(),
            metadata={
                "daily_usd": [str(before["daily_usd"]), str(daily)],
                "weekly_usd": [str(before["weekly_usd"]), str(weekly)],
            },
        )
    channel.budget_daily_usd, channel.budget_weekly_usd = daily, weekly
    return channel
