"""Reference CRM services (contacts, deals, leads, accounts) built on crm_observability."""

__version__ = "0.1.0"

__all__ = ["__version__"]
