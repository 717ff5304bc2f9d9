"""Login finds a user by the exact, application-normalised email.

`auth_find_user` compared `lower(email) = lower(p_email)` with PostgreSQL's `lower()`, which
disagrees with the application's (`İ` lowers to `i` in one and to `i` plus a combining dot in the
other, and collations differ again), so the login throttle and the lookup could see two different
addresses. The application normalises an email once (`infra.validation.normalise_email`) and
stores that form; the lookup now compares against it exactly, through a unique index on the
column. It also returns the stored email, so that a session is labelled with the stored address,
never with what was typed. The unique index on `lower(email)` stays as a second guard against
addresses that differ only in case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade(app_role: str = "crm_app") -> None:
    op.execute(f"""
    -- Rows written outside the application's services may hold ASCII capitals: the only
    -- case folding on which PostgreSQL and the application always agree.
    update users set email = lower(email) where email ~ '[A-Z]' and email !~ '[^\\x01-\\x7f]';
    create unique index users_email_exact_key on users (email);

    drop function auth_find_user(text);
    create function auth_find_user(p_email text)
        returns table (id uuid, email text, password_hash text, name text)
        language sql stable security definer set search_path = public, pg_temp as
    $$ select u.id, u.email::text, u.password_hash, u.name::text
       from users u where u.email = p_email $$;
    revoke all on function auth_find_user(text) from public;
    grant execute on function auth_find_user(text) to {app_role};
    """)


def downgrade(app_role: str = "crm_app") -> None:
    op.execute(f"""
    drop function auth_find_user(text);
    create function auth_find_user(p_email text)
        returns table (id uuid, password_hash text, name text)
        language sql stable security definer set search_path = public, pg_temp as
    $$ select u.id, u.password_hash, u.name from users u where lower(u.email) = lower(p_email) $$;
    revoke all on function auth_find_user(text) from public;
    grant execute on function auth_find_user(text) to {app_role};
    drop index users_email_exact_key;
    """)
