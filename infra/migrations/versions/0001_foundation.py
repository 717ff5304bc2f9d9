"""Foundation: tenancy, customers, audit log and outbox, all behind row-level security.

Every tenant-owned table has `tenant_id` leading its primary key and indexes (so it could be
distributed by tenant on Citus), row-level security enabled *and forced*, and a policy whose USING
and WITH CHECK both compare `tenant_id` with the transaction's `app.tenant_id`. With no tenant set
the policy compares with NULL: no row is visible and no insert passes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_OWNED = [
    "roles", "memberships", "api_keys", "web_sessions", "companies", "contacts",
    "audit_log", "outbox",
]


def upgrade(app_role: str = "crm_app") -> None:
    x = op.execute
    x("""
    create function app_tenant_id() returns uuid language sql stable parallel safe as
    $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;
    -- Set only while authenticating (login, choosing a tenant): lets a user see their own
    -- memberships and tenants across tenants, and nothing else.
    create function app_auth_user_id() returns uuid language sql stable parallel safe as
    $$ select nullif(current_setting('app.auth_user_id', true), '')::uuid $$;
    """)

    # -- platform tables -------------------------------------------------------------------
    x("""
    create table tenants (
        id uuid primary key,
        name varchar(200) not null,
        slug varchar(63) not null unique
            check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
        status varchar(20) not null default 'active'
            check (status in ('active', 'suspended', 'closed')),
        default_region char(2) not null default 'CN',
        locale varchar(10) not null default 'zh-CN',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
    );
    create table users (
        id uuid primary key,
        email varchar(320) not null,
        name varchar(200) not null,
        password_hash text,
        locale varchar(10),
        last_login_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
    );
    create unique index users_email_key on users (lower(email));
    """)

    # -- tenancy ---------------------------------------------------------------------------
    x("""
    create table roles (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        key varchar(50) not null,
        name varchar(100) not null,
        permissions text[] not null default '{}',
        is_builtin boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, key)
    );
    create table memberships (
        tenant_id uuid not null references tenants (id),
        user_id uuid not null references users (id),
        role_id uuid not null,
        status varchar(20) not null default 'active' check (status in ('active', 'disabled')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, user_id),
        foreign key (tenant_id, role_id) references roles (tenant_id, id)
    );
    -- The one index not led by tenant_id: login lists one user's tenants across tenants.
    create index memberships_user_idx on memberships (user_id, tenant_id);
    create table api_keys (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        name varchar(100) not null,
        key_hash bytea not null,
        display_prefix varchar(16) not null,
        role_id uuid not null,
        created_by uuid,
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        expires_at timestamptz,
        revoked_at timestamptz,
        primary key (tenant_id, id),
        unique (tenant_id, key_hash),
        foreign key (tenant_id, role_id) references roles (tenant_id, id)
    );
    create table web_sessions (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        user_id uuid not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        revoked_at timestamptz,
        client_ip varchar(64),
        user_agent varchar(400),
        primary key (tenant_id, id),
        foreign key (tenant_id, user_id) references memberships (tenant_id, user_id)
    );
    """)

    # -- customers -------------------------------------------------------------------------
    x("""
    create table companies (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        name varchar(200) not null,
        domain varchar(253),
        industry varchar(100),
        phone varchar(32),
        email varchar(320),
        address jsonb,
        owner_id uuid,
        notes text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, owner_id) references memberships (tenant_id, user_id)
    );
    create index companies_list_idx on companies (tenant_id, created_at desc, id desc);
    create index companies_name_idx on companies (tenant_id, lower(name), id);
    create index companies_owner_idx on companies (tenant_id, owner_id);

    create table contacts (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        company_id uuid,
        name varchar(200) not null,
        email varchar(320),
        phone varchar(32),
        gender varchar(20) check (gender in ('male', 'female', 'other', 'undisclosed')),
        birthday date,
        title varchar(100),
        address jsonb,
        owner_id uuid,
        notes text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, company_id) references companies (tenant_id, id),
        foreign key (tenant_id, owner_id) references memberships (tenant_id, user_id)
    );
    create index contacts_list_idx on contacts (tenant_id, created_at desc, id desc);
    create index contacts_name_idx on contacts (tenant_id, lower(name), id);
    create index contacts_email_idx on contacts (tenant_id, lower(email));
    create index contacts_phone_idx on contacts (tenant_id, phone);
    create index contacts_company_idx on contacts (tenant_id, company_id);
    create index contacts_owner_idx on contacts (tenant_id, owner_id);
    """)

    # -- audit log and outbox --------------------------------------------------------------
    x("""
    create table audit_log (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        occurred_at timestamptz not null default now(),
        actor_type varchar(20) not null,
        actor_id uuid,
        actor_label varchar(320) not null,
        action varchar(50) not null,
        entity_type varchar(50) not null,
        entity_id uuid,
        before jsonb,
        after jsonb,
        request_id varchar(64),
        client_ip inet,
        primary key (tenant_id, id)
    );
    create index audit_log_time_idx on audit_log (tenant_id, occurred_at desc, id desc);
    create index audit_log_entity_idx on audit_log (tenant_id, entity_type, entity_id);
    create table outbox (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        occurred_at timestamptz not null default now(),
        event_type varchar(100) not null,
        aggregate_type varchar(50) not null,
        aggregate_id uuid,
        payload jsonb not null,
        request_id varchar(64),
        published_at timestamptz,
        primary key (tenant_id, id)
    );
    create index outbox_pending_idx on outbox (tenant_id, id) where published_at is null;
    """)

    # -- row-level security ----------------------------------------------------------------
    for table in TENANT_OWNED:
        x(f"alter table {table} enable row level security")
        x(f"alter table {table} force row level security")
        if table != "memberships":
            x(f"""create policy tenant_isolation on {table}
                  using (tenant_id = app_tenant_id())
                  with check (tenant_id = app_tenant_id())""")
    x("""
    create policy tenant_isolation on memberships
        using (tenant_id = app_tenant_id() or user_id = app_auth_user_id())
        with check (tenant_id = app_tenant_id());

    alter table tenants enable row level security;
    alter table tenants force row level security;
    create policy tenant_isolation on tenants
        using (id = app_tenant_id()
               or id in (select m.tenant_id from memberships m
                         where m.user_id = app_auth_user_id()))
        with check (id = app_tenant_id());

    -- Users are global identities (one login, many tenants). Visible: yourself while
    -- authenticating, and the members of the current tenant. Not forced, so that the owner's
    -- security-definer login lookup below can find a user by email before any tenant is known.
    alter table users enable row level security;
    create policy member_visibility on users
        using (id = app_auth_user_id()
               or id in (select m.user_id from memberships m where m.tenant_id = app_tenant_id()))
        with check (id = app_auth_user_id()
               or id in (select m.user_id from memberships m where m.tenant_id = app_tenant_id()));

    create function auth_find_user(p_email text)
        returns table (id uuid, password_hash text, name text)
        language sql stable security definer set search_path = public, pg_temp as
    $$ select u.id, u.password_hash, u.name from users u where lower(u.email) = lower(p_email) $$;
    revoke all on function auth_find_user(text) from public;
    """)

    # -- grants: the application role owns nothing and gets only what it needs -------------
    x(f"""
    revoke create on schema public from public;
    grant usage on schema public to {app_role};
    grant select, update on tenants to {app_role};
    grant select, insert, update on users to {app_role};
    grant select, insert, update, delete on roles, memberships, api_keys, web_sessions,
        companies, contacts to {app_role};
    grant select, insert on audit_log to {app_role};
    grant select, insert on outbox to {app_role};
    grant update (published_at) on outbox to {app_role};
    grant execute on function auth_find_user(text) to {app_role};
    grant execute on function app_tenant_id(), app_auth_user_id() to {app_role};
    """)


def downgrade(app_role: str = "crm_app") -> None:
    op.execute(f"""
    drop table if exists outbox, audit_log, contacts, companies, web_sessions, api_keys,
        memberships, roles, users, tenants cascade;
    drop function if exists auth_find_user(text);
    drop function if exists app_tenant_id();
    drop function if exists app_auth_user_id();
    revoke usage on schema public from {app_role};
    """)
