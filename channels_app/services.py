"""Writes of the channels app: channels from their YAML files, and encrypted credentials."""

from dataclasses import dataclass, field

from django.db import transaction

from channels_app.config import channel_configs_load_directory
from channels_app.models import Channel, ChannelSecret, SecretName
from reviews.services import audit_log_record


@dataclass
class SyncResult:
    created: list = field(default_factory=list)  # channel ids
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    deactivated: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # channels_app.config.ConfigError
    older_form: list = field(default_factory=list)  # ChannelConfig of files in the older form
    defaulted: list = field(default_factory=list)  # ChannelConfig whose schedule took defaults
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


def _differs(channel, fields):
    return any(getattr(channel, name) != value for name, value in fields.items())


def channel_sync_from_directory(*, config_dir, check=False):
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
            _sync_one(existing.get(config.fields["id"]), _desired_fields(config), result, check)
        _deactivate_missing(existing, loaded.claimed_ids, result, check)
    return result


def _sync_one(channel, fields, result, check):
    if channel is None:
        result.created.append(fields["id"])
        if not check:
            Channel.objects.create(**fields)
    elif _differs(channel, fields):
        result.updated.append(channel.pk)
        if not check:
            for name, value in fields.items():
                setattr(channel, name, value)
            channel.save()
    else:
        result.unchanged.append(channel.pk)


def _deactivate_missing(existing, claimed_ids, result, check):
    missing = [
        channel_id
        for channel_id, channel in existing.items()
        if channel.is_active and channel_id not in claimed_ids
    ]
    result.deactivated.extend(sorted(missing))
    if missing and not check:
        Channel.objects.filter(pk__in=missing).update(is_active=False)


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
