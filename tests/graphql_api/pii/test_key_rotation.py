"""Key rotation and webhook secrets at rest: after a new key is put first and the rotation
runs, every sealed value (contacts, sensitive custom values, webhook secrets) is under the new
key and still reads the same, also once the old key is gone; a rerun changes nothing; an
interrupted run finishes on the next."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from infra import crypto
from infra.db import Database
from modules.pii import rotation
from modules.pii.sealed import SEALED
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantData, TenantFactory

ID_NUMBER = "11010519491231002X"
REVEAL = """mutation($id: ID!, $fields: [String!]!) {
  revealContactPii(id: $id, fields: $fields) { field value } }"""
WEBHOOK = """mutation($i: WebhookSubscriptionInput!) { createWebhookSubscription(input: $i) {
  id signingSecret } }"""
ROTATE_SECRET = """mutation($id: ID!) { rotateWebhookSecret(id: $id, overlapHours: 1) {
  signingSecret } }"""


@pytest.fixture
def keyring() -> Iterator[crypto.Keyring]:
    """The process's keyring, put back (with any key a test added, after it) at the end."""
    original = crypto.keyring()
    yield original
    current = crypto.keyring()
    extra = tuple(k for k in current.keys if k not in original.keys)
    crypto.install(crypto.Keyring(original.keys + extra, original.index_key))


def held(gql: GraphQLClient, tenant: TenantData) -> tuple[str, str]:
    admin = tenant.keys["admin"]
    gql.data("""mutation { createCustomField(input: {entity: CONTACT, key: "bank",
        label: "银行账号", type: TEXT, sensitive: true}) { id } }""", key=admin)
    contact = gql.data("""mutation($i: ContactInput!) { createContact(input: $i) { id } }""",
                       {"i": {"name": "赵敏", "idNumber": ID_NUMBER, "personalNotes": "过敏",
                              "customFields": [{"key": "bank", "value": "6222"}]}},
                       key=admin)["createContact"]["id"]
    webhook = gql.data(WEBHOOK, {"i": {"url": "https://93.184.215.14/hooks",
                                       "eventTypes": ["contact.created"]}},
                       key=tenant.keys["owner"])["createWebhookSubscription"]
    return contact, webhook["id"]


def headers(owner_conn: psycopg.Connection[Any], tenant_id: uuid.UUID) -> set[bytes]:
    """The key headers of every sealed value of the tenant."""
    found: set[bytes] = set()
    for column in SEALED:
        for (value,) in owner_conn.execute(
                f"select {column.column} from {column.table} where tenant_id = %s and "
                f"{column.column} is not null", (tenant_id,)):
            found.add(bytes(value)[:2 + value[1]])
    return found


def rotate(servers: Servers, tenant_id: uuid.UUID, batch: int) -> rotation.Rotated:
    async def run() -> rotation.Rotated:
        db = Database(servers.app_url, pool_size=1, max_overflow=0)
        try:
            return await rotation.rotate_tenant(db, tenant_id, batch=batch)
        finally:
            await db.dispose()
    return asyncio.run(run())


def test_rotation_reseals_everything_under_the_new_key(
        gql: GraphQLClient, tenants: TenantFactory, servers: Servers,
        owner_conn: psycopg.Connection[Any], keyring: crypto.Keyring) -> None:
    tenant = tenants.make()
    contact, webhook = held(gql, tenant)
    gql.data(ROTATE_SECRET, {"id": webhook}, key=tenant.keys["owner"])  # a previous secret too
    assert headers(owner_conn, tenant.id) == {keyring.header}

    new = crypto.Keyring((("2027-01", b"\x07" * 32), *keyring.keys), keyring.index_key)
    crypto.install(new)
    done = rotate(servers, tenant.id, batch=2)  # small batches: several transactions
    assert done.resealed == {"contacts.id_number_sealed": 1,
                             "contacts.personal_notes_sealed": 1,
                             "custom_field_values.value_sealed": 1,
                             "webhook_subscriptions.secret": 1,
                             "webhook_subscriptions.previous_secret": 1}
    owner_conn.commit()  # a fresh snapshot
    assert headers(owner_conn, tenant.id) == {new.header}
    assert rotate(servers, tenant.id, batch=2).total == 0  # idempotent

    # The old key gone: everything still reads, through the API.
    crypto.install(crypto.Keyring(new.keys[:1], keyring.index_key))
    revealed = gql.data(REVEAL, {"id": contact, "fields": ["idNumber", "personalNotes",
                                                           "customFields.bank"]},
                        key=tenant.keys["admin"])["revealContactPii"]
    assert [r["value"] for r in revealed] == [ID_NUMBER, "过敏", "6222"]
    secret = gql.data(ROTATE_SECRET, {"id": webhook},
                      key=tenant.keys["owner"])["rotateWebhookSecret"]["signingSecret"]
    assert secret.startswith("whsec_")


