"""An S3-compatible server on loopback (moto in server mode) with one empty bucket, for the
demo's backups and the tests: the same API boto3 speaks to AWS, Wasabi or R2."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCESS_KEY = "standin-access-key"
SECRET_KEY = "standin-secret-key-0000"
BUCKET = "skypanel-backups"


@dataclass(frozen=True, slots=True)
class RunningS3:
    endpoint: str
    region: str = REGION
    access_key_id: str = ACCESS_KEY
    secret_access_key: str = SECRET_KEY
    bucket: str = BUCKET

    def __repr__(self) -> str:
        return f"RunningS3({self.endpoint!r}, {self.bucket!r})"


@contextmanager
def running_s3() -> Iterator[RunningS3]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        running = RunningS3(f"http://{host}:{port}")
        boto3.client(
            "s3",
            endpoint_url=running.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_bucket(Bucket=BUCKET)
        yield running
    finally:
        server.stop()
