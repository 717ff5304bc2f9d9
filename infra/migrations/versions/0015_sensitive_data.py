"""Sensitive data (issue 12, item 9): sealed columns, the pii permissions, erasure's redaction.

- `contacts`: an identity document (`id_type`: resident ID card or passport) whose number is
  sealed (`id_number_sealed`, AES-GCM, infra/crypto.py), shown masked (`id_number_masked`,
  `110***********1234`) and found by exact match through its blind index
  (`id_number_index`, HMAC); personal notes sealed (`personal_notes_sealed`); `erased_at` once
  the contact is anonymised on request.
- `custom_fields.sensitive`: a field whose values are sealed (`custom_field_values.
  value_sealed`, the blind index in `value_text` for exact-match filters); never unique.
- `webhook_subscriptions.secret` / `previous_secret`: existing secrets are sealed here, with
  the keys of the settings the migration runs with (`infra.migrate.upgrade` passes them).
- `pii_tenants()`: the tenants, for the key rotation job (the app role sees one tenant at a
  time); `pii_redact_history(entity, id, global id)`: erasure's redaction of the record's past
  audit rows, outbox events and webhook deliveries in the caller's tenant (the app role may
  not update audit rows itself).
- The built-in owner and admin roles get `pii:read` and `pii:erase`.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-30
"""

from alembic import context, op
from sqlalchemy import text

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

# As tenancy/permissions.py grants them when this revision was written.
ROLE_PERMISSIONS = {"owner": ["pii:read", "pii:erase"], "admin": ["pii:read", "pii:erase"]}


def _seal_webhook_secrets() -> None:
    """Seal the secrets stored in clear (32 raw bytes; a sealed one is longer), tenant by
    tenant (row-level security is forced, on the owner too)."""
    from infra import crypto
    from infra.settings import get_settings

    settings = context.config.attributes.get("settings") or get_settings()
    bind = op.get_bind()
    keyring = None  # loaded only if a secret needs sealing: a fresh database needs no keys
    for (tenant_id,) in bind.execute(text("select id from tenants")).all():
        bind.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
        rows = bind.execute(text(
            "select id, secret, previous_secret from webhook_subscriptions "
            "where tenant_id = :t and length(secret) = 32"), {"t": tenant_id}).all()
        for id, secret, previous in rows:
            keyring = keyring or crypto.load_keyring(settings)
            sealed = {column: None if raw is None else keyring.seal_bytes(
                bytes(raw), crypto.context("webhook_subscriptions", column, tenant_id, id))
                for column, raw in (("secret", secret), ("previous_secret", previous))}
            bind.execute(text("update webhook_subscriptions set secret = :secret, "
                              "previous_secret = :previous_secret "
                              "where tenant_id = :t and id = :id"),
                         {**sealed, "t": tenant_id, "id": id})
    bind.execute(text("select set_config('app.tenant_id', '', true)"))


def upgrade(app_role: str = "crm_app") -> None:
    op.execute("""
    alter table contacts
        add column id_type varchar(20) check (id_type in ('resident_id', 'passport')),
        add column id_number_masked varchar(40),
        add column id_number_sealed bytea,
        add column id_number_index bytea,
        add column personal_notes_sealed bytea,
        add column erased_at timestamptz,
        add constraint contacts_id_number_whole check (
            (id_type is null) = (id_number_sealed is null)
            and (id_number_sealed is null) = (id_number_index is null))""")
    op.execute("create index contacts_id_number_idx on contacts (tenant_id, id_number_index) "
               "where id_number_index is not null")

    op.execute("""
    alter table custom_fields
        add column sensitive boolean not null default false,
        add constraint custom_fields_sensitive_not_unique check (not (sensitive and is_unique))
    """)
    op.execute("alter table custom_field_values add column value_sealed bytea")

    _seal_webhook_secrets()

    op.execute(f"""
    create function pii_tenants() returns setof uuid
        language sql stable security definer set search_path = public, pg_temp as
    $$ select id from tenants order by id $$;
    revoke all on function pii_tenants() from public;
    grant execute on function pii_tenants() to {app_role};

    create function pii_redacted(image jsonb) returns jsonb
        language sql immutable set search_path = public, pg_temp as
    $$ select case when jsonb_typeof(image) = 'object' then
           coalesce((select jsonb_object_agg(k, null) from jsonb_object_keys(image) k), '{{}}')
           || '{{"redacted": true}}'
       else image end $$;

    create function pii_redact_history(p_entity_type text, p_entity_id uuid, p_global_id text)
        returns integer
        language plpgsql volatile security definer set search_path = public, pg_temp as
    $$
    declare
        t uuid := app_tenant_id();
        n integer;
    begin
        if t is null then
            raise exception 'no tenant set';
        end if;
        -- Keys kept (what changed stays visible), every value gone.
        update audit_log set before = pii_redacted(before), after = pii_redacted(after)
        where tenant_id = t and entity_type = p_entity_type and entity_id = p_entity_id
          and (before is not null or after is not null);
        get diagnostics n = row_count;
        update outbox set payload = jsonb_build_object('id', p_global_id, 'redacted', true)
        where tenant_id = t and aggregate_type = p_entity_type
          and aggregate_id = p_entity_id;
        update webhook_deliveries
        set payload = jsonb_build_object('id', p_global_id, 'redacted', true), body = null
        where tenant_id = t and payload ->> 'id' = p_global_id;
        return n;
    end $$;
    revoke all on function pii_redact_history(text, uuid, text) from public;
    grant execute on function pii_redact_history(text, uuid, text) to {app_role};
    """)

    for role, permissions in ROLE_PERMISSIONS.items():
        op.execute(f"""
        update roles set permissions = array(
            select distinct p from unnest(permissions || array{permissions}::text[]) as p
            order by p)
        where is_builtin and key = '{role}'""")


def downgrade(app_role: str = "crm_app") -> None:
    # Sealed webhook secrets stay sealed: opening them needs the keys, which a downgrade
    # has no business holding. Restore from a backup to go back past this revision.
    op.execute("drop function if exists pii_redact_history(text, uuid, text)")
    op.execute("drop function if exists pii_tenants()")
    op.execute("drop function if exists pii_redacted(jsonb)")
    op.execute("alter table custom_field_values drop column if exists value_sealed")
    op.execute("alter table custom_fields drop constraint if exists "
               "custom_fields_sensitive_not_unique, drop column if exists sensitive")
    op.execute("drop index if exists contacts_id_number_idx")
    op.execute("""alter table contacts drop constraint if exists contacts_id_number_whole,
        drop column if exists id_type, drop column if exists id_number_masked,
        drop column if exists id_number_sealed, drop column if exists id_number_index,
        drop column if exists personal_notes_sealed, drop column if exists erased_at""")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p where p not like 'pii:%' order by p)
    where is_builtin""")
