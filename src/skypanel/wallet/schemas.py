from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from skypanel.kit.money import Money, MoneyIn
from skypanel.kit.schema import ApiModel, InputModel


class WalletOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    currency: str
    balance: Money = Field(validation_alias="balance_cents")
    updated_at: datetime


class TransactionOut(ApiModel):
    id: uuid.UUID
    amount: Money = Field(validation_alias="amount_cents")
    balance_after: Money = Field(validation_alias="balance_after_cents")
    currency: str
    kind: str
    description: str
    reference_type: str | None
    reference_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    created_at: datetime


class TransactionPage(ApiModel):
    items: list[TransactionOut]
    next_cursor: str | None


class AdjustmentIn(InputModel):
    amount: MoneyIn = Field(description='Signed amount: "25.00" credits, "-5.00" debits')
    description: str = Field(min_length=3, max_length=500)
