#!/usr/bin/env python3
"""Dashboard timing in a real browser (headless Debian chromium + chromedriver, via selenium).

    python3 bench/dashboard_timing.py BASE_URL EMAIL PASSWORD

1. Signs in through the login form, then loads `BASE_URL/#/analytics?timeRangeDays=90` three times,
   each time as a fresh page load (about:blank first, so it is never a same-document hash change).
   A MutationObserver installed before any page script (DevTools Page.addScriptToEvaluateOnNewDocument,
   so the page's strict CSP does not apply to it) takes `performance.now()` -- milliseconds since the
   navigation started -- the moment both the summary (`#analytics-summary`) and at least one row of the
   first page of conversations (`#conversations tbody tr`) are in the document. Prints the median.
2. Opens a second browser with a new, empty profile (empty HTTP cache), gives it the session cookie of
   the first one, loads the same analytics URL once, waits until it is drawn and no request is in flight,
   and sums `transferSize` over `performance.getEntriesByType('navigation')` and `('resource')`
   (the page, CSS, scripts and the API calls the page makes).

Output (stdout):
    dashboard analytics page: median N ms (runs a/b/c)
    dashboard first visit: N bytes in M requests
"""
import shutil
import statistics
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
RUNS = 3
TIMEOUT = 120  # seconds, per page: the analytics query runs over the whole seeded table
ROUTE = "/#/analytics?timeRangeDays=90"
COOKIE = "auth-token"

# Runs in every new document before the page's own scripts.
READY_PROBE = """
(() => {
  const check = () => {
    if (window.__edmoReadyAt === undefined && document.querySelector('#analytics-summary')
        && document.querySelector('#conversations tbody tr')) {
      window.__edmoReadyAt = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true });
})();
"""


def browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                f"--user-data-dir={profile_dir}", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    d.set_page_load_timeout(TIMEOUT)
    d.set_script_timeout(TIMEOUT)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": READY_PROBE})
    return d


def wait(d, timeout=TIMEOUT):
    return WebDriverWait(d, timeout, poll_frequency=0.05)


def idle(d):
    wait(d).until(lambda drv: drv.execute_script(
        "return document.readyState === 'complete' && !document.body.classList.contains('is-busy')"))


def load_analytics(d, base):
    """A fresh page load of the analytics page; returns ms from navigation start to data drawn."""
    d.get("about:blank")
    d.get(base + ROUTE)
    try:
        ready = wait(d).until(lambda drv: drv.execute_script("return window.__edmoReadyAt"))
    except Exception:
        body = d.find_element(By.TAG_NAME, "body").text[:500]
        raise SystemExit(f"analytics page not drawn within {TIMEOUT} s at {d.current_url}: {body!r} "
                         "(it needs at least one conversation in the last 90 days)")
    idle(d)
    return float(ready)


def sign_in(d, base, email, password):
    d.get(base + "/#/login")
    form = wait(d, 30).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#login-form")))
    form.find_element(By.CSS_SELECTOR, "input[name=email]").send_keys(email)
    form.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    try:
        wait(d, 30).until(lambda drv: drv.find_elements(By.CSS_SELECTOR, "#user-role") and
                          drv.find_element(By.CSS_SELECTOR, "#user-role").text)
    except Exception:
        msg = d.find_elements(By.CSS_SELECTOR, "#login-form .message")
        raise SystemExit("sign-in failed: " + (msg[0].text if msg else d.current_url))
    cookie = d.get_cookie(COOKIE)
    if not cookie:
        raise SystemExit(f"signed in but no {COOKIE} cookie was set")
    return cookie


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: dashboard_timing.py BASE_URL EMAIL PASSWORD")
    base, email, password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    profiles = [tempfile.mkdtemp(prefix="edmo-bench-profile-") for _ in range(2)]
    drivers = []
    try:
        d = browser(profiles[0])
        drivers.append(d)
        cookie = sign_in(d, base, email, password)
        runs = [load_analytics(d, base) for _ in range(RUNS)]
        print(f"dashboard analytics page: median {statistics.median(runs):.0f} ms "
              f"(runs {'/'.join(f'{r:.0f}' for r in runs)})", flush=True)

        # First visit: a new profile, so nothing is cached; signed in with the same session.
        fresh = browser(profiles[1])
        drivers.append(fresh)
        fresh.execute_cdp_cmd("Network.enable", {})
        fresh.execute_cdp_cmd("Network.setCookie", {
            "name": COOKIE, "value": cookie["value"], "url": base + "/",
            "httpOnly": bool(cookie.get("httpOnly")), "path": cookie.get("path", "/")})
        load_analytics(fresh, base)
        time.sleep(0.2)  # let the last resource timing entries land
        idle(fresh)
        total, count = fresh.execute_script("""
          const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
          return [entries.reduce((sum, e) => sum + (e.transferSize || 0), 0), entries.length];""")
        print(f"dashboard first visit: {int(total)} bytes in {int(count)} requests", flush=True)
    finally:
        for drv in drivers:
            try:
                drv.quit()
            except Exception:
                pass
        for p in profiles:
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
