from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from skypanel.config import Settings, ensure_dev_secrets, new_encryption_key


def test_development_secrets_are_generated_once_and_reused(tmp_path: Path) -> None:
    base = Settings(env="development", data_dir=tmp_path, secret_key=None, encryption_keys=None)
    first = ensure_dev_secrets(base)
    second = ensure_dev_secrets(base)
    assert first.jwt_key() == second.jwt_key()
    assert first.key_ring() == second.key_ring()
    stored = tmp_path / "dev-secrets.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["secret_key"] == first.jwt_key()


def test_production_refuses_missing_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SKYPANEL_SECRET_KEY must be set"):
        Settings(env="production", data_dir=tmp_path, secret_key=None, encryption_keys=None)


def test_production_refuses_generated_development_secrets(tmp_path: Path) -> None:
    dev = ensure_dev_secrets(
        Settings(env="development", data_dir=tmp_path, secret_key=None, encryption_keys=None)
    )
    with pytest.raises(ValidationError, match="generated development secret"):
        Settings(
            env="production",
            data_dir=tmp_path,
            secret_key=dev.secret_key,
            encryption_keys=SecretStr(new_encryption_key()),
        )


def test_production_refuses_a_short_key_and_accepts_real_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(
            env="production",
            data_dir=tmp_path,
            secret_key=SecretStr("short"),
            encryption_keys=SecretStr(new_encryption_key()),
        )
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        secret_key=SecretStr(secrets.token_urlsafe(48)),
        encryption_keys=SecretStr(new_encryption_key()),
    )
    assert settings.production
