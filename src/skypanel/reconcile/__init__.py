"""Drift between Easypanel and the database, found and settled by a periodic task."""
