"""Secrets at rest: installation records are sealed with Fernet before they reach Redis.

SLACK_ASK_ENCRYPTION_KEY holds one or more keys, comma-separated: the first seals, every one of
them opens, so a new key goes first and the old one stays last until `slack-ask rotate-key` has
re-sealed everything.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Every Fernet token starts with its version byte, 0x80, which base64 writes as "gA".
FERNET_PREFIX = "gA"


class Unreadable(Exception):
    """A sealed record none of the configured keys opens."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def valid_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def is_sealed(raw: str) -> bool:
    return raw.startswith(FERNET_PREFIX)


class Seal:
    def __init__(self, keys: tuple[str, ...]):
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, raw: str) -> str:
        """The plain text of a sealed record; a record from before sealing (plain JSON) as it is."""
        if not is_sealed(raw):
            return raw
        try:
            return self._fernet.decrypt(raw.encode()).decode()
        except InvalidToken:
            raise Unreadable("none of SLACK_ASK_ENCRYPTION_KEY's keys opens this record") from None

    def reseal(self, raw: str) -> str:
        """The record sealed with the first key, whatever it was sealed with before (or if it wasn't)."""
        if not is_sealed(raw):
            return self.seal(raw)
        try:
            return self._fernet.rotate(raw.encode()).decode()
        except InvalidToken:
            raise Unreadable("none of SLACK_ASK_ENCRYPTION_KEY's keys opens this record") from None
