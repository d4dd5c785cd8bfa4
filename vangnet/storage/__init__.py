"""PostgreSQL: the pool and migrations, the append-only event log, and the projections and case documents built
from it (the read side every request is served from)."""
