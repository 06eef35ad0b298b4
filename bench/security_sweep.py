"""Re-run the security review's probes (issue 9) against a running portal.

    .venv/bin/python bench/security_sweep.py [URL] [--login NAME --password PW]

URL defaults to http://127.0.0.1:8000 and must be on this machine (loopback
only). The registrar login defaults to the demo one (`seed-demo`). Each probe
prints one line, "held" or "FAILED", then a total; the exit status is 1 if any
probe failed. Every loop is bounded; the whole run sends about 100 requests.

It uses up part of the instance's rate limits: about 10 logins and every
/verify check of the minute (the last probe makes /verify answer 429), so run
it against a test instance, not a busy one.
"""
import argparse
import http.cookiejar
import ipaddress
import re
import secrets
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MB = 1024 * 1024
# How the review tried to leave the site through ?next= (and the language switch).
REDIRECTS = ["//evil.example/", "https://evil.example/", "/\\evil.example/", "\\\\evil.example/",
             "/%2F%2Fevil.example/", "/%252F%252Fevil.example/", "/\t/evil.example/",
             "\uff0f\uff0fevil.example/", "javascript:alert(1)", "http:evil.example"]
# One POST per form endpoint of the portal (path parameters filled in).
FORM_POSTS = ["/lang", "/login", "/register/notice", "/register/identity", "/register/code/send",
              "/register/code", "/register/confirm", "/register/appeal", "/register/appeal/status",
              "/recover/password", "/recover/password/send", "/recover/password/check",
              "/recover/password/new", "/recover/password/restart", "/account/username",
              "/account/password", "/account/phone", "/account/phone/send", "/account/phone/check",
              "/account/phone/cancel", "/records/diploma/1/correct", "/records/bind",
              "/reports/new/diploma/1", "/reports/1/extend", "/reports/1/close", "/verify/",
              "/verify/pdf", "/admin/corrections/1", "/admin/appeals/1", "/admin/import",
              "/logout"]
