"""The registry database: schema (``models``), engines and transactions (``database``), migrations."""

from figvault.db.database import (
    Database,
    RegistryUnavailableError,
    as_database,
    dispose_all,
    open_database,
    open_registry,
    sqlite_url,
)

__all__ = [
    "Database",
    "RegistryUnavailableError",
    "as_database",
    "dispose_all",
    "open_database",
    "open_registry",
    "sqlite_url",
]
