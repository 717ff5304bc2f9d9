"""The webhook pages: subscribe (a private address refused beside its field, the secret shown
once), test send, rotate the secret, pause and resume; the delivery log with its filters, a
delivery's detail (request, response, attempts) and redelivery."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from modules.demo import DEMO_EMAIL
from modules.webhooks.service import webhook_subscriptions
from tenancy.context import system_context
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantFactory
from tests.modules.webhooks.harness import OPEN, Harness, running
from tests.modules.webhooks.receiver import Receiver
from tests.web.conftest import UI, World

PUBLIC = "https://93.184.215.14/hooks/crm"


@pytest.fixture(scope="module")
def harness(servers: Servers, tenants: TenantFactory, gql: GraphQLClient) -> Iterator[Harness]:
    with running(servers, tenants, gql) as h:
        yield h


def test_subscribe_see_the_secret_once_test_rotate_pause_resume(ui: UI, world: World,
                                                                 harness: Harness) -> None:
    page = ui.page
    ui.enter(DEMO_EMAIL)
    page.locator("nav.sidebar").get_by_role("link", name="Webhook", exact=True).click()
    page.locator("[data-test=new-webhook]").click()
    page.fill("#webhook-url", "https://127.0.0.1/hook")
    page.locator("[data-test=event-types]").click()
    page.get_by_role("option", name="contact.created").click()
    page.get_by_role("option", name="contact.updated").click()
    page.keyboard.press("Escape")
    page.fill("#webhook-description", "ERP 同步")
    page.locator("[data-test=save-webhook]").click()
    expect(page.get_by_text("指向内网或保留地址")).to_be_visible()
    ui.check("webhook-refused.zh-CN")

    page.fill("#webhook-url", PUBLIC)
    page.locator("[data-test=save-webhook]").click()
    secret_box = page.locator("[data-test=webhook-secret]")
    expect(secret_box).to_have_value(re.compile(r"^whsec_"))
    secret = secret_box.input_value()
    ui.check("webhook-secret.zh-CN")
    page.locator("[data-test=close-secret]").click()
    table = page.locator("[data-test=webhook-table]")
    row = table.locator("tbody tr", has_text=PUBLIC).first
    expect(row).to_contain_text("ERP 同步")
    expect(row).to_contain_text("启用")
    expect(page.get_by_text(secret)).to_have_count(0)  # never shown again

    row.get_by_role("button", name="发送测试").click()
    expect(page.get_by_text("测试事件已发出")).to_be_visible()

    def more(item: str) -> None:
        row.get_by_role("button", name="更多").click()
        page.locator(".el-dropdown-menu:visible").get_by_text(item, exact=True).click()

    more("更换密钥")
    page.locator(".el-message-box").get_by_role("button", name="更换密钥").click()
    expect(secret_box).to_have_value(re.compile(r"^whsec_"))
    assert secret_box.input_value() != secret
    page.locator("[data-test=close-secret]").click()

    panel = page.locator("[data-test=worker-status]")
    expect(panel).to_contain_text("个后台进程在线")
    panel.locator(".el-collapse-item__header").click()
    expect(panel.locator("[data-test=queue-table]")).to_be_visible()
    expect(panel.locator("[data-test=failure-table]")).to_be_visible()
    ui.check("webhooks-workers.zh-CN")

    more("暂停")
    expect(row.locator("[data-test=webhook-status]")).to_contain_text("已暂停")
    more("恢复")
    expect(row.locator("[data-test=webhook-status]")).to_have_text("启用")
    ui.check("webhooks.zh-CN")

    # Disabled by the circuit breaker (the endpoint answered 410): the admins see it here.
    harness.sql_write("update webhook_subscriptions set status = 'disabled', status_reason = "
                      "'gone' where url = %(u)s", {"u": PUBLIC})
    ui.go("/admin/webhooks")
    notice = page.locator("[data-test=disabled-notice]")
    expect(notice).to_contain_text("已停用：对方返回 410 Gone")
    expect(row.locator("[data-test=webhook-status]")).to_contain_text("已停用")
    ui.check("webhook-disabled.zh-CN")
    more("恢复")
    expect(notice).to_have_count(0)


def test_the_delivery_log_its_filters_detail_and_redelivery(
        ui: UI, world: World, harness: Harness, gql: GraphQLClient) -> None:
    receiver = Receiver()
    try:
        [(tenant_id,)] = harness.sql("select id from tenants where slug = %(s)s",
                                     {"s": world.demo_slug})
        tenant = SimpleNamespace(id=tenant_id)
        harness.in_tenant(tenant_id, webhook_subscriptions.create, system_context(tenant_id),
                          {"url": receiver.url("/crm"), "event_types": ["tag.created"],
                           "description": "日志测试"}, policy=OPEN)
        receiver.answer(500)
        ui.enter(DEMO_EMAIL)
        page = ui.page
        response = page.context.request.post(
            f"{ui.base_url}/graphql", headers={"X-Requested-By": "tests"},
            data={"query": 'mutation { createTag(input: {name: "推送测试标签"}) { id } }'})
        assert response.ok and not response.json().get("errors")
        [delivery_id] = harness.fan_out(tenant, harness.events(tenant, "tag.created")[-1])
        harness.attempt(tenant, delivery_id)  # 500: retrying
        harness.make_due(delivery_id)
        harness.attempt(tenant, delivery_id)  # 200: delivered on the second attempt
        receiver.wait_for(2)

        ui.go("/admin/webhooks/deliveries")
        table = page.locator("[data-test=delivery-table]")
        row = table.locator("tbody tr", has_text="tag.created").first
        expect(row).to_contain_text("已送达")
        ui.check("webhook-deliveries.zh-CN")
        ui.go("/admin/webhooks/deliveries?status=FAILED&event=tag.created")
        expect(table).to_contain_text("没有符合条件的推送记录")
        ui.go("/admin/webhooks/deliveries?status=SUCCEEDED&event=tag.created")
        row = table.locator("tbody tr", has_text="tag.created").first
        row.click()
        detail = page.locator("[data-test=delivery-detail]")
        expect(detail.locator("[data-test=request-headers]")).to_contain_text("webhook-id")
        expect(detail.locator("[data-test=request-body]")).to_contain_text("推送测试标签")
        attempts = detail.locator("[data-test=attempt-table] tbody tr")
        expect(attempts).to_have_count(2)
        expect(attempts.first).to_contain_text("500")
        expect(attempts.nth(1)).to_contain_text("200")
        ui.check("webhook-delivery-detail.zh-CN")
        detail.locator("[data-test=redeliver-detail]").click()
        expect(page.get_by_text("将重新推送这条记录")).to_be_visible()
        assert harness.delivery(delivery_id)["status"] == "pending"

        page.locator("[data-test=language-menu]").click()
        page.get_by_text("English", exact=True).click()
        ui.go("/admin/webhooks/deliveries")
        expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
        ui.check("webhook-deliveries.en")
        ui.go("/admin/webhooks")
        expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
        ui.check("webhooks.en")
    finally:
        receiver.close()
