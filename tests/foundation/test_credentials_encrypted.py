"""Channel credentials are Fernet-encrypted at rest, and a key change is caught by the canary.

django-fernet-encrypted-fields derives its keys once per field instance (cached_property `keys`
and `f`), so a test that changes SECRET_KEY or SALT_KEY must drop those caches for the change to
take effect, and drop them again afterwards.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from channels_app.crypto import (
    CANARY_PLAINTEXT,
    EncryptionKeyError,
    encryption_key_check,
)
from channels_app.models import ChannelSecret, EncryptionCanary
from tests.factories import ChannelFactory

PLAINTEXT = "sk-live-0123456789abcdef"
ENCRYPTED_FIELDS = [
    ChannelSecret._meta.get_field("value"),
    EncryptionCanary._meta.get_field("value"),
]


def _forget_derived_keys():
    for field in ENCRYPTED_FIELDS:
        field.__dict__.pop("keys", None)
        field.__dict__.pop("f", None)


@pytest.fixture
def keys(settings):
    """Change the keys within a test: keys(secret_key=..., salt=..., fallbacks=...)."""

    def change(*, secret_key=None, salt=None, fallbacks=None):
        if secret_key is not None:
            settings.SECRET_KEY = secret_key
        if salt is not None:
            settings.SALT_KEY = salt
        if fallbacks is not None:
            settings.SECRET_KEY_FALLBACKS = fallbacks
        _forget_derived_keys()

    _forget_derived_keys()
    yield change
    # Runs before the settings fixture restores the real keys, so the next read derives them anew.
    _forget_derived_keys()


def _raw_value(secret):
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM channels_app_channelsecret WHERE id = %s", [secret.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def secret(db, keys):
    return ChannelSecret.objects.create(
        channel=ChannelFactory(), name="elevenlabs_api_key", value=PLAINTEXT
    )


def test_it_stores_a_fernet_token_not_the_secret(secret):
    stored = _raw_value(secret)

    assert PLAINTEXT not in stored
    assert stored.startswith("gAAAAA")  # Fernet: version byte 0x80, base64url


def test_it_decrypts_through_the_orm(secret):
    assert ChannelSecret.objects.get(pk=secret.pk).value == PLAINTEXT


def test_it_encrypts_the_same_secret_differently_each_time(secret):
    again = ChannelSecret.objects.create(
        channel=secret.channel, name="kie_api_key", value=PLAINTEXT
    )
    assert _raw_value(again) != _raw_value(secret)


def test_it_returns_the_ciphertext_silently_under_a_wrong_key(secret, keys):
    # The library swallows InvalidToken and hands back the stored text: nothing raises, and the
    # caller would send ciphertext to the provider as the key. Hence the canary check.
    keys(secret_key="a-different-secret-key")

    assert ChannelSecret.objects.get(pk=secret.pk).value == _raw_value(secret)


def test_it_returns_the_ciphertext_silently_under_a_wrong_salt(secret, keys):
    keys(salt=["a-different-salt"])

    assert ChannelSecret.objects.get(pk=secret.pk).value == _raw_value(secret)


def test_it_still_decrypts_after_rotating_the_secret_key_with_a_fallback(secret, keys, settings):
    keys(secret_key="the-new-secret-key", fallbacks=[settings.SECRET_KEY])

    assert ChannelSecret.objects.get(pk=secret.pk).value == PLAINTEXT


def test_it_still_decrypts_after_rotating_the_salt_with_the_old_one_second(secret, keys, settings):
    keys(salt=["the-new-salt", *settings.SALT_KEY])

    assert ChannelSecret.objects.get(pk=secret.pk).value == PLAINTEXT


def test_it_cannot_store_an_empty_secret(db, keys):
    # The library turns "" into NULL; the column is NOT NULL, so the database refuses it.
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelSecret.objects.create(channel=ChannelFactory(), name="notion_token", value="")


# --- The canary --------------------------------------------------------------------------------


def test_it_writes_the_canary_on_first_check(db, keys):
    assert not EncryptionCanary.objects.exists()

    encryption_key_check()

    canary = EncryptionCanary.objects.get()
    assert canary.value == CANARY_PLAINTEXT
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM channels_app_encryptioncanary WHERE id = %s", [canary.pk])
        assert CANARY_PLAINTEXT not in cursor.fetchone()[0]


def test_it_passes_the_check_with_the_right_key(db, keys):
    encryption_key_check()

    encryption_key_check()

    assert EncryptionCanary.objects.count() == 1


def test_it_fails_the_check_with_a_wrong_secret_key(db, keys):
    encryption_key_check()
    keys(secret_key="a-different-secret-key")

    with pytest.raises(EncryptionKeyError) as caught:
        encryption_key_check()

    message = str(caught.value)
    assert message.startswith(
        "FIELD_ENCRYPTION_KEY/DJANGO_SECRET_KEY cannot decrypt data written with the previous key"
    )
    assert "DJANGO_SECRET_KEY_FALLBACKS" in message


def test_it_fails_the_check_with_a_wrong_salt(db, keys):
    encryption_key_check()
    keys(salt=["a-different-salt"])

    with pytest.raises(EncryptionKeyError, match="FIELD_ENCRYPTION_KEY"):
        encryption_key_check()


def test_it_passes_the_check_during_a_rotation_with_fallbacks(db, keys, settings):
    encryption_key_check()
    keys(secret_key="the-new-secret-key", fallbacks=[settings.SECRET_KEY])

    encryption_key_check()
