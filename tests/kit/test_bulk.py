"""Rows written in one statement read back as the ORM wrote them, and a unique column skips the
rows already taken, also within the batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit import bulk
from skypanel.models import ActivityLog, Event, Organization

AT = datetime(2027, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def _organization(session: AsyncSession) -> uuid.UUID:
    found = Organization(id=uuid.uuid4(), name="Bulk", slug=f"bulk-{uuid.uuid4().hex[:8]}")
    session.add(found)
    await session.flush()
    return found.id


async def test_rows_read_back_column_for_column_renamed_attributes_included(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        org = await _organization(session)
        rows = [
            {
                "id": uuid.uuid4(),
                "event_type": "bulk.test",
                "message": f"Row {n} \"quoted\", 'single' and ünïcode",
                "organization_id": org if n else None,
                "entity_id": None,
                "status": "success",
                "metadata_": {"n": n, "nested": [1, {"a": None}]},
                "created_at": AT,
            }
            for n in range(3)
        ]
        await bulk.insert_rows(session, ActivityLog, rows)
        await bulk.update_rows(
            session, ActivityLog, [{"id": rows[2]["id"], "status": "warning", "entity_id": org}]
        )
        found = {
            row.id: row
            for row in await session.scalars(
                select(ActivityLog).where(ActivityLog.event_type == "bulk.test")
            )
        }
    assert len(found) == 3
    for n, row in enumerate(rows):
        stored = found[row["id"]]
        assert (stored.message, stored.organization_id, stored.created_at) == (
            row["message"],
            row["organization_id"],
            AT,
        )
        assert stored.metadata_ == {"n": n, "nested": [1, {"a": None}]}
    assert (found[rows[2]["id"]].status, found[rows[2]["id"]].entity_id) == ("warning", org)
    assert (found[rows[1]["id"]].status, found[rows[1]["id"]].entity_id) == ("success", None)


async def test_insert_new_skips_taken_keys_and_repeats_and_returns_the_ids_written(
    db: async_sessionmaker[AsyncSession],
) -> None:
    def event(key: str) -> dict[str, object]:
        return {"id": uuid.uuid4(), "type": "bulk.test", "data": {}, "dedupe_key": key}

    async with db() as session:
        first = [event("bulk:a"), event("bulk:b")]
        assert await bulk.insert_new(session, Event, first, unique=("dedupe_key",)) == {
            first[0]["id"],
            first[1]["id"],
        }
        second = [event("bulk:b"), event("bulk:c"), event("bulk:c")]
        assert await bulk.insert_new(session, Event, second, unique=("dedupe_key",)) == {
            second[1]["id"]
        }
        keys = (
            await session.scalars(
                select(Event.dedupe_key).where(Event.type == "bulk.test").order_by(Event.dedupe_key)
            )
        ).all()
    assert keys == ["bulk:a", "bulk:b", "bulk:c"]