PRIVATE_PAGES = ["/admin/", "/admin/import", "/admin/appeals", "/account/", "/account/logins",
                 "/records/", "/reports/"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class Browser:
    """Cookies kept, redirects not followed, every status returned."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def open(self, path, data=None, headers=None, method=None):
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {},
                                         method=method)
        try:
            with self.opener.open(request, timeout=60) as answer:
                return Response(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as answer:
            return Response(answer.code, answer.headers, answer.read())
        except (urllib.error.URLError, OSError) as error:  # e.g. closed while we sent
            return Response(0, {}, str(error).encode())

    def get(self, path):
        return self.open(path)

    def post(self, path, fields=None, files=None):
        if files:
            body, content_type = multipart(fields or {}, files)
        else:
            body = urllib.parse.urlencode(fields or {}).encode()
            content_type = "application/x-www-form-urlencoded"
        return self.open(path, body, {"Content-Type": content_type}, "POST")

    def post_oversized(self, path, fields, files):
        """POST a body the server will refuse part-way: it answers 413 and closes
        without reading the rest, so sending stops at the first broken pipe and
        the answer is read from the socket (as a browser does)."""
        body, content_type = multipart(fields, files)
        parts = urllib.parse.urlsplit(self.base)
        carrier = urllib.request.Request(self.base + path)
        self.jar.add_cookie_header(carrier)
        cookie = carrier.get_header("Cookie")
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=60) as sock:
            head = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                    + (f"Cookie: {cookie}\r\n" if cookie else "")
                    + f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                    + "Connection: close\r\n\r\n")
            sock.sendall(head.encode())
            try:
                for start in range(0, len(body), 64 * 1024):
                    sock.sendall(body[start:start + 64 * 1024])
            except OSError:
                pass
            received = b""
            try:
                while len(received) < 1 * MB:
                    chunk = sock.recv(64 * 1024)
                    if not chunk:
                        break
                    received += chunk
            except OSError:
                pass
        head, _, content = received.partition(b"\r\n\r\n")
        status = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        return Response(int(status.group(1)) if status else 0, {}, content)

    def token(self, path):
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.get(path).text)
        return found.group(1) if found else ""


def multipart(fields, files):
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def offsite(location: str) -> bool:
    """Whether a browser could leave the site through this Location."""
    if not location:
        return False
    folded = urllib.parse.unquote(urllib.parse.unquote(location)).replace("\\", "/")
    folded = re.sub(r"[\t\r\n]", "", folded)
    return not folded.startswith("/") or folded.startswith("//") or "evil.example" in folded


class Sweep:
    def __init__(self, base, login, password):
        self.base, self.login_name, self.password = base, login, password
        self.results = []

    def check(self, name, held, detail=""):
        self.results.append(held)
        print(f"{'held  ' if held else 'FAILED'}  {name}{f'  ({detail})' if detail and not held else ''}")

    def signed_in(self, next_url=None):
        browser = Browser(self.base)
        path = "/login" + (f"?next={urllib.parse.quote(next_url, safe='')}" if next_url else "")
        answer = browser.post(path, {"csrf_token": browser.token(path), "login": self.login_name,
                                     "password": self.password})
        return browser, answer

    def redirects(self):
        for target in REDIRECTS[:7]:  # logins are rate-limited (10 a minute)
            _, answer = self.signed_in(target)
            location = answer.headers.get("Location", "")
            self.check(f"login ?next={target!r} stays on the site",
                       answer.status in (302, 303) and not offsite(location),
                       f"{answer.status} Location={location!r}")
        browser = Browser(self.base)
        for target in REDIRECTS:
            answer = browser.post("/lang", {"csrf_token": browser.token("/"), "lang": "zh",
                                            "next": target})
            location = answer.headers.get("Location", "")
            self.check(f"/lang next={target!r} stays on the site",
                       answer.status == 303 and not offsite(location),
                       f"{answer.status} Location={location!r}")

    def csrf(self, browser):
        refused = []
        for path in FORM_POSTS:
            answer = browser.post(path, {"login": "x", "code": "X"})
            if answer.status != 400:
                refused.append(f"{path}: {answer.status}")
        self.check(f"{len(FORM_POSTS)} form endpoints refuse a POST without CSRF token (400)",
                   not refused, "; ".join(refused))

    def headers(self, browser):
        public = Browser(self.base).get("/login")
        csp = public.headers.get("Content-Security-Policy", "")
        self.check("CSP has base-uri 'none', frame-ancestors 'none', form-action 'self'",
                   all(part in csp for part in ("base-uri 'none'", "frame-ancestors 'none'",
                                                "form-action 'self'")), csp)
        self.check("X-Content-Type-Options: nosniff",
                   public.headers.get("X-Content-Type-Options") == "nosniff")
        for path in PRIVATE_PAGES:
            answer = browser.get(path)
            cache = answer.headers.get("Cache-Control", "")
            self.check(f"{path} ({answer.status}) is no-store", "no-store" in cache, cache)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        for path in ("/verify/{code}", "/api/v1/reports/{code}"):
            cache = Browser(self.base).get(path.format(code=code)).headers.get("Cache-Control", "")
            self.check(f"{path.replace('{code}', '<code>')} is no-store", "no-store" in cache, cache)

    def codes(self):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        grouped = " ".join(code[i:i + 4] for i in range(0, 16, 4))
        browser = Browser(self.base)
        answers = [browser.post("/verify/", {"csrf_token": browser.token("/verify/"),
                                             "code": grouped}),
                   browser.get(f"/verify/{code}"), browser.get(f"/verify/{code}/pdf")]
        leaked = []
        for answer in answers:
            for name in ("Set-Cookie", "Location"):
                for value in answer.headers.get_all(name) or []:
                    if code[4:] in value.upper().replace(" ", "").replace("-", ""):
                        leaked.append(f"{name}: {value[:60]}")
        self.check("a report code never appears in Set-Cookie or Location", not leaked,
                   "; ".join(leaked))

    def uploads(self, browser):
        answer = Browser(self.base).post_oversized("/register/appeal", {"real_name": "x"},
                                                   {"photo": ("p.png", b"x" * (5 * MB))})
        self.check("a 5 MB appeal photo answers 413 naming the 2 MB limit",
                   answer.status == 413 and "2 MB" in answer.text, f"{answer.status}")
        answer = browser.post_oversized(
            "/admin/import", {"csrf_token": browser.token("/admin/import"), "kind": "enrollment"},
            {"table": ("big.csv", b"a,b\n" * (5 * MB // 4))})
        self.check("a 5 MB import reaches the importer (refused for its content, not its size)",
                   answer.status == 422, f"{answer.status}")

    def rate_limit(self):
        browser = Browser(self.base)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        for attempt in range(1, 41):
            answer = browser.get(f"/verify/{code}")
            if answer.status == 429:
                self.check(f"/verify answers 429 after {attempt} checks in a row",
                           "Retry-After" in answer.headers or attempt <= 31)
                return
        self.check("/verify answers 429 within 40 checks", False, "no 429")

    def run(self):
        self.redirects()
        browser, answer = self.signed_in()
        if answer.status not in (302, 303):
            self.check("the registrar can log in (needed for the private probes)", False,
                       f"{answer.status}")
        else:
            self.headers(browser)
            self.uploads(browser)
            self.csrf(browser)
        self.codes()
        self.rate_limit()
        held = sum(self.results)
        print(f"{held}/{len(self.results)} held, {len(self.results) - held} FAILED")
        return 0 if held == len(self.results) else 1


def loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--login", default="registrar")
    parser.add_argument("--password", default="Demo-2026-office")
    args = parser.parse_args()
    if not loopback(args.url):
        parser.error("only an instance on this machine (127.0.0.1, ::1, localhost) is probed")
    sys.exit(Sweep(args.url, args.login, args.password).run())


if __name__ == "__main__":
    main()
