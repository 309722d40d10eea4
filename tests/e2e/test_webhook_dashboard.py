"""The dashboard's Outbound events page (ADMINs) in a real browser: add an endpoint (its secret shown once),
see its deliveries, send one again; other roles have no such page."""
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from test_dashboard import EDITOR, driver, fill, no_stray_values, shot, sign_in, text_in, users, visible, wait  # noqa: F401
from test_resources import ASSISTANT


def test_admin_adds_an_endpoint_and_sends_a_delivery_again(users, driver):
    d, base = driver, users.base
    sign_in(d, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    text_in(d, "#user-role", "ADMIN")
    visible(d, "#nav a[data-nav=webhooks]").click()
    fill(visible(d, "#webhook-url"), "https://hooks.example.com/dashboard")
    fill(d.find_element(By.CSS_SELECTOR, "#webhook-description"), "CRM")
    d.find_element(By.CSS_SELECTOR, "#add-webhook").click()
    text_in(d, "main", "shown only now: whsec_")
    card = visible(d, "section.card[data-id]")
    endpoint = card.get_attribute("data-id")
    assert "https://hooks.example.com/dashboard" in card.text and "CRM" in card.text
    # An assistant made through the API gives the endpoint a delivery (hooks.example.com does not resolve
    # here: it stays pending with its error, or fails).
    owner = users.session()
    assert owner.post(base + "/api/assistants", json=dict(ASSISTANT, name="Evented")).status_code == 201
    d.refresh()
    row = visible(d, f"#deliveries-table-{endpoint} tbody tr")
    assert "assistant.created" in row.text
    row.find_element(By.CSS_SELECTOR, "button[data-action=retry]").click()

    def pending(drv):
        # The table is drawn again after the click: a row found just before may be gone by the next call.
        try:
            return drv.find_element(By.CSS_SELECTOR, f"#deliveries-table-{endpoint} tbody tr").get_attribute("data-status") == "pending"
        except StaleElementReferenceException:
            return False

    wait(d).until(pending)
    no_stray_values(d)
    shot(d, "outbound-events")


def test_an_editor_has_no_outbound_events_page(users, driver):
    d, base = driver, users.base
    sign_in(d, base, EDITOR)
    visible(d, "#nav a[data-nav=assistants]")
    assert not d.find_element(By.CSS_SELECTOR, "#nav a[data-nav=webhooks]").is_displayed()
