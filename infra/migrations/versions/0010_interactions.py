"""Interactions, their types and survey answers (issue 12, items 4 and 5).

- `interaction_types`: built-in types (`key` set) seeded for every tenant, by a trigger on
  `tenants` for new ones and here for existing ones; tenants add their own. Names are unique
  per tenant whatever their case, deleted types included.
- `interactions`: logged against a contact and/or a company; deals and orders join later as
  further nullable references (the customer check then counts them too). Indexed for the
  lists' sorts, each customer's timeline and each member's follow-ups.
- `survey_responses`: CSAT 1-5 and/or NPS 0-10 with a comment, linked to a contact and/or a
  company, optionally to an interaction (and later an order: `order_id`, no key yet).
- `audit_log` gets an index by record and time: a customer's changes in the timeline are a
  keyset walk over it.
- The built-in roles of existing tenants get the interaction permissions new tenants' roles
  have (`tenancy.permissions.BUILTIN_ROLES`).

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_ALL = ["interactions:read", "interactions:read_all", "interactions:write",
        "interactions:delete", "interaction_types:manage"]
# As tenancy/permissions.py grants them when this revision was written.
ROLE_PERMISSIONS = {
    "owner": _ALL,
    "admin": _ALL,
    "manager": _ALL,
    "sales": ["interactions:read", "interactions:write", "interactions:delete"],
    "viewer": ["interactions:read", "interactions:read_all"],
}
BUILTIN_TYPES = [("call", "Call"), ("email", "Email"), ("meeting", "Meeting"), ("chat", "Chat"),
                 ("visit", "Visit"), ("note", "Note")]
_SEED_VALUES = ", ".join(f"('{key}', '{name}')" for key, name in BUILTIN_TYPES)


def upgrade(app_role: str = "crm_app") -> None:
    create_tenant_table(
        "interaction_types",
        "key varchar(20) check (key ~ '^[a-z_]{1,20}$')",
        "name varchar(50) not null",
        "color varchar(7) check (color ~ '^#[0-9a-f]{6}$')",
        "deleted_at timestamptz",
        indexes=["lower(name), id", "created_at desc, id desc", "updated_at desc, id desc"],
        app_role=app_role)
    op.execute("create unique index interaction_types_name_key "
               "on interaction_types (tenant_id, lower(name))")
    op.execute("create unique index interaction_types_key_key "
               "on interaction_types (tenant_id, key) where key is not null")

    create_tenant_table(
        "interactions",
        "type_id uuid not null",
        "channel varchar(20)",
        "direction varchar(10) check (direction in ('inbound', 'outbound'))",
        "occurred_at timestamptz not null",
        "duration_seconds integer check (duration_seconds between 0 and 86400)",
        "subject varchar(200) not null",
        "body text",
        "outcome varchar(500)",
        "next_follow_up_at timestamptz",
        "contact_id uuid",
        "company_id uuid",
        "participant_contact_ids uuid[] not null default '{}'",
        "participant_member_ids uuid[] not null default '{}'",
        "owner_id uuid",
        "deleted_at timestamptz",
        constraints=[
            "constraint interactions_customer_check "
            "check (num_nonnulls(contact_id, company_id) > 0)",
            "constraint interactions_follow_up_check check (next_follow_up_at >= occurred_at)",
            "foreign key (tenant_id, type_id) references interaction_types (tenant_id, id)",
            "foreign key (tenant_id, contact_id) references contacts (tenant_id, id)",
            "foreign key (tenant_id, company_id) references companies (tenant_id, id)",
            "foreign key (tenant_id, owner_id) references memberships (tenant_id, user_id)"],
        indexes=["occurred_at desc, id desc", "created_at desc, id desc",
                 "updated_at desc, id desc", "owner_id",
                 # A customer's timeline, newest first.
                 "contact_id, occurred_at desc, id desc",
                 "company_id, occurred_at desc, id desc",
                 "type_id"],
        app_role=app_role)
    # A member's open follow-ups, soonest first.
    op.execute("create index interactions_follow_up_idx on interactions "
               "(tenant_id, owner_id, next_follow_up_at, id) "
               "where next_follow_up_at is not null and deleted_at is null")

    create_tenant_table(
        "survey_responses",
        "contact_id uuid",
        "company_id uuid",
        "interaction_id uuid",
        "order_id uuid",
        "csat smallint check (csat between 1 and 5)",
        "nps smallint check (nps between 0 and 10)",
        "comment text",
        "responded_at timestamptz not null",
        "owner_id uuid",
        "deleted_at timestamptz",
        constraints=[
            "constraint survey_responses_score_check check (num_nonnulls(csat, nps) > 0)",
            "constraint survey_responses_customer_check "
            "check (num_nonnulls(contact_id, company_id) > 0)",
            "foreign key (tenant_id, contact_id) references contacts (tenant_id, id)",
            "foreign key (tenant_id, company_id) references companies (tenant_id, id)",
            "foreign key (tenant_id, interaction_id) references interactions (tenant_id, id)",
            "foreign key (tenant_id, owner_id) references memberships (tenant_id, user_id)"],
        indexes=["responded_at desc, id desc", "created_at desc, id desc",
                 "updated_at desc, id desc", "owner_id",
                 "contact_id, responded_at desc, id desc",
                 "company_id, responded_at desc, id desc",
                 "interaction_id"],
        app_role=app_role)

    op.execute("create index audit_log_record_time_idx on audit_log "
               "(tenant_id, entity_type, entity_id, occurred_at desc, id desc)")

    # Built-in types: for every tenant created from now on (in the creating transaction, under
    # its tenant scope, so row-level security admits the rows), and for those that exist.
    op.execute(f"""
    create function seed_interaction_types() returns trigger language plpgsql as $$
    begin
        insert into interaction_types (tenant_id, id, key, name)
        select new.id, gen_random_uuid(), v.key, v.name
        from (values {_SEED_VALUES}) as v (key, name);
        return new;
    end $$""")
    op.execute("create trigger tenants_seed_interaction_types after insert on tenants "
               "for each row execute function seed_interaction_types()")
    op.execute(f"""
    do $$
    declare t uuid;
    begin
        for t in select id from tenants loop
            perform set_config('app.tenant_id', t::text, true);
            insert into interaction_types (tenant_id, id, key, name)
            select t, gen_random_uuid(), v.key, v.name
            from (values {_SEED_VALUES}) as v (key, name);
        end loop;
        perform set_config('app.tenant_id', '', true);
    end $$""")

    for role, permissions in ROLE_PERMISSIONS.items():
        op.execute(f"""
        update roles set permissions = array(
            select distinct p from unnest(permissions || array{permissions}::text[]) as p
            order by p)
        where is_builtin and key = '{role}'""")


def downgrade(app_role: str = "crm_app") -> None:
    op.execute("drop trigger if exists tenants_seed_interaction_types on tenants")
    op.execute("drop function if exists seed_interaction_types()")
    op.execute("drop index if exists audit_log_record_time_idx")
    drop_tenant_table("survey_responses")
    drop_tenant_table("interactions")
    drop_tenant_table("interaction_types")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p
        where p not like 'interactions:%' and p <> 'interaction_types:manage' order by p)
    where is_builtin""")
