"""Webhook signatures as PayPal makes them: the stand-in's key pair and self-signed certificate
(made at start), the message PayPal signs for a transmission, and signing and checking it (RSA
PKCS#1 v1.5 over SHA-256)."""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

AUTH_ALGO = "SHA256withRSA"


def _signing_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A fresh key pair and its self-signed certificate (PEM), standing in for PayPal's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SkyPanel PayPal stand-in")])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=366))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def signed_message(transmission_id: str, time: str, webhook_id: str, body: bytes) -> bytes:
    """The string PayPal signs for a webhook transmission."""
    return f"{transmission_id}|{time}|{webhook_id}|{zlib.crc32(body)}".encode()


def _sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """The PAYPAL-TRANSMISSION-SIG header for `message`: its signature, base64-encoded."""
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _signature_valid(key: rsa.RSAPrivateKey, transmission_sig: str, message: bytes) -> bool:
    """Whether `transmission_sig` (base64) is the key's signature of `message`."""
    try:
        signature = base64.b64decode(transmission_sig, validate=True)
        key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error):
        return False
    return True
