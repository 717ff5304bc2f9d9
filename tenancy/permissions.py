"""Permissions and the built-in roles made of them.

Roles live in the database per tenant (so tenants can later define their own); the built-in ones
are created from this table when a tenant is created.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CUSTOMERS_READ = "customers:read"  # customers the caller owns
    CUSTOMERS_READ_ALL = "customers:read_all"  # every customer of the tenant
    CUSTOMERS_WRITE = "customers:write"  # create, and edit what one can see
    CUSTOMERS_DELETE = "customers:delete"  # soft delete and restore
    TAGS_READ = "tags:read"  # see the tenant's tags (tagging a customer also needs this)
    TAGS_WRITE = "tags:write"  # create, rename and recolour tags: the tenant's shared labels
    TAGS_DELETE = "tags:delete"  # soft delete and restore tags
    AUDIT_READ = "audit:read"
    MEMBERS_READ = "members:read"  # see the tenant's members and their roles
    USERS_MANAGE = "users:manage"  # add members, change their roles, disable them
    API_KEYS_MANAGE = "api_keys:manage"
    TENANT_MANAGE = "tenant:manage"
    BILLING_MANAGE = "billing:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"  # subscriptions, their secrets, the delivery log
    # Interactions and survey answers (modules/interactions): their own area, so a role can log
    # calls and remove its own mistakes without being allowed to delete customers.
    INTERACTIONS_READ = "interactions:read"  # those the caller logged
    INTERACTIONS_READ_ALL = "interactions:read_all"  # every interaction of the tenant
    INTERACTIONS_WRITE = "interactions:write"  # log, and edit what one can see
    INTERACTIONS_DELETE = "interactions:delete"  # soft delete and restore what one can see
    INTERACTION_TYPES_MANAGE = "interaction_types:manage"  # the tenant's interaction types
    # Custom fields: everyone who sees customers reads the definitions (forms, columns);
    # tenant admins define, change, remove and restore them.
    FIELDS_READ = "fields:read"
    FIELDS_MANAGE = "fields:manage"
    # Segments and saved views (modules/segments): reading the shared ones and one's own and
    # listing their members (within one's data scope) is everyone's; saving one's own is for
    # those who work the lists; sharing with the tenant, and changing what others shared, is
    # for managers. Exporting customers is its own permission: a file leaves the product.
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"  # save, change and remove one's own (private) ones
    SEGMENTS_MANAGE = "segments:manage"  # share with the tenant; change others' shared ones
    CUSTOMERS_EXPORT = "customers:export"  # CSV of a segment's members (data scope applies)
    # Classification (modules/classification): the tenant's RFM thresholds and level rules.
    CLASSIFICATION_MANAGE = "classification:manage"
    # Sensitive data (modules/pii): reading sealed values in clear (each read audited), and
    # erasing a contact on request (irreversible). Owners and admins only, by default.
    PII_READ = "pii:read"
    PII_ERASE = "pii:erase"


P = Permission
_READ_WRITE = {P.CUSTOMERS_READ, P.CUSTOMERS_READ_ALL, P.CUSTOMERS_WRITE, P.CUSTOMERS_DELETE,
               P.TAGS_READ, P.TAGS_WRITE, P.TAGS_DELETE}
_SEGMENTS = {P.SEGMENTS_READ, P.SEGMENTS_WRITE, P.SEGMENTS_MANAGE, P.CUSTOMERS_EXPORT}
_INTERACTIONS = {P.INTERACTIONS_READ, P.INTERACTIONS_READ_ALL, P.INTERACTIONS_WRITE,
                 P.INTERACTIONS_DELETE, P.INTERACTION_TYPES_MANAGE}

BUILTIN_ROLES: dict[str, tuple[str, frozenset[Permission]]] = {
    "owner": ("Owner", frozenset(Permission)),
    "admin": ("Administrator", frozenset(Permission) - {P.BILLING_MANAGE}),
    "manager": ("Manager", frozenset(_READ_WRITE | _INTERACTIONS | _SEGMENTS
                                     | {P.AUDIT_READ, P.MEMBERS_READ, P.FIELDS_READ})),
    # Sales tag their own customers with the tenant's tags; managers curate the tags.
    # Sales log (and correct or remove) their own interactions.
    "sales": ("Sales", frozenset({P.CUSTOMERS_READ, P.CUSTOMERS_WRITE, P.TAGS_READ,
                                  P.MEMBERS_READ, P.INTERACTIONS_READ, P.INTERACTIONS_WRITE,
                                  P.INTERACTIONS_DELETE, P.FIELDS_READ, P.SEGMENTS_READ,
                                  P.SEGMENTS_WRITE, P.CUSTOMERS_EXPORT})),
    "viewer": ("Viewer", frozenset({P.CUSTOMERS_READ, P.CUSTOMERS_READ_ALL, P.TAGS_READ,
                                    P.MEMBERS_READ, P.INTERACTIONS_READ,
                                    P.INTERACTIONS_READ_ALL, P.FIELDS_READ,
                                    P.SEGMENTS_READ})),
}


def own_records_only(granted: frozenset[str] | set[str]) -> bool:
    """Whether these permissions read some kind of record only where the holder owns it: an
    `<area>:read` without the `<area>:read_all` that exists beside it (customers, and every
    owned area after them)."""
    known = {p.value for p in Permission}
    return any(p.endswith(":read") and f"{p}_all" in known and f"{p}_all" not in granted
               for p in granted)


# -- data scopes (modules/departments/scopes.py) -------------------------------------------
# Which owned records a role reads and changes. `all` goes with the `<area>:read_all`
# permissions, which the product keeps in step with it (setting a role's scope to `all` grants
# them, any other scope takes them away): code that asks `ctx.can(CUSTOMERS_READ_ALL)` keeps
# its meaning, "reads every customer of the tenant".
DATA_SCOPES = ("own", "subordinates", "department", "department_tree", "all")
READ_ALL_PERMISSIONS = frozenset(p for p in Permission if p.value.endswith(":read_all"))


def scope_of_permissions(granted: frozenset[str] | set[str]) -> str:
    """The data scope a role's permissions imply when none is set: all, or own."""
    return "all" if READ_ALL_PERMISSIONS & set(granted) else "own"
