"""Schema revisions, applied in order by ``reference_services.common.db.upgrade``."""

__all__: list[str] = []
