"""The database layer, by concern:

models        the declarative base, `TenantOwned` (key `(tenant_id, id)`), `Timestamps`, `new_id`
engine        the application role's engine and session factory, the read lane's pool
roles         the start-up check that row-level security binds the application's role
statements    the tenant's `set_config`, `fetch` on the driver, the read lane's prepared statements
unit_of_work  one request's transaction, its tenant set before its first statement

The tenant is set by this layer and nowhere else: every transaction the application opens sets
`app.tenant_id` (transaction-local) before its first statement, so row-level security scopes
every statement that follows, and a transaction without a tenant sees no tenant-owned rows.
"""

from infra.db.engine import Database, create_engine, raw_json_adapters
from infra.db.models import NAMING, Base, TenantOwned, Timestamps, new_id
from infra.db.roles import UnsafeDatabaseRole, verify_application_role
from infra.db.statements import (
    SET_SCOPE,
    SET_SCOPE_SQL,
    NeedsTransaction,
    ReadSession,
    driver_connection,
    fetch,
    set_scope,
    statement_listeners,
)
from infra.db.unit_of_work import UnitOfWork, after_commit, reads_only

__all__ = [
    "NAMING", "SET_SCOPE", "SET_SCOPE_SQL", "Base", "Database", "NeedsTransaction",
    "ReadSession", "TenantOwned", "Timestamps", "UnitOfWork", "UnsafeDatabaseRole",
    "after_commit", "create_engine", "driver_connection", "fetch", "new_id", "raw_json_adapters",
    "reads_only", "set_scope", "statement_listeners", "verify_application_role",
]
