"""deals-service: `create_app()`, or `uvicorn reference_services.deals.app:app`."""

__all__ = ["create_app"]


def create_app(*args: object, **kwargs: object) -> object:
    """Build the deals-service app (imports FastAPI and friends only when called)."""
    from reference_services.deals.app import create_app as build

    return build(*args, **kwargs)  # type: ignore[arg-type]
