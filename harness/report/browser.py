"""Open an HTML file in headless Chromium and report what a reader would see (``python -m harness.report.browser``).

Used by the tests to prove that a release report renders, and by release engineers before attaching one:

    python -m harness.report.browser reports/<tag>/report.html [--screenshot PATH]

Selenium drives Debian's ``chromium`` through Debian's ``chromedriver`` (package ``chromium-driver``; the two are
built together, so their versions always match). Both are given to Selenium by path, so Selenium Manager never
runs and nothing is downloaded; ``make browser`` (scripts/ensure-chromium.sh) installs the packages. The browser
starts with a throwaway profile and every background service off, and the page is loaded from a file:// URL.

What :func:`inspect_page` returns is raw observation, for the caller to judge: the browser's log (console
messages, uncaught exceptions, a failed image, a Content-Security-Policy violation), every request the page
made (from the DevTools events of chromedriver's performance log), each image's load state (``complete``,
``naturalWidth``), and the tables and headline found.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = ("headless Chromium and its driver are needed to check that the HTML report renders; install "
                "Debian's packages as root with `apt-get install chromium chromium-driver` (`make browser` does "
                "this), or set CHROMIUM=/path/to/chromium and CHROMEDRIVER=/path/to/chromedriver")
CANDIDATE_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVER_NAME = "chromedriver"
DRIVER_FALLBACK = "/usr/bin/chromedriver"  # Debian's chromium-driver, for a PATH without /usr/bin
VIEWPORT = (1280, 1000)

# What the page tells us after it has loaded: plain data, judged by the caller.
PAGE_STATE_JS = """return JSON.stringify({
  title: document.title,
  headline: (document.getElementById('headline') || {}).textContent || null,
  tables: Array.from(document.querySelectorAll('table')).map(t => ({id: t.id, rows: t.tBodies.length ?
          t.tBodies[0].rows.length : t.rows.length})),
  summaryRows: Array.from(document.querySelectorAll('#summary-table tbody tr')).map(
          tr => Array.from(tr.cells).map(td => td.textContent.trim())),
  images: Array.from(document.images).map(i => ({alt: i.alt, src: i.currentSrc.slice(0, 30),
          complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight,
          renderedWidth: i.getBoundingClientRect().width})),
  bodyHeight: document.body ? document.body.scrollHeight : 0
})"""


class BrowserMissing(RuntimeError):
    """No Chromium, chromedriver or Selenium on this machine; the message says how to install it."""


@dataclass
class PageReport:
    url: str
    state: dict  # PAGE_STATE_JS, parsed
    log: list = field(default_factory=list)  # (level, source, message) of the browser log
    requests: list = field(default_factory=list)  # URLs the page requested
    failed_requests: list = field(default_factory=list)  # (url, error)
    screenshot: bytes | None = None
    browser_version: str = ""

    @property
    def errors(self) -> list[str]:
        """Console errors in the wide sense: every error-level entry of the browser log (console.error, uncaught
        exceptions, failed loads, refused fetches) and every request that failed."""
        out = [f"{source}: {message}" for level, source, message in self.log if level == "SEVERE"]
        out += [f"request failed: {url}: {error}" for url, error in self.failed_requests]
        return out

    @property
    def external_requests(self) -> list[str]:
        """Requests to anything but the file itself and data: URLs (a self-contained page makes none)."""
        return [u for u in self.requests if not (u == self.url or u.startswith("data:"))]


def find_chromium() -> str:
    """The Chromium executable: $CHROMIUM, else the first of CANDIDATE_NAMES on PATH; BrowserMissing if none."""
    override = os.environ.get("CHROMIUM")
    if override:
        if shutil.which(override):
            return shutil.which(override)
        raise BrowserMissing(f"CHROMIUM={override} is not an executable; {INSTALL_HINT}")
    for name in CANDIDATE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing(f"no Chromium found on PATH (tried {', '.join(CANDIDATE_NAMES)}); {INSTALL_HINT}")


def find_chromedriver() -> str:
    """chromedriver: $CHROMEDRIVER, else on PATH, else Debian's; BrowserMissing if none. Selenium gets this path,
    so it never looks for (or downloads) a driver of its own."""
    override = os.environ.get("CHROMEDRIVER")
    if override:
        if shutil.which(override):
            return shutil.which(override)
        raise BrowserMissing(f"CHROMEDRIVER={override} is not an executable; {INSTALL_HINT}")
    found = shutil.which(DRIVER_NAME) or shutil.which(DRIVER_FALLBACK)
    if found:
        return found
    raise BrowserMissing(f"no {DRIVER_NAME} found on PATH or at {DRIVER_FALLBACK}; {INSTALL_HINT}")


def inspect_page(path, *, screenshot: bool = True, full_page: bool = False, timeout: float = 60.0,
                 executable: str | None = None, driver: str | None = None) -> PageReport:
    """Load ``path`` in headless Chromium and return what happened (see the module docstring)."""
    executable = executable or find_chromium()
    driver = driver or find_chromedriver()
    try:
        from selenium import webdriver
    except ImportError:
        raise BrowserMissing("the Python package selenium is missing; install the test extra: "
                             "pip install -e '.[test]'") from None
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="nest-parity-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = executable
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
                    "--mute-audio", "--hide-scrollbars", f"--user-data-dir={profile}",
                    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}"):
            options.add_argument(arg)
        # The browser log holds console messages, exceptions and failed loads; the performance log holds the
        # DevTools Network events, i.e. every request the page made.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
        try:
            browser.set_page_load_timeout(timeout)
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False})
            for kind in ("browser", "performance"):
                browser.get_log(kind)  # reading empties it: only what the report page causes counts
            browser.get(url)  # returns after the load event
            state = json.loads(browser.execute_script(PAGE_STATE_JS))
            shot = None
            if screenshot and full_page:
                shot = _full_page_png(browser, state["bodyHeight"])
            elif screenshot:
                shot = browser.get_screenshot_as_png()
            report = PageReport(url, state, screenshot=shot,
                                browser_version=f"Chromium {browser.capabilities.get('browserVersion', '?')}")
            report.log = [(e.get("level", "?"), e.get("source", "?"), e.get("message", ""))
                          for e in browser.get_log("browser")]
            _collect_network(report, browser.get_log("performance"))
            return report
        finally:
            browser.quit()


def _full_page_png(browser, height: int) -> bytes:
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                   "clip": {"x": 0, "y": 0, "width": VIEWPORT[0], "height": height, "scale": 1}})
    return base64.b64decode(shot["data"])


def _collect_network(report: PageReport, entries: list) -> None:
    urls = {}  # requestId -> URL
    for entry in entries:
        event = json.loads(entry["message"])["message"]
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            urls[params.get("requestId")] = url = params.get("request", {}).get("url", "?")
            report.requests.append(url)
        elif method == "Network.loadingFailed":
            report.failed_requests.append((urls.get(params.get("requestId"), "?"),
                                           params.get("errorText") or params.get("blockedReason") or "?"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.browser",
                                     description="Check that an HTML report renders in headless Chromium.")
    parser.add_argument("html", help="the HTML file (e.g. reports/<tag>/report.html)")
    parser.add_argument("--screenshot", metavar="PNG", help="also save a screenshot of the top of the page")
    parser.add_argument("--full-page", action="store_true", help="screenshot the whole page, not the viewport")
    args = parser.parse_args(argv)
    if not Path(args.html).is_file():
        print(f"error: {args.html}: no such file", file=sys.stderr)
        return 2
    try:
        page = inspect_page(args.html, screenshot=bool(args.screenshot), full_page=args.full_page)
    except BrowserMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    images = page.state["images"]
    broken = [i["alt"] or i["src"] for i in images if not (i["complete"] and i["naturalWidth"] > 0)]
    print(f"{page.browser_version}: {page.url}")
    print(f"  headline: {' '.join((page.state['headline'] or '-').split())}")
    print(f"  tables: {len(page.state['tables'])}, summary rows: {len(page.state['summaryRows'])}")
    print(f"  images: {len(images)} ({len(broken)} not loaded{': ' + ', '.join(broken) if broken else ''})")
    print(f"  console errors: {len(page.errors)}" + "".join(f"\n    {e}" for e in page.errors))
    print(f"  external requests: {len(page.external_requests)}"
          + "".join(f"\n    {u}" for u in page.external_requests))
    if args.screenshot and page.screenshot:
        Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
        Path(args.screenshot).write_bytes(page.screenshot)
        print(f"wrote {args.screenshot}")
    ok = not broken and not page.errors and not page.external_requests
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
