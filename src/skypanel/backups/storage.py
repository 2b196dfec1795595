"""What SkyPanel itself asks the bucket: does a backup file exist and how big is it, deleting
old ones, and presigned download links. boto3 blocks, so each call runs in a thread; callers
hold no transaction."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from skypanel.kit.crypto import SecretPlace, decrypt_secret
from skypanel.kit.errors import AppError
from skypanel.models import BackupStorage

_MISSING = {"404", "NoSuchKey", "NotFound"}


@functools.cache
def _boto() -> tuple[ModuleType, Any, type[Exception], Any]:
    """boto3, the client settings, and botocore's two errors. boto3 and botocore (about 25 MB)
    are loaded when a bucket is first used, not by every process."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    timeouts = Config(
        connect_timeout=5, read_timeout=15, retries={"max_attempts": 2}, signature_version="s3v4"
    )
    return boto3, timeouts, BotoCoreError, ClientError


def _failures() -> tuple[type[Exception], ...]:
    """What a failed call to the bucket raises."""
    return _boto()[2:]


class StorageUnavailable(AppError):
    code = "BACKUP_STORAGE_UNAVAILABLE"
    status = 503


def secret_place(storage_id: object) -> SecretPlace:
    return SecretPlace("backup_storage", "secret_encrypted", str(storage_id))


@dataclass(frozen=True, slots=True)
class Bucket:
    """The storage's connection, read from its row while a session was open."""

    endpoint: str | None
    region: str
    name: str
    access_key_id: str
    secret: str

    @classmethod
    def of(cls, storage: BackupStorage) -> Bucket:
        return cls(
            storage.endpoint,
            storage.region,
            storage.bucket,
            storage.access_key_id,
            decrypt_secret(storage.secret_encrypted, secret_place(storage.id)),
        )

    def __repr__(self) -> str:
        return f"Bucket({self.endpoint!r}, {self.name!r})"

    def client(self) -> Any:
        boto3, timeouts, _, _ = _boto()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint or None,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret,
            config=timeouts,
        )


@dataclass(frozen=True, slots=True)
class Found:
    size: int
    modified: datetime


def _head(bucket: Bucket, keys: list[str]) -> dict[str, Found | None]:
    client = bucket.client()
    found: dict[str, Found | None] = {}
    for key in keys:
        try:
            head = client.head_object(Bucket=bucket.name, Key=key)
        except _boto()[3] as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                found[key] = None
                continue
            raise
        found[key] = Found(int(head["ContentLength"]), head["LastModified"])
    return found


def _delete(bucket: Bucket, keys: list[str]) -> None:
    client = bucket.client()
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket.name, Delete={"Objects": batch, "Quiet": True})


async def head(bucket: Bucket, keys: list[str]) -> dict[str, Found | None]:
    """Each key's size and time in the bucket, None for a key that is not there."""
    try:
        return await asyncio.to_thread(_head, bucket, keys)
    except _failures() as exc:
        raise StorageUnavailable(
            f"The backup storage cannot be read: {type(exc).__name__}"
        ) from exc


def presign(bucket: Bucket, key: str, seconds: int) -> str:
    """A link that fetches `key` for `seconds` (signed locally: the bucket is not called)."""
    url: str = bucket.client().generate_presigned_url(
        "get_object", Params={"Bucket": bucket.name, "Key": key}, ExpiresIn=seconds
    )
    return url


async def delete(bucket: Bucket, keys: list[str]) -> None:
    if not keys:
        return
    try:
        await asyncio.to_thread(_delete, bucket, keys)
    except _failures() as exc:
        raise StorageUnavailable(
            f"Backups cannot be deleted from the storage: {type(exc).__name__}"
        ) from exc
