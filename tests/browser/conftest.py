"""Browser journeys: Playwright driving the machine's Chromium against pytest-django's live
server (a real threaded server on localhost, so the data is committed: `committed`).

Chromium comes from the distribution's packages (scripts/browser_setup.sh, run by `make test`);
never a browser downloaded by Playwright. Without it the journeys skip, saying why.

Every page a journey opens must pass the content security policy: console errors, uncaught page
errors and `securitypolicyviolation` events fail the test. On a failure the page's screenshot is
kept under var/test-artifacts/browser/<test>.png (docs/browser-tests.md)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.deals.conftest import edu  # noqa: F401 - the fixture (an education tenant)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"
PASSWORD = "pw-for-tests-123"  # TenantWorld.make_staff's: a real password, checked by the login
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - only where requirements.txt was not installed
    sync_playwright = None

# Reported to the test by an init script in every document the page loads.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ` +
                     `${e.sourceFile || document.location.pathname}:${e.lineNumber}`);
});
"""


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (requirements.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: scripts/browser_setup.sh installs the distribution's "
                "package (apt-get install chromium) and could not here")
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="module")
def browser():
    """Chromium for the module's tests. Playwright's sync API keeps an asyncio loop running in
    this thread while it is open, which Django's ORM takes for an async context and refuses; the
    test's own database work is plain synchronous code, so it is allowed for exactly that time
    (the module, not the rest of the suite)."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            try:
                chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            except PlaywrightError as exc:
                pytest.skip(f"Chromium at {CHROMIUM} does not start: "
                            f"{exc.message.splitlines()[0]}")
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


class Session:
    """One browser context (its own cookies) with the problems seen on its pages."""

    def __init__(self, browser, base_url: str, viewport: dict):
        self.problems: list[str] = []
        self.context = browser.new_context(base_url=base_url, viewport=viewport,
                                           locale="zh-CN", accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.expose_function("__reportCsp", lambda text: self.problems.append(
            f"CSP violation: {text}"))
        self.context.add_init_script(_CSP_LISTENER)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message) -> None:
        if "favicon.ico" in message.location.get("url", ""):
            return  # the browser asks for /favicon.ico by itself; the site has none
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"console {message.type}: {message.text} ({message.location})")

    def login(self, staff) -> None:
        page = self.page
        page.goto("/login/")
        page.fill("input[name=username]", staff.user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login/'] button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))


@pytest.fixture
def open_session(request, browser, live_server):
    """open_session(staff, viewport=PHONE) -> a logged-in Session. At the end: the screenshot of
    each session's page if the test failed, then no CSP violation or script error allowed."""
    sessions: list[Session] = []

    def open_(staff, viewport=DESKTOP) -> Session:
        session = Session(browser, live_server.url, viewport)
        sessions.append(session)
        session.login(staff)
        return session

    yield open_
    report = getattr(request.node, "rep_call", None)
    problems = [p for s in sessions for p in s.problems]
    if problems or (report is not None and report.failed):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, session in enumerate(sessions):
            name = request.node.name + (f"-{i}" if i else "")
            session.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    for session in sessions:
        session.context.close()
    if report is not None and report.passed:
        assert not problems, "\n".join(problems)
