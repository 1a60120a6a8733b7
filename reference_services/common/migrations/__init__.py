"""Alembic environment and versions (a package, so the wheel ships them)."""

__all__: list[str] = []
