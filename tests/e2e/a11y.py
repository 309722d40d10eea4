"""axe-core in the browser suite: `assert_accessible(driver, "what the page shows")` fails on any violation.

Two engines run, both shipped inside PyPI packages (nothing is fetched): axe-selenium-python's and
selenium-axe-python's. On Python < 3.12 (Debian 12's python3) pip can only install axe-selenium-python 2.1.6,
which carries axe-core 3.1.1 from 2018, without many of today's rules; selenium-axe-python, its maintained
fork, carries axe-core 4.9.1. Both are pinned in the Makefile, so a newer engine's new rules are not a failure
of ours; the page must pass each. Every rule of each engine runs (WCAG 2 A and AA, best practices; one
exemption below, where the old engine is wrong), on the whole document as it stands: call it again after each
state the test brings the page to (an error shown, a dialog open, a table expanded).
"""
import json

from selenium.webdriver.support.ui import WebDriverWait
from axe_selenium_python import Axe as Axe3
from selenium_axe_python import Axe as Axe4

# What each engine is told not to check, and why: only where an engine is known to be wrong. axe-core 3.1.1 does
# not know the <dialog> element (its role came in later versions): with a modal dialog open, its `region` rule
# finds the dialog's content "outside any landmark". axe-core 4 checks that state, dialog included.
OLD_ENGINE_EXEMPTIONS = "document.querySelector('dialog[open]') ? {region: {enabled: false}} : {}"
ENGINES = (("axe-selenium-python", Axe3, OLD_ENGINE_EXEMPTIONS), ("selenium-axe-python", Axe4, "{}"))


def violations(driver, context="document"):
    """{engine: [violation, ...]}: what each engine finds in `context` (a CSS selector string or "document")."""
    found = {}
    target = "document" if context == "document" else json.dumps(context)
    for name, engine, exempt in ENGINES:
        # Each injection replaces window.axe, so inject and run one engine at a time.
        engine(driver).inject()
        found[name] = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"axe.run({target}, {{resultTypes: ['violations'], rules: {exempt}}}).then((r) => done(r.violations), "
            "(e) => done([{id: 'axe-error', impact: 'critical', description: String(e), helpUrl: '', tags: [], nodes: []}]));")
    return found


def report(found):
    lines = []
    for name, items in found.items():
        for v in items:
            lines.append(f"[{name}] {v['id']} ({v.get('impact')}): {v.get('description')}")
            for node in v.get("nodes", [])[:5]:
                lines.append(f"    {' '.join(node.get('target', []))}: {node.get('failureSummary', '').strip()}")
    return "\n".join(lines)


def assert_accessible(driver, where=""):
    """Fails with every violation any engine finds on the page as it is now; `where` names the page and state."""
    # A page still loading is a state of its own, which a test calls this for on purpose only: wait for the data.
    WebDriverWait(driver, 15).until(lambda d: not d.execute_script("return document.body.classList.contains('is-busy')"))
    # axe scrolls elements into view to measure their contrast: put the page back where it was (for the screenshots).
    at = driver.execute_script("return [window.scrollX, window.scrollY]")
    found = violations(driver)
    driver.execute_script("window.scrollTo(arguments[0], arguments[1])", *at)
    assert not any(found.values()), f"accessibility violations on {where or driver.current_url}:\n{report(found)}"
