"""Slow phone connection: /register/ and the wizard's first step in real Chromium.

Runs the real app (a temporary instance folder, CSRF on, rate limits off) on a
live 127.0.0.1 port and drives headless Chromium (Debian's /usr/bin/chromium,
through Playwright) with the network throttled over the DevTools protocol
(Network.emulateNetworkConditions) to Chrome DevTools' "Slow 3G" preset, and prints:

  1. cold first load of /register/ (empty cache, Network.setCacheDisabled):
     navigation start -> load event, -> first contentful paint, bytes and requests;
  2. a repeat visit with the cache on (hashed static files, a year of max-age:
     only the HTML should come over the network);
  3. the wizard step with JavaScript: tick the consent box, click 同意并继续, time
     until the identity step's 用户名 field is visible, bytes of that htmx request;
  4. the same step without JavaScript: time until the next page's load event.

Each number is the median of RUNS runs; every run uses fresh browser contexts.

Throttling values (bytes/s and ms, as sent to Network.emulateNetworkConditions):
    downloadThroughput = uploadThroughput = 500 * 1000 / 8 * .8 = 50,000 B/s
    latency            = 400 * 5                                 = 2,000 ms
These are `Slow3GConditions` in ChromeDevTools/devtools-frontend,
front_end/core/sdk/NetworkManager.ts ("~500Kbps down/up, 400ms RTT", the RTT
multiplied by DevTools' adjustment factor 5 and the bandwidth by .8; see the
"adjustment factors" comment there). DevTools passes them to the protocol
unchanged; the preset's menu title is now "3G" (it was "Slow 3G"). Older DevTools
used 500 * 1024 / 8 * .8 = 51,200 B/s, which is the figure still quoted in many
places (e.g. addyosmani/puppeteer-webperf); this script uses the current source.
Emulated latency is added to each request; the TCP connection itself is local.

Bytes: "wire" is Network.loadingFinished.encodedDataLength (response headers +
body as received, what DevTools calls "transferred"); "body" is wire minus the
raw response header block (Network.responseReceivedExtraInfo.headersText), the
same quantity bench/page_weight.py compares with its budgets.

    .venv/bin/python bench/slow_3g.py [RUNS]
"""
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

# ChromeDevTools/devtools-frontend front_end/core/sdk/NetworkManager.ts, Slow3GConditions.
SLOW_3G = dict(offline=False,
               latency=400 * 5,                         # ms (400 ms RTT x 5)
               downloadThroughput=500 * 1000 / 8 * .8,  # bytes/s
               uploadThroughput=500 * 1000 / 8 * .8,    # bytes/s
               connectionType="cellular3g")             # what DevTools sends for a "3G" title

FIRST_LOAD_BUDGET = 30 * 1024
RUNS = 3
STEP_TIMEOUT_MS = 60_000     # any single wait in the browser
SETTLE_TIMEOUT_S = 15        # waiting for CDP events to arrive after a page event
WATCHDOG_S = 15 * 60         # the whole script, whatever happens

CONSENT = "我已阅读并同意以上须知"
CONTINUE = "同意并继续"
USERNAME = "用户名"


