from __future__ import annotations

import base64

import pytest

from skypanel.config import new_encryption_key
from skypanel.kit.crypto import KeyRing, SecretDecryptionError, SecretPlace

PLACE = SecretPlace("easypanel_config", "api_key_encrypted", "9b2f1c1e-0000-4000-8000-000000000001")


def test_round_trip_and_fresh_nonce_each_time() -> None:
    ring = KeyRing.parse(new_encryption_key())
    first = ring.encrypt("s3cret-token", PLACE)
    second = ring.encrypt("s3cret-token", PLACE)
    assert first != second
    assert first.startswith(f"v1:{ring.primary_kid}:")
    assert "s3cret" not in first
    assert ring.decrypt(first, PLACE) == ring.decrypt(second, PLACE) == "s3cret-token"


def test_old_keys_still_decrypt_and_new_key_encrypts() -> None:
    old = new_encryption_key()
    new = new_encryption_key()
    before = KeyRing.parse(old).encrypt("value", PLACE)
    ring = KeyRing.parse(f"{new},{old}")
    assert ring.decrypt(before, PLACE) == "value"
    assert ring.needs_rotation(before)
    assert not ring.needs_rotation(ring.encrypt("value", PLACE))


def test_ciphertext_moved_to_another_row_or_column_is_rejected() -> None:
    ring = KeyRing.parse(new_encryption_key())
    sealed = ring.encrypt("value", PLACE)
    for elsewhere in (
        SecretPlace(PLACE.table, PLACE.column, "9b2f1c1e-0000-4000-8000-000000000002"),
        SecretPlace(PLACE.table, "other_column", PLACE.row_id),
        SecretPlace("other_table", PLACE.column, PLACE.row_id),
    ):
        with pytest.raises(SecretDecryptionError):
            ring.decrypt(sealed, elsewhere)


def test_tampered_ciphertext_is_rejected() -> None:
    ring = KeyRing.parse(new_encryption_key())
    version, kid, body = ring.encrypt("value", PLACE).split(":")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 0x01
    tampered = f"{version}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(SecretDecryptionError, match="rejected"):
        ring.decrypt(tampered, PLACE)


@pytest.mark.parametrize("bad", ["plaintext", "v1:zz", "v2:k1:AAAA", "v1:unknown:AAAA"])
def test_no_plaintext_passthrough_or_unknown_key(bad: str) -> None:
    ring = KeyRing.parse(new_encryption_key())
    with pytest.raises(SecretDecryptionError):
        ring.decrypt(bad, PLACE)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "nokey",
        "k1:" + base64.urlsafe_b64encode(b"short").decode(),
        "k-1:" + "A" * 43 + "=",
        "k1:!!!notbase64",
    ],
)
def test_bad_key_rings_fail_closed(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        KeyRing.parse(spec)


def test_duplicate_key_ids_are_refused() -> None:
    key = new_encryption_key()
    with pytest.raises(ValueError, match="unique"):
        KeyRing.parse(f"{key},{key}")
