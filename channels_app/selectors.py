"""Reads about channels."""

from channels_app.models import Channel


class UnknownChannel(LookupError):
    pass


def channel_get(channel_id):
    """The channel, or UnknownChannel whose message lists the known ids and says how to add one."""
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        known = ", ".join(Channel.objects.values_list("pk", flat=True)) or "none yet"
        raise UnknownChannel(
            f"unknown channel {channel_id!r} (known: {known}); add "
            f"channel_configs/{channel_id}.yaml and run `python manage.py sync_channels`"
        )
    return channel
