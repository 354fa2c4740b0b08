"""Open an HTML file in headless Chromium and report what a reader would see (``python -m harness.report.browser``).

Used by the tests to prove that a release report renders, and by release engineers before attaching one:

    python -m harness.report.browser reports/<tag>/report.html [--screenshot PATH]

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages
separated by NUL bytes on file descriptors 3 and 4), so no port is opened and nothing beyond the standard
library is needed. Debian's ``chromium`` package is what CI installs (``.ci/run``). The browser starts with
a throwaway profile and every background service off, and the page is loaded from a file:// URL.

What :func:`inspect_page` returns is raw observation, for the caller to judge: the page's console messages,
uncaught exceptions and log entries (a failed image, a Content-Security-Policy violation), every request
the page made, each image's load state (``complete``, ``naturalWidth``), and the tables and headline found.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = ("headless Chromium is needed to check that the HTML report renders; install Debian's package "
                "with `apt-get update && apt-get install -y chromium` (.ci/run does this when it is missing), "
                "or set CHROMIUM=/path/to/chromium")
CANDIDATE_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWPORT = (1280, 1000)

# What the page tells us after it has loaded: plain data, judged by the caller.
PAGE_STATE_JS = """JSON.stringify({
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
    """No Chromium on this machine; the message says how to install it."""


@dataclass
class PageReport:
    url: str
    state: dict  # PAGE_STATE_JS, parsed
    console: list = field(default_factory=list)  # (type, text) of console.* calls
    exceptions: list = field(default_factory=list)  # uncaught exception texts
    log: list = field(default_factory=list)  # (level, source, text) of Log.entryAdded
    requests: list = field(default_factory=list)  # URLs the page requested
    failed_requests: list = field(default_factory=list)  # (url, error)
    screenshot: bytes | None = None
    browser_version: str = ""

    @property
    def errors(self) -> list[str]:
        """Console errors in the wide sense: console.error/assert, exceptions, error-level log entries."""
        out = [f"console.{kind}: {text}" for kind, text in self.console if kind in ("error", "assert")]
        out += [f"exception: {text}" for text in self.exceptions]
        out += [f"log ({source}): {text}" for level, source, text in self.log if level == "error"]
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


_LAUNCHER = """
import fcntl, os, sys
read, write = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
for fd in {int(sys.argv[1]), int(sys.argv[2])} - {3, 4}:
    os.close(fd)
os.dup2(read, 3); os.dup2(write, 4); os.close(read); os.close(write)
os.execv(sys.argv[3], sys.argv[3:])
"""


class _Pipe:
    """The DevTools protocol over Chromium's --remote-debugging-pipe (NUL-separated JSON)."""

    def __init__(self, executable: str, args: list[str]):
        self._to_chrome_r, self._to_chrome_w = os.pipe()
        self._from_chrome_r, self._from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4. A two-line Python launcher moves our pipe
        # ends there and execs Chromium (a shell's "3<&12" fails in dash for fds above 9; preexec_fn is unsafe
        # in a process with threads).
        self.proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(self._to_chrome_r),
                                      str(self._from_chrome_w), executable, *args],
                                     pass_fds=(self._to_chrome_r, self._from_chrome_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(self._to_chrome_r)
        os.close(self._from_chrome_w)
        self._writer = os.fdopen(self._to_chrome_w, "wb", buffering=0)
        self._messages: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._next_id = 0
        self.events: list[dict] = []

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._from_chrome_r, "rb", buffering=0) as f:
            while True:
                chunk = f.read(1 << 16)
                if not chunk:
                    self._messages.put(None)
                    return
                buffer += chunk
                *complete, buffer = buffer.split(b"\0")
                for raw in complete:
                    self._messages.put(json.loads(raw))

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr_tail(self) -> str:
        return b"".join(self._stderr[-20:]).decode(errors="replace")

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._writer.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._get(deadline, f"a reply to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str | None, timeout: float = 30.0) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events[i]
        deadline = time.monotonic() + timeout
        while True:
            event = self._get(deadline, method)
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def _get(self, deadline: float, what: str) -> dict:
        try:
            message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"Chromium did not send {what} in time; its stderr:\n{self.stderr_tail()}") from None
        if message is None:
            raise RuntimeError(f"Chromium closed the DevTools pipe (exit code {self.proc.poll()}); its stderr:\n"
                               f"{self.stderr_tail()}")
        return message

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5.0)
        except Exception:
            pass
        try:
            self._writer.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def inspect_page(path, *, screenshot: bool = True, full_page: bool = False, timeout: float = 60.0,
                 executable: str | None = None) -> PageReport:
    """Load ``path`` in headless Chromium and return what happened (see the module docstring)."""
    executable = executable or find_chromium()
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="nest-parity-chromium-") as profile:
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
                "--mute-audio", "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", "about:blank"]
        pipe = _Pipe(executable, args)
        try:
            version = pipe.send("Browser.getVersion", timeout=timeout).get("product", "")
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride", {"width": VIEWPORT[0], "height": VIEWPORT[1],
                                                             "deviceScaleFactor": 1, "mobile": False}, session)
            pipe.events.clear()  # only what the report page causes counts
            navigation = pipe.send("Page.navigate", {"url": url}, session, timeout=timeout)
            if navigation.get("errorText"):
                raise RuntimeError(f"Chromium could not open {url}: {navigation['errorText']}")
            pipe.wait_for("Page.loadEventFired", session, timeout=timeout)
            result = pipe.send("Runtime.evaluate", {"expression": PAGE_STATE_JS, "returnByValue": True}, session)
            if "exceptionDetails" in result:
                raise RuntimeError(f"inspecting the page failed: {result['exceptionDetails']}")
            state = json.loads(result["result"]["value"])
            shot = None
            if screenshot:
                params = {"format": "png"}
                if full_page:
                    params.update({"captureBeyondViewport": True, "clip": {
                        "x": 0, "y": 0, "width": VIEWPORT[0], "height": state["bodyHeight"], "scale": 1}})
                shot = base64.b64decode(pipe.send("Page.captureScreenshot", params, session, timeout=timeout)["data"])
            report = PageReport(url, state, screenshot=shot, browser_version=version)
            _collect(report, pipe.events, session)
            return report
        finally:
            pipe.close()


def _collect(report: PageReport, events: list, session: str) -> None:
    urls = {}  # requestId -> URL
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            report.console.append((params.get("type", "?"), text))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            report.exceptions.append((details.get("exception") or {}).get("description") or details.get("text", "?"))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            report.log.append((entry.get("level", "?"), entry.get("source", "?"),
                               f"{entry.get('text', '')} {entry.get('url', '')}".strip()))
        elif method == "Network.requestWillBeSent":
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
