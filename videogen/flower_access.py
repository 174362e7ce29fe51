"""Who may reach Flower: it shows every task's arguments and can revoke tasks and shut workers
down, so it listens on 127.0.0.1 unless told otherwise, and anywhere else only behind basic auth.

Applied by flowerconfig.py, the configuration file Flower reads from the working directory (the
Procfile's, the container's). Settings: FLOWER_ADDRESS (default 127.0.0.1), FLOWER_PORT or
--port, FLOWER_BASIC_AUTH=user:password[,user2:password2] or FLOWER_BASIC_AUTH_FILE naming a file
that holds it (Docker/Kubernetes secrets)."""

import ipaddress
import os
from pathlib import Path

DEFAULT_ADDRESS = "127.0.0.1"
AUTH_VARIABLE = "FLOWER_BASIC_AUTH"


class FlowerAccessError(Exception):
    pass


def flower_address():
    return os.environ.get("FLOWER_ADDRESS", DEFAULT_ADDRESS)


def flower_basic_auth():
    """The user:password pairs from FLOWER_BASIC_AUTH_FILE, or None (FLOWER_BASIC_AUTH itself is
    read by Flower)."""
    file_name = os.environ.get(f"{AUTH_VARIABLE}_FILE", "")
    if not file_name:
        return None
    try:
        text = Path(file_name).read_text().strip()
    except OSError as error:
        raise FlowerAccessError(
            f"{AUTH_VARIABLE}_FILE: cannot read {file_name!r}: {error.strerror}"
        ) from None
    pairs = [pair for pair in text.split(",") if pair]
    if not pairs or not all(":" in pair for pair in pairs):
        raise FlowerAccessError(f"{AUTH_VARIABLE}_FILE: {file_name!r} must hold user:password")
    return pairs


def is_loopback(address):
    """'' (Flower's default) is every interface; a host name other than localhost may be any."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def flower_access_check(*, address, basic_auth, oauth, unix_socket=""):
    if unix_socket or is_loopback(address):
        return
    if not basic_auth and not oauth:
        shown = address or "all interfaces"
        raise FlowerAccessError(
            f"Flower refuses to listen on {shown} without a password: set {AUTH_VARIABLE}="
            f"user:password (or {AUTH_VARIABLE}_FILE), or FLOWER_ADDRESS=127.0.0.1"
        )


def refuse_open_access(options):
    """A tornado parse callback: runs once Flower's options are final (environment, this
    configuration file, then the command line)."""
    try:
        flower_access_check(
            address=options.address,
            basic_auth=options.basic_auth,
            oauth=options.auth,
            unix_socket=options.unix_socket,
        )
    except FlowerAccessError as error:
        raise SystemExit(f"videogen: {error}") from None
