"""Background work on PostgreSQL (procrastinate): billing runs and delivery of operations."""
