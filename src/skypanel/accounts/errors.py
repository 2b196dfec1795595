"""Refusals shared by the account services."""

from __future__ import annotations

from skypanel.kit.errors import Conflict, Forbidden


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"


class WrongPassword(Forbidden):
    code = "WRONG_PASSWORD"
