"""The operator console in a real browser: headless Debian Chromium driven through Selenium (WebDriver).

usage: console_browser.py BASE_URL EMAIL PASSWORD DEPOSIT_ADDRESS SCREENSHOT_DIR WITHDRAWAL_ID EMAIL2 PASSWORD2
                          ENDPOINT_PATH EVENT_ID

Signs in, creates a customer, finds a deposit by its address, approves a withdrawal that needs two approvals (the
same operator's second approval is refused; a second operator completes it), posts a form without its CSRF token
(refused), signs out and checks the old page no longer works. Saves a screenshot of every step. Prints
"console browser walk: ok" at the end; any failed check raises.
"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, email, password, address, shots, withdrawal, email2, password2, endpoint_path, event = sys.argv[1:11]
os.makedirs(shots, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.implicitly_wait(5)


def shot(name):
    driver.save_screenshot(os.path.join(shots, f"{name}.png"))


def h1():
    return driver.find_element(By.TAG_NAME, "h1").text


def wait_for(check, what):
    """Wait (up to 30 s) for a page loaded by a click to satisfy `check`; an element of the page being replaced
    (stale; Chromium sometimes says "Node with given id does not belong to the document", a plain WebDriverException)
    or not there yet is waited out."""
    ignored = (NoSuchElementException, StaleElementReferenceException, WebDriverException)
    WebDriverWait(driver, 30, ignored_exceptions=ignored).until(lambda d: check(d), message=what)


try:
    driver.get(f"{base}/console")
    assert h1() == "Sign in", h1()
    shot("01-sign-in")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    wait_for(lambda d: h1() == "Overview", "the overview after signing in")
    assert email in driver.page_source
    shot("02-overview")

    driver.find_element(By.LINK_TEXT, "Customers").click()
    wait_for(lambda d: h1() == "Customers", "the customers page")
    driver.find_element(By.NAME, "customer_id").send_keys("browser-co")
    driver.find_element(By.CSS_SELECTOR, "main input[name=email]").send_keys("browser@example.com")
    driver.find_element(By.NAME, "entity_name").send_keys("Browser Co")
    driver.find_element(By.XPATH, "//button[text()='Create customer']").click()
    wait_for(lambda d: "<code>browser-co</code>" in d.page_source, "the new customer listed")
    shot("03-customer-created")

    # Mint a credential: its secret is shown once, and not after a reload.
    driver.find_element(By.LINK_TEXT, "browser-co").click()
    wait_for(lambda d: h1() == "Customer browser-co", "the customer's page")
    driver.find_element(By.NAME, "name").send_keys("from the browser")
    driver.find_element(By.XPATH, "//button[text()='Mint credential']").click()
    wait_for(lambda d: "copy its secrets now" in d.page_source, "the minted secret shown")
    secret = driver.find_element(By.CSS_SELECTOR, "[data-secret=customer_secret]").text
    assert len(secret) == 32, secret
    shot("03b-secret-shown-once")
    driver.get(f"{base}/console/customers/browser-co")
    wait_for(lambda d: h1() == "Customer browser-co", "the customer's page again")
    assert secret not in driver.page_source, "the secret is never shown again"

    driver.find_element(By.LINK_TEXT, "Search").click()
    wait_for(lambda d: h1() == "Search", "the search page")
    driver.find_element(By.NAME, "q").send_keys(address)
    driver.find_element(By.XPATH, "//button[text()='Search']").click()
    wait_for(lambda d: "Deposits (1)" in d.page_source, "the deposit found by its address")
    assert "0.5" in driver.page_source and "BTC" in driver.page_source
    shot("04-deposit-found")

    # Four eyes: approve, approve again (refused), then a second operator completes it.
    approve = f"//form[contains(@action, '/{withdrawal}/approve')]/button"
    driver.find_element(By.LINK_TEXT, "Approvals").click()
    wait_for(lambda d: h1() == "Approvals", "the approval queue")
    assert "0 of 2" in driver.page_source
    driver.find_element(By.XPATH, approve).click()
    wait_for(lambda d: "1 of 2" in d.page_source, "the first approval counted")
    shot("05-first-approval")
    driver.find_element(By.XPATH, approve).click()
    wait_for(lambda d: "already decided" in d.page_source, "the same operator's second approval refused")
    shot("06-second-approval-refused")
    driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
    wait_for(lambda d: h1() == "Sign in", "signed out")
    driver.find_element(By.NAME, "email").send_keys(email2)
    driver.find_element(By.NAME, "password").send_keys(password2)
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    wait_for(lambda d: h1() == "Overview", "the second operator signed in")
    driver.find_element(By.LINK_TEXT, "Approvals").click()
    wait_for(lambda d: h1() == "Approvals", "the approval queue")
    driver.find_element(By.XPATH, approve).click()
    wait_for(lambda d: withdrawal not in d.page_source, "approved by two: gone from the queue")
    shot("07-approved-by-two")

    # Redeliver a webhook event from its endpoint's page.
    driver.get(f"{base}{endpoint_path}")
    wait_for(lambda d: "Deliveries (1)" in d.page_source, "the endpoint's deliveries")
    driver.find_element(By.XPATH, f"//button[@aria-label='Redeliver event {event}']").click()
    wait_for(lambda d: "Queued 1 new delivery" in d.page_source, "the redelivery queued")
    shot("07b-webhook-redelivered")

    # A form without its CSRF token (the hidden input removed) is refused.
    driver.find_element(By.LINK_TEXT, "Customers").click()
    wait_for(lambda d: h1() == "Customers", "the customers page")
    driver.execute_script("document.querySelector('main form input[name=csrf]').remove()")
    driver.find_element(By.NAME, "customer_id").send_keys("forged")
    driver.find_element(By.CSS_SELECTOR, "main input[name=email]").send_keys("forged@example.com")
    driver.find_element(By.NAME, "entity_name").send_keys("Forged")
    driver.find_element(By.XPATH, "//button[text()='Create customer']").click()
    wait_for(lambda d: h1() == "Refused", "the CSRF-less form refused")
    shot("08-csrf-refused")

    driver.get(f"{base}/console/audit")
    assert "customer.create" in driver.page_source and "withdrawal.approve" in driver.page_source
    shot("09-audit")

    driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
    wait_for(lambda d: h1() == "Sign in", "the sign-in page after signing out")
    driver.get(f"{base}/console")
    assert h1() == "Sign in", "signed out: the console sends to sign-in"
    shot("10-signed-out")
    print("console browser walk: ok")
except Exception:
    # What the browser shows when a step fails: a screenshot and the page, for the CI log and artefacts.
    shot("failure")
    print(f"failed at {driver.current_url}:\n{driver.page_source}", file=sys.stderr)
    raise
finally:
    driver.quit()