class Server:
    """The app on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class Traffic:
    """Network.* events of one page, as seen by Chromium (one entry per hop)."""

    def __init__(self, cdp):
        self.hops = {}       # (requestId, hop number) -> dict
        self.current = {}    # requestId -> hop number
        self.loads = []      # Page.loadEventFired timestamps (monotonic seconds)
        for name in ("requestWillBeSent", "requestServedFromCache", "responseReceived",
                     "responseReceivedExtraInfo", "loadingFinished", "loadingFailed"):
            cdp.on(f"Network.{name}", getattr(self, f"_{name}"))
        cdp.on("Page.loadEventFired", lambda e: self.loads.append(e["timestamp"]))

    def reset(self):
        self.hops.clear()
        self.current.clear()
        self.loads.clear()

    def _hop(self, request_id):
        key = (request_id, self.current.get(request_id, 0))
        return self.hops.setdefault(key, dict(done=False, wire=0, header_bytes=None, from_cache=False,
                                              status=None, raw_status=None, encoding=None,
                                              sets_cookie=False, vary=None))

    def _requestWillBeSent(self, e):
        rid = e["requestId"]
        if e.get("redirectResponse") and rid in self.current:
            hop = self._hop(rid)   # the redirect ends this hop; no loadingFinished for it
            hop.update(done=True, status=e["redirectResponse"]["status"],
                       wire=e["redirectResponse"].get("encodedDataLength", 0))
            self.current[rid] += 1
        self.current.setdefault(rid, 0)
        hop = self._hop(rid)
        request = e["request"]
        hop.update(url=request["url"], method=request["method"], start=e["timestamp"],
                   htmx=any(k.lower() == "hx-request" for k in request.get("headers", {})),
                   upload=sum(len(p.get("bytes", "")) for p in request.get("postDataEntries", [])))

    def _requestServedFromCache(self, e):
        self._hop(e["requestId"])["from_cache"] = True

    def _responseReceived(self, e):
        response = e["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        hop = self._hop(e["requestId"])
        hop.update(status=response["status"], encoding=headers.get("content-encoding"))
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            hop["from_cache"] = True

    def _responseReceivedExtraInfo(self, e):
        hop = self._hop(e["requestId"])
        hop["raw_status"] = e.get("statusCode")   # 304 here while responseReceived says 200: revalidated
        headers = {k.lower(): v for k, v in e.get("headers", {}).items()}
        hop.update(sets_cookie="set-cookie" in headers, vary=headers.get("vary"))
        if e.get("headersText"):
            hop["header_bytes"] = len(e["headersText"].encode("latin-1", "replace"))

    def _loadingFinished(self, e):
        self._hop(e["requestId"]).update(done=True, wire=e["encodedDataLength"], end=e["timestamp"])

    def _loadingFailed(self, e):
        self._hop(e["requestId"]).update(done=True, failed=e.get("errorText", "failed"))

    # -- summaries -----------------------------------------------------------------
    def settled(self):
        return all(hop["done"] for hop in self.hops.values())

    def page_hops(self):
        """Everything but /favicon.ico, which Chromium asks for after the load event."""
        return [h for h in self.hops.values() if urlsplit(h.get("url", "")).path != "/favicon.ico"]

    def favicon(self):
        return next((h for h in self.hops.values() if urlsplit(h.get("url", "")).path == "/favicon.ico"), None)

    def summary(self):
        hops = self.page_hops()
        network = [h for h in hops if not h["from_cache"]]
        wire = sum(h["wire"] for h in hops)
        body = sum(max(h["wire"] - (h["header_bytes"] or 0), 0) for h in hops if h["wire"])
        revalidated = sum(1 for h in hops if h["raw_status"] == 304)
        return dict(requests=len(hops), network=len(network), revalidated=revalidated, wire=wire, body=body,
                    hops=[dict(h) for h in hops])


def wait_until(page, condition, what, timeout_s=SETTLE_TIMEOUT_S):
    """Let Playwright deliver events until condition() holds; bounded."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def new_page(browser, base_url, foreign, **options):
    context = browser.new_context(base_url=base_url, locale="zh-CN", **options)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.set_default_navigation_timeout(STEP_TIMEOUT_MS)
    origin = urlsplit(base_url).netloc
    context.on("request", lambda r: foreign.append(r.url) if urlsplit(r.url).netloc != origin
               and not r.url.startswith(("data:", "about:")) else None)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    traffic = Traffic(cdp)
    cdp.send("Network.enable")
    cdp.send("Page.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    return context, page, cdp, traffic


# In-page timings (milliseconds since navigation start, the page's own clock).
NAVIGATION_TIMES = """async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = () => performance.getEntriesByName('first-contentful-paint')[0];
  for (let i = 0; i < 100 && (!fcp() || !nav.loadEventStart); i++)
    await new Promise(resolve => setTimeout(resolve, 50));
  return {load: nav.loadEventStart, fcp: fcp() ? fcp().startTime : null};
}"""

# Before the click: note the click's time (event.timeStamp) and the first frame
# after the identity step's 用户名 field is in the document and rendered
# (checkVisibility), via a MutationObserver and requestAnimationFrame.
WATCH_STEP = """([label]) => {
  const t = window.__step = {click: null, inDom: null, frame: null};
  window.__marker = 'same-document';
  const field = () => {
    for (const l of document.querySelectorAll('#wizard label'))
      if (l.textContent.trim() === label && l.control && l.control.checkVisibility()) return l.control;
    return null;
  };
  document.addEventListener('click', e => { if (t.click === null) t.click = e.timeStamp; }, true);
  const observer = new MutationObserver(() => {
    if (t.inDom !== null || !field()) return;
    t.inDom = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => { t.frame = performance.now(); });
  });
  observer.observe(document.body, {childList: true, subtree: true});
}"""


def js_visit(browser, base_url, foreign):
    """Cold load, repeat visit and the htmx step, in one fresh context."""
    out = {}
    context, page, cdp, traffic = new_page(browser, base_url, foreign)
    try:
        # 1. cold first load
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.goto("/register/", wait_until="load")
        wait_until(page, traffic.settled, "the cold load's requests to finish")
        times = page.evaluate(NAVIGATION_TIMES)
        out["cold"] = dict(times, **traffic.summary())
        # Chromium asks for /favicon.ico after the load event (one throttled round trip);
        # wait for it, bounded, so that its answer (and any cookie it sets) precedes the next visit.
        try:
            wait_until(page, lambda: traffic.favicon() and traffic.favicon()["done"],
                       "the favicon request", timeout_s=3 * SLOW_3G["latency"] / 1000)
        except TimeoutError:
            pass
        out["favicon"] = dict(traffic.favicon() or {})

        # 2. repeat visit: a new page in the same context, cache on
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        page.close()
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        traffic = Traffic(cdp)
        cdp.send("Network.enable")
        cdp.send("Page.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        page.goto("/register/", wait_until="load")
        wait_until(page, traffic.settled, "the repeat visit's requests to finish")
        times = page.evaluate(NAVIGATION_TIMES)
        out["repeat"] = dict(times, **traffic.summary())

        # 3. the step with JavaScript (htmx swaps #wizard)
        expect(page.get_by_role("heading", name="第 1 步：注册须知")).to_be_visible()
        page.get_by_label(CONSENT).check()
        page.evaluate(WATCH_STEP, [USERNAME])
        traffic.reset()
        page.get_by_role("button", name=CONTINUE).click()
        expect(page.get_by_label(USERNAME)).to_be_visible(timeout=STEP_TIMEOUT_MS)
        page.wait_for_function("() => window.__step.frame !== null", timeout=STEP_TIMEOUT_MS)
        wait_until(page, traffic.settled, "the htmx request to finish")
        step = page.evaluate("() => window.__step")
        if page.evaluate("() => window.__marker") != "same-document":
            raise RuntimeError("the JavaScript step reloaded the page instead of swapping #wizard")
        htmx = [h for h in traffic.hops.values() if h.get("htmx") and h["method"] == "POST"]
        if len(htmx) != 1:
            raise RuntimeError(f"expected one htmx POST, saw {[h.get('url') for h in traffic.hops.values()]}")
        h = htmx[0]
        out["step_js"] = dict(ms=step["frame"] - step["click"], in_dom=step["inDom"] - step["click"],
                              wire=h["wire"], body=h["wire"] - (h["header_bytes"] or 0),
                              upload=h["upload"], status=h["status"], encoding=h["encoding"],
                              **{k: v for k, v in traffic.summary().items() if k in ("requests", "network")})
    finally:
        context.close()
    return out


def nojs_step(browser, base_url, foreign):
    """The same step in a context without JavaScript: POST, 303, GET, load."""
    context, page, cdp, traffic = new_page(browser, base_url, foreign, java_script_enabled=False)
    try:
        page.goto("/register/", wait_until="load")
        wait_until(page, traffic.settled, "the no-JS page's requests to finish")
        page.get_by_label(CONSENT).check()
        traffic.reset()
        before = time.perf_counter()
        page.get_by_role("button", name=CONTINUE).click()
        page.wait_for_url("**/register/identity", wait_until="load")
        wall = (time.perf_counter() - before) * 1000
        wait_until(page, lambda: traffic.loads and traffic.settled(), "the next page's load event")
        expect(page.get_by_label(USERNAME)).to_be_visible()
        posts = [h for h in traffic.hops.values() if h.get("method") == "POST"]
        if len(posts) != 1 or posts[0]["status"] != 303:
            raise RuntimeError(f"expected one POST answered 303, saw {posts}")
        ms = (traffic.loads[-1] - posts[0]["start"]) * 1000
        return dict(ms=ms, wall=wall, **traffic.summary())
    finally:
        context.close()


def describe(hop):
    path = urlsplit(hop.get("url", "?")).path
    if hop["from_cache"]:
        where = "cache"
    elif hop["raw_status"] == 304:
        where = "304 revalidated"
    else:
        where = f"{hop['raw_status'] or hop['status']} {hop['encoding'] or 'identity'}"
    body = "?" if hop["header_bytes"] is None and hop["wire"] else \
        f"{max(hop['wire'] - (hop['header_bytes'] or 0), 0):,}"
    extra = (" sets cookie" if hop["sets_cookie"] else "") + (f"  Vary: {hop['vary']}" if hop["vary"] else "")
    return (f"{hop.get('method', '?'):<4} {path:<28} {where:<16} {hop['wire']:>7,} B wire {body:>7} B body"
            f"{extra}")


def median(runs, *path):
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value[key]
        values.append(value)
    return statistics.median(values), values


def fmt(value, unit):
    return "-" if value is None else (f"{value:,.0f} {unit}")


def main(runs):
    watchdog = threading.Timer(WATCHDOG_S, lambda: (print(f"slow_3g: gave up after {WATCHDOG_S} s",
                                                          file=sys.stderr, flush=True), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    print("Throttling (Network.emulateNetworkConditions, DevTools Slow3GConditions):")
    print(f"  latency {SLOW_3G['latency']:.0f} ms, download {SLOW_3G['downloadThroughput']:,.0f} B/s, "
          f"upload {SLOW_3G['uploadThroughput']:,.0f} B/s, connectionType {SLOW_3G['connectionType']}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no request log lines
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(dict(INSTANCE_DIR=instance, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False))
        with app.app_context(), models.db.connection_context():
            migration_router().run()
        foreign = []
        with Server(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=STEP_TIMEOUT_MS)
            print(f"Chromium {browser.version}, {runs} runs, server {server.url}")
            try:
                js_runs, nojs_runs = [], []
                for number in range(runs):
                    js_runs.append(js_visit(browser, server.url, foreign))
                    nojs_runs.append(nojs_step(browser, server.url, foreign))
                    print(f"  run {number + 1}/{runs} done", flush=True)
            finally:
                browser.close()
        if foreign:
            print(f"REQUESTS LEFT 127.0.0.1: {sorted(set(foreign))}")
            sys.exit(2)

    for title, hops in (("Cold load", js_runs[0]["cold"]["hops"]),
                        ("Repeat visit", js_runs[0]["repeat"]["hops"]),
                        ("No-JS step", nojs_runs[0]["hops"])):
        print(f"\n{title}, first run, per request:")
        for hop in hops:
            print("  " + describe(hop))
    favicon = js_runs[0]["favicon"]
    if favicon:
        print(f"After the cold load's load event: {describe(favicon)}")

    rows = [
        ("1. cold load /register/", "nav start -> load event", median(js_runs, "cold", "load"), "ms"),
        ("", "nav start -> first contentful paint", median(js_runs, "cold", "fcp"), "ms"),
        ("", "transferred (wire, incl. headers)", median(js_runs, "cold", "wire"), "B"),
        ("", "response bodies only", median(js_runs, "cold", "body"), "B"),
        ("", "requests", median(js_runs, "cold", "requests"), ""),
        ("2. repeat visit (cache on)", "nav start -> load event", median(js_runs, "repeat", "load"), "ms"),
        ("", "nav start -> first contentful paint", median(js_runs, "repeat", "fcp"), "ms"),
        ("", "transferred (wire, incl. headers)", median(js_runs, "repeat", "wire"), "B"),
        ("", "requests / over the network", ("pair", js_runs, ("repeat",)), ""),
        ("", "of which 304 revalidations", median(js_runs, "repeat", "revalidated"), ""),
        ("3. step, JavaScript (htmx)", "click -> 用户名 visible (next frame)",
         median(js_runs, "step_js", "ms"), "ms"),
        ("", "htmx response (wire, incl. headers)", median(js_runs, "step_js", "wire"), "B"),
        ("", "htmx response body", median(js_runs, "step_js", "body"), "B"),
        ("", "htmx request body (upload)", median(js_runs, "step_js", "upload"), "B"),
        ("4. step, no JavaScript", "POST sent -> next page's load event", median(nojs_runs, "ms"), "ms"),
        ("", "transferred (wire, incl. headers)", median(nojs_runs, "wire"), "B"),
        ("", "requests / over the network", ("pair", nojs_runs, ()), ""),
    ]
    print(f"\n{'measurement':<28}{'':<40}{'median':>12}   runs")
    for group, label, value, unit in rows:
        if value[0] == "pair":
            _, source, key = value
            requests = median(source, *key, "requests")
            network = median(source, *key, "network")
            print(f"{group:<28}{label:<40}{f'{requests[0]:.0f} / {network[0]:.0f}':>12}   "
                  + " | ".join(f"{r}/{n}" for r, n in zip(requests[1], network[1])))
            continue
        middle, values = value
        shown = " / ".join(fmt(v, "").strip() for v in values)
        print(f"{group:<28}{label:<40}{fmt(middle, unit):>12}   {shown}")

    step = js_runs[0]["step_js"]
    print(f"\nhtmx response: status {step['status']}, {step['encoding'] or 'identity'}; "
          f"JS step, click -> field in the DOM: {median(js_runs, 'step_js', 'in_dom')[0]:,.0f} ms (median); "
          f"no-JS step by the script's wall clock (click() call -> load): {median(nojs_runs, 'wall')[0]:,.0f} ms")
    wire, body = median(js_runs, "cold", "wire")[0], median(js_runs, "cold", "body")[0]
    verdict = "within" if wire <= FIRST_LOAD_BUDGET else "OVER"
    print(f"Cold first load vs the 30 KB budget ({FIRST_LOAD_BUDGET:,} B): {wire:,.0f} B transferred "
          f"({wire / FIRST_LOAD_BUDGET:.0%} of budget, {verdict}); bodies alone {body:,.0f} B "
          f"({body / FIRST_LOAD_BUDGET:.0%})")
    watchdog.cancel()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
