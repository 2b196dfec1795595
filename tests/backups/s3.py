"""The S3 stand-in (moto on loopback) with what the tests ask of its bucket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]

from skypanel.standins.s3 import ACCESS_KEY, REGION, SECRET_KEY, running_s3

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Server", "s3_server"]


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def bucket(self, name: str) -> str:
        """A fresh, empty bucket."""
        s3 = self.client()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if name in existing:
            for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])
        else:
            s3.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(item["Key"] for item in found)


@contextmanager
def s3_server() -> Iterator[S3Server]:
    with running_s3() as running:
        yield S3Server(running.endpoint)
