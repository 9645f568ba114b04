"""The PostgreSQL journal store (optional: ``pip install durable_flows[postgres]``).

Owns everything specific to PostgreSQL: the store class, the asyncpg writer,
the SQL of each write job and of the lease jobs, migrations of a schema, the
LISTEN/NOTIFY inbox signal and the audit queries. Importing it imports asyncpg;
``storage.open_store`` imports it only when asked for a ``postgresql://`` URL.
May import ``storage``'s shared modules and ``errors``; nothing above storage.
"""

from .store import PostgresStore

__all__ = ["PostgresStore"]