def test_an_interrupted_rotation_finishes_on_the_next_run(
        gql: GraphQLClient, tenants: TenantFactory, servers: Servers,
        owner_conn: psycopg.Connection[Any], keyring: crypto.Keyring) -> None:
    tenant = tenants.make()
    for n in range(3):
        gql.data("""mutation($i: ContactInput!) { createContact(input: $i) { id } }""",
                 {"i": {"name": f"客户{n}", "personalNotes": f"第{n}条"}},
                 key=tenant.keys["owner"])
    new = crypto.Keyring((("2027-02", b"\x09" * 32), *keyring.keys), keyring.index_key)
    crypto.install(new)

    async def one_batch() -> int:  # a run killed after its first batch committed
        db = Database(servers.app_url, pool_size=1, max_overflow=0)
        try:
            async with db.scoped(tenant.id) as session:
                return await rotation.reseal_batch(session, tenant.id, SEALED[1], 1)
        finally:
            await db.dispose()
    assert asyncio.run(one_batch()) == 1
    assert len(headers(owner_conn, tenant.id)) == 2  # old and new, side by side: all readable
    assert rotate(servers, tenant.id, batch=1).resealed["contacts.personal_notes_sealed"] == 2
    owner_conn.commit()
    assert headers(owner_conn, tenant.id) == {new.header}


def test_webhook_secrets_are_sealed_at_rest(gql: GraphQLClient, tenants: TenantFactory,
                                           owner_conn: psycopg.Connection[Any]) -> None:
    tenant = tenants.make()
    _, webhook = held(gql, tenant)
    secret = gql.data(ROTATE_SECRET, {"id": webhook},
                      key=tenant.keys["owner"])["rotateWebhookSecret"]["signingSecret"]
    raw = base64.b64decode(secret.removeprefix("whsec_"))
    stored = owner_conn.execute(
        "select secret, previous_secret from webhook_subscriptions where tenant_id = %s",
        (tenant.id,)).fetchone()
    assert stored is not None
    for value in stored:
        assert len(value) > 32 and raw not in bytes(value)
        assert base64.b64encode(raw) not in bytes(value)


def test_the_keyring_refuses_bad_configuration_and_hides_its_keys() -> None:
    from infra.settings import Settings

    with pytest.raises(crypto.KeyringError):
        crypto.load_keyring(Settings(env="production", secret_key="x" * 48))
    with pytest.raises(crypto.KeyringError):
        crypto.load_keyring(Settings(pii_keys="k1:" + "A" * 10, pii_index_key="A" * 44))
    good = crypto.new_key_text("k1")
    ring = crypto.load_keyring(Settings(pii_keys=good, pii_index_key=crypto.new_key_text(
        "x").split(":", 1)[1]))
    assert good.split(":", 1)[1] not in repr(ring)
    assert "pii_keys" not in repr(Settings(pii_keys=good))  # never printed with the settings
    with pytest.raises(crypto.SealBroken):
        ring.open(ring.seal("秘密", b"a"), b"b")


def test_without_keys_development_generates_a_private_key_file(tmp_path: Path) -> None:
    from infra.settings import Settings

    settings = Settings(env="development", data_dir=tmp_path / "data")
    first = crypto.load_keyring(settings)
    key_file = tmp_path / "data" / crypto.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = crypto.load_keyring(settings)  # read back, not generated anew
    assert again.keys == first.keys and again.index_key == first.index_key
    other = crypto.load_keyring(Settings(env="test", data_dir=tmp_path / "elsewhere"))
    assert other.keys != first.keys  # per install: no key shared by two installs


def test_crm_pii_rotate_reseals_every_tenant(
        gql: GraphQLClient, tenants: TenantFactory, servers: Servers,
        owner_conn: psycopg.Connection[Any], keyring: crypto.Keyring) -> None:
    from tests.infra.test_cli import crm
    from tests.pii_keys import pii_settings

    first, second = tenants.make(), tenants.make()
    for tenant in (first, second):
        gql.data("""mutation($i: ContactInput!) { createContact(input: $i) { id } }""",
                 {"i": {"name": "客户", "idNumber": ID_NUMBER}}, key=tenant.keys["owner"])
    new_key = crypto.new_key_text("2027-03")
    key_id, _, text = new_key.partition(":")
    new = crypto.Keyring(((key_id, base64.urlsafe_b64decode(text)), *keyring.keys),
                         keyring.index_key)
    crypto.install(new)  # this process reads what the command seals
    keys = pii_settings()
    done = crm(servers, "pii", "rotate", PII_KEYS=keys["pii_keys"],
               PII_INDEX_KEY=keys["pii_index_key"])
    assert done.returncode == 0, done.stderr
    assert "Every sealed value is under key '2027-03'." in done.stdout
    assert new_key.partition(":")[2] not in done.stdout + done.stderr
    for tenant in (first, second):
        assert headers(owner_conn, tenant.id) == {new.header}
    assert crm(servers, "pii", "rotate", PII_KEYS=keys["pii_keys"]).returncode == 2  # no index key


def test_the_rotation_is_a_daily_job_over_every_tenant() -> None:
    from datetime import timedelta

    from modules.pii import tasks
    from workers.schedule import PERIODIC

    job = PERIODIC["pii.rotate_all"]
    assert job.task is tasks.rotate_all and job.every == timedelta(days=1)
    assert tasks.rotate.name == "pii.rotate" and not tasks.rotate.tenant
