"""Proof that the configured keys can read what the database holds.

django-fernet-encrypted-fields derives its Fernet keys from DJANGO_SECRET_KEY (plus
DJANGO_SECRET_KEY_FALLBACKS) and FIELD_ENCRYPTION_KEY (our SALT_KEY). When they change, it does not
raise: reading a secret silently returns the ciphertext, which would then be sent to YouTube,
Notion or a provider as if it were the credential. So a known value (the canary) is written with
the key in use, and `encryption_key_check()` decrypts it: a mismatch stops start-up with a message
that says what to do, instead of a stream of confusing 401s later.
"""

from channels_app.models import EncryptionCanary

CANARY_PLAINTEXT = "videogen encryption canary v1"


class EncryptionKeyError(Exception):
    """The configured keys cannot decrypt data written earlier."""


KEY_ERROR_MESSAGE = (
    "FIELD_ENCRYPTION_KEY/DJANGO_SECRET_KEY cannot decrypt data written with the previous key "
    "(the encryption canary row did not decrypt, so every stored channel secret would be read as "
    "ciphertext). Restore the previous DJANGO_SECRET_KEY and FIELD_ENCRYPTION_KEY, or, to rotate "
    "keys, put the old secret key in DJANGO_SECRET_KEY_FALLBACKS and the old salt after the new "
    "one in FIELD_ENCRYPTION_KEY (comma-separated; the first one encrypts)."
)


def encryption_key_check() -> None:
    """Raise EncryptionKeyError unless the canary decrypts with the configured keys.

    On first use (no canary yet) write one with the current key. Two processes starting at once
    may both write one; both rows are encrypted with the same key, and the oldest is the one read.
    """
    canary = EncryptionCanary.objects.order_by("pk").first()
    if canary is None:
        EncryptionCanary.objects.create(value=CANARY_PLAINTEXT)
        return
    if canary.value != CANARY_PLAINTEXT:
        raise EncryptionKeyError(KEY_ERROR_MESSAGE)
