"""One error class for every expected failure; HTTP rendering lives in `skypanel.http`."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """An expected outcome with a stable code. Subclasses set `code` and `status`."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    keeps_work: ClassVar[bool] = False
    """The refusal is itself recorded (a failed sign-in counts): the unit of work commits."""
    message: str
    details: dict[str, Any]

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message()
        self.details = details
        super().__init__(self.message)

    @classmethod
    def default_message(cls) -> str:
        return cls.code.replace("_", " ").capitalize()

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(AppError):
    code = "NOT_FOUND"
    status = 404


class Conflict(AppError):
    code = "CONFLICT"
    status = 409


class InvalidInput(AppError):
    code = "VALIDATION_ERROR"
    status = 422


class Unauthorized(AppError):
    code = "UNAUTHORIZED"
    status = 401


class Forbidden(AppError):
    code = "FORBIDDEN"
    status = 403


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status = 429
