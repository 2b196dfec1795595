"""Secrets at rest: AES-256-GCM under a key ring, each ciphertext bound to its table, column, row.

A ciphertext reads `v1:<kid>:<base64url(nonce || ciphertext+tag)>`. The ring's first key
encrypts; every key decrypts. Nothing falls back: an unknown key id, a tampered ciphertext or
one moved to another row raises `SecretDecryptionError`.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretDecryptionError(Exception):
    """A ciphertext that does not decrypt under this key ring for this place."""


@dataclass(frozen=True, slots=True)
class SecretPlace:
    """Where a ciphertext lives; it is the associated data, so a moved ciphertext fails."""

    table: str
    column: str
    row_id: str

    def aad(self) -> bytes:
        return f"{self.table}.{self.column}:{self.row_id}".encode()


class KeyRing:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("the key ring is empty")
        for kid, key in keys:
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256)")
            if not kid.isalnum():
                raise ValueError(f"key id {kid!r} must be alphanumeric")
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        if len(self._keys) != len(keys):
            raise ValueError("key ids in the ring must be unique")
        self.primary_kid = keys[0][0]

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """`kid1:base64key,kid2:base64key`; the first entry is the encrypting key."""
        keys: list[tuple[str, bytes]] = []
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            kid, sep, encoded = entry.partition(":")
            if not sep:
                raise ValueError("each key ring entry must be `kid:base64key`")
            try:
                keys.append((kid, base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))
            except binascii.Error as exc:
                raise ValueError(f"key {kid!r} is not valid base64") from exc
        return cls(keys)

    def encrypt(self, plaintext: str, place: SecretPlace) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.primary_kid].encrypt(nonce, plaintext.encode(), place.aad())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{_VERSION}:{self.primary_kid}:{body}"

    def decrypt(self, ciphertext: str, place: SecretPlace) -> str:
        version, kid, body = _split(ciphertext)
        if version != _VERSION:
            raise SecretDecryptionError("unknown ciphertext version")
        aead = self._keys.get(kid)
        if aead is None:
            raise SecretDecryptionError(f"no key {kid!r} in the key ring")
        try:
            raw = base64.urlsafe_b64decode(body)
            return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], place.aad()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SecretDecryptionError(
                "ciphertext rejected (tampered, or not for this place)"
            ) from exc

    def needs_rotation(self, ciphertext: str) -> bool:
        return _split(ciphertext)[1] != self.primary_kid


def _split(ciphertext: str) -> tuple[str, str, str]:
    parts = ciphertext.split(":", 2)
    if len(parts) != 3:
        raise SecretDecryptionError("not a SkyPanel ciphertext")
    return parts[0], parts[1], parts[2]


@lru_cache
def _ring_for(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


def key_ring() -> KeyRing:
    """The process's key ring, from `SKYPANEL_ENCRYPTION_KEYS`."""
    from skypanel.config import get_settings

    return _ring_for(get_settings().key_ring())


def encrypt_secret(plaintext: str, place: SecretPlace) -> str:
    return key_ring().encrypt(plaintext, place)


def decrypt_secret(ciphertext: str, place: SecretPlace) -> str:
    return key_ring().decrypt(ciphertext, place)
