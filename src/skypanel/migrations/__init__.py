"""Alembic migrations, run by `skypanel migrate` (and by the test suite to build its schema)."""
