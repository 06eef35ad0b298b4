"""The verifier's pages in both languages, the verification limit, and the QR code on the
student's report page (issue 11).

A verifier may read no Chinese: English pages carry no Chinese at all, and on Chinese
pages every message is followed by its English in a <span lang="en">. The record's
values (the result's <dl>) are left out of these checks: their English is the
bilingual values' own work.
"""
import io
import re

import pytest
import segno

from models import Report, utcnow
from services.qr import BORDER, qr_path

HX = {"HX-Request": "true"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
BAD_CODE = "ABCDEFGHJKLMNPQR"


def text(response):
    return response.get_data(as_text=True)


def _main(html):
    """What the page says to the verifier: <main> (or the whole htmx fragment),
    without the record values' <dl>."""
    if "<main" in html:
        html = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"<dl\b.*?</dl>", "", html, flags=re.S)


def _chinese_left(html):
    # As tests/test_translations.py: the language switch reads 中文 on purpose.
    return sorted(set(re.findall(r"[^<>\n]*" + CJK.pattern + r"[^<>\n]*", html.replace("中文", ""))))


def _without_english(html):
    """The Chinese texts of a Chinese page not followed by their English companion."""
    body = _main(html)
    missing = []
    for match in re.finditer(r"[^<>]*" + CJK.pattern + r"[^<>]*", body):
        rest = body[match.end():]
        rest = rest[4:] if rest.startswith("<br>") else rest
        if not rest.startswith('<span lang="en"'):
            missing.append(match.group(0).strip())
    return missing


def _english_companions(html):
    return re.findall(r'<span lang="en"[^>]*>([^<]*)</span>', _main(html))


@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def student(client, owner, login):
    login("zhang@example.edu.cn")
    return client


@pytest.fixture
def report(student, owner, make_record, db):
    diploma = make_record("diploma", account=owner.id)
    response = student.post(f"/reports/new/diploma/{diploma.id}", data={"months": "3"})
    assert response.status_code == 303, text(response)
    return Report.get()


@pytest.fixture
def report_pdf(student, report):
    return student.get(f"/reports/{report.id}/pdf").data


def _upload(client, data, headers=None):
    return client.post("/verify/pdf", data={"pdf": (io.BytesIO(data), "r.pdf")},
                       content_type="multipart/form-data", headers=headers or {})


def _tampered(pdf):
    changed = bytearray(pdf)
    changed[len(changed) // 3] = (changed[len(changed) // 3] + 1) % 256
    return bytes(changed)


def _every_page(app, report, pdf, lang=None, headers=None):
    """Each page and outcome a verifier can meet, as (name, response)."""
    verifier = app.test_client()
    if lang:
        verifier.set_cookie("lang", lang)
    get = lambda url: verifier.get(url, headers=headers or {})  # noqa: E731
    pages = [
        ("form", get("/verify/")),
        ("form, empty", verifier.post("/verify/", data={"code": ""}, headers=headers or {})),
        ("form, bad code", verifier.post("/verify/", data={"code": "12"}, headers=headers or {})),
        ("valid", get(f"/verify/{report.code}")),
        ("unknown", get(f"/verify/{BAD_CODE}")),
        ("malformed", get("/verify/12")),
        ("pdf form", get("/verify/pdf")),
        ("pdf valid", _upload(verifier, pdf, headers)),
        ("pdf tampered", _upload(verifier, _tampered(pdf), headers)),
        ("pdf junk", _upload(verifier, b"hello", headers)),
        ("pdf none", verifier.post("/verify/pdf", data={}, content_type="multipart/form-data",
                                   headers=headers or {})),
        ("certificates", get("/verify/certificates")),
        ("404", get(f"/verify/{BAD_CODE}/pdf")),
    ]
    for state, column in (("expired", "expires_at"), ("closed", "closed_at"),
                          ("withdrawn", "withdrawn_at")):
        Report.update({column: utcnow()}).where(Report.id == report.id).execute()
        pages.append((state, get(f"/verify/{report.code}")))
        pages.append((f"pdf {state}", _upload(verifier, pdf, headers)))
    return pages


# --- 1. fully bilingual --------------------------------------------------------------

def test_english_verifier_pages_leave_no_chinese(app, report, report_pdf):
    pages = _every_page(app, report, report_pdf, lang="en")
    statuses = {name: response.status_code for name, response in pages}
    assert statuses == {"form": 200, "form, empty": 422, "form, bad code": 422, "valid": 200,
                        "unknown": 404, "malformed": 422, "pdf form": 200, "pdf valid": 200,
                        "pdf tampered": 422, "pdf junk": 422, "pdf none": 422,
                        "certificates": 200, "404": 404, "expired": 410, "pdf expired": 422,
                        "closed": 410, "pdf closed": 422, "withdrawn": 410, "pdf withdrawn": 422}
    for name, response in pages:
        html = text(response)
        assert '<html lang="en">' in html, name
        assert _chinese_left(_main(html)) == [], name
        assert _english_companions(html) == [], name  # nothing doubled on English pages
        assert _chinese_left(re.search(r"<title>.*?</title>", html).group(0)) == [], name


def test_chinese_verifier_pages_give_every_message_its_english(app, report, report_pdf):
    pages = _every_page(app, report, report_pdf)
    for name, response in pages:
        html = text(response)
        assert '<html lang="zh-CN">' in html, name
        assert _without_english(html) == [], name
        assert all(not CJK.search(english) for english in _english_companions(html)), name
        title = re.search(r"<title>(.*?)</title>", html).group(1)
        assert CJK.search(title) and " / " in title, (name, title)
    # The outcomes, each in Chinese and then in English.
    pages = dict(pages)
    expected = {
        "valid": ("有效的在线验证报告。", "This report is valid."),
        "unknown": ("没有这个在线验证码对应的报告", "There is no report with this online verification code."),
        "malformed": ("不是有效的在线验证码格式", "This is not a valid online verification code."),
        "expired": ("该报告已过期", "This report has expired."),
        "closed": ("该报告已被本人关闭", "This report has been closed by its owner."),
        "withdrawn": ("该报告已被学校撤销", "This report was withdrawn by the school."),
        "form, bad code": ("不是有效的在线验证码格式", "This is not a valid online verification code."),
        "form, empty": ("请填写在线验证码", "Please enter the online verification code."),
        "pdf valid": ("签名有效", "Valid signature"),
        "pdf tampered": ("签名无效", "The signature is invalid"),
        "pdf junk": ("不是 PDF 文件", "This is not a PDF file."),
        "pdf none": ("请选择要查验的 PDF 文件", "Please choose"),
        "pdf expired": ("但该报告已过期", "but the report has expired."),
        "pdf closed": ("但该报告已被本人关闭", "but the report was closed by its owner."),
        "pdf withdrawn": ("但该报告已被学校撤销", "but the report was withdrawn by the school."),
        "404": ("页面不存在", "Page not found"),
    }
    for name, (chinese, english) in expected.items():
        html = text(pages[name])
        assert chinese in html, name
        assert any(english in companion for companion in _english_companions(html)), (name, english)


def test_htmx_fragments_are_bilingual_too(app, report, report_pdf):
    for name, response in _every_page(app, report, report_pdf, headers=HX):
        html = text(response)
        assert "<html" not in html, name
        if name == "404":  # the flash message of the error handler
            assert response.headers["HX-Retarget"] == "#flash"
        assert _without_english(html) == [], name


# --- 2. check another code -------------------------------------------------------------

def test_a_valid_result_offers_to_check_another_code(app, report):
    verifier = app.test_client()
    valid = text(verifier.get(f"/verify/{report.code}"))
    assert re.search(r'<a href="/verify/" id="verify-another">查验其他验证码 '
                     r'<span lang="en">Check another code</span></a>', valid)
    assert 'id="verify-again"' not in valid
    verifier.set_cookie("lang", "en")
    english = text(verifier.get(f"/verify/{report.code}", headers=HX))
    assert '<a href="/verify/" id="verify-another">Check another code</a>' in english
    form = verifier.get("/verify/")  # where the link leads: the empty form
    assert form.status_code == 200 and 'name="code"' in text(form)


def test_invalid_outcomes_keep_enter_the_code_again(client):
    unknown = text(client.get(f"/verify/{BAD_CODE}"))
    assert 'id="verify-again">重新输入验证码 <span lang="en">Enter the code again</span>' in unknown
    assert "verify-another" not in unknown


# --- 3. the limit counts checks, not form loads --------------------------------------------

def test_loading_the_forms_does_not_count_against_the_limit(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="3 per minute")
    verifier = app.test_client()
    for _ in range(5):
        assert verifier.get("/verify/").status_code == 200
        assert verifier.get("/verify/pdf").status_code == 200
        assert verifier.get("/verify", follow_redirects=True).status_code == 200
    # The full allowance of checks is still there, whichever way they come.
    assert verifier.post("/verify/", data={"code": BAD_CODE}).status_code == 404
    assert verifier.get(f"/verify/{BAD_CODE}").status_code == 404
    assert _upload(verifier, b"hello").status_code == 422
    # Then checks stop, by every route, and the forms still load.
    assert verifier.get(f"/verify/{BAD_CODE}").status_code == 429
    assert verifier.post("/verify/", data={"code": BAD_CODE}).status_code == 429
    assert _upload(verifier, b"hello").status_code == 429
    assert verifier.get(f"/verify/{BAD_CODE}/pdf").status_code == 429
    assert verifier.get(f"/api/v1/reports/{BAD_CODE}").status_code == 429
    assert verifier.get("/verify/").status_code == 200
    assert verifier.get("/verify/pdf").status_code == 200


def test_an_invalid_form_post_is_a_check(app_factory):
    verifier = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="2 per minute").test_client()
    assert [verifier.post("/verify/", data={"code": ""}).status_code for _ in range(3)] == [422, 422, 429]


# --- the 429 and error pages as a verifier meets them ------------------------------------

@pytest.fixture
def limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="1 per minute")
    verifier = app.test_client()
    assert verifier.get(f"/verify/{BAD_CODE}").status_code == 404
    return verifier


def _retry_after(response):
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    return seconds


def test_the_429_page_says_when_to_try_again_in_both_languages(limited):
    response = limited.get(f"/verify/{BAD_CODE}")
    seconds = _retry_after(response)
    html = text(response)
    chinese = re.search(r"操作太频繁，请 (\d+) 秒后再试。", html)
    english = re.search(r"Too many requests\. Please try again in (\d+) seconds?\.", html)
    assert chinese and english
    # The page is written just before the header: a second may pass in between.
    assert seconds <= int(chinese.group(1)) <= seconds + 1
    assert chinese.group(1) == english.group(1)
    assert _without_english(html) == []
    assert re.search(r"<title>操作太频繁 / Too many requests ·", html)


def test_the_429_page_in_english(limited):
    limited.set_cookie("lang", "en")
    response = limited.post("/verify/", data={"code": BAD_CODE})
    _retry_after(response)
    html = text(response)
    assert re.search(r"Too many requests\. Please try again in \d+ seconds?\.", html)
    assert _chinese_left(_main(html)) == [] and _english_companions(html) == []


def test_the_429_flash_for_htmx_is_bilingual(limited):
    response = limited.post("/verify/", data={"code": BAD_CODE}, headers=HX)
    _retry_after(response)
    assert response.headers["HX-Retarget"] == "#flash"
    html = text(response)
    assert re.search(r'操作太频繁，请 \d+ 秒后再试。 <span lang="en">Too many requests\. '
                     r'Please try again in \d+ seconds?\.</span>', html)


def test_the_api_429_says_when_too(limited):
    response = limited.get(f"/api/v1/reports/{BAD_CODE}")
    _retry_after(response)
    assert re.fullmatch(r"操作太频繁，请 \d+ 秒后再试。", response.json["message"])


def test_a_rate_limit_elsewhere_says_when_in_chinese_only(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="1 per minute").test_client()
    client.post("/login", data={"login": "x", "password": "y"})
    response = client.post("/login", data={"login": "x", "password": "y"})
    _retry_after(response)
    html = text(response)
    assert re.search(r"操作太频繁，请 \d+ 秒后再试。", html) and "Too many requests" not in html


def test_a_server_error_on_a_verifier_page_is_bilingual(app_factory):
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    def crash():
        raise RuntimeError("an unexpected bug")

    app.add_url_rule("/verify/test-crash", "verify_test_crash", crash)
    chinese = app.test_client().get("/verify/test-crash")
    html = text(chinese)
    assert chinese.status_code == 500 and "RuntimeError" not in html
    assert "服务器出了点问题" in html
    assert any("Something went wrong" in english for english in _english_companions(html))
    assert _without_english(html) == []
    english = app.test_client()
    english.set_cookie("lang", "en")
    html = text(english.get("/verify/test-crash"))
    assert _chinese_left(_main(html)) == [] and _english_companions(html) == []


def test_an_expired_form_on_a_verifier_page_is_bilingual(app_factory):
    verifier = app_factory(WTF_CSRF_ENABLED=True).test_client()
    response = verifier.post("/verify/", data={"code": BAD_CODE})
    assert response.status_code == 400
    assert "页面已过期" in text(response) and _without_english(text(response)) == []


def test_a_too_large_pdf_is_told_in_both_languages(app_factory):
    verifier = app_factory(MAX_CONTENT_LENGTH=1024, VERIFY_PDF_MAX_BYTES=1024).test_client()
    response = _upload(verifier, b"%PDF-" + b"0" * (1024 * 1024 + 4096))
    assert response.status_code == 413
    assert "上传的文件太大" in text(response) and _without_english(text(response)) == []


def test_error_pages_elsewhere_stay_chinese_only(client):
    html = text(client.get("/no-such-page"))
    assert "页面不存在" in html and '<span lang="en"' not in _main(html)


# --- 4. the QR code on the student's report page ---------------------------------------

def _matrix_of(path):
    """The dark modules the path draws, read back from its d attribute."""
    dark, y, x = set(), None, 0
    for move, a, b, run in re.findall(r"([Mm])(\d+) (\d+(?:\.5)?)h(\d+)", path.d):
        if move == "M":
            x, y = int(a), int(float(b))
        else:
            x += int(a)
        dark.update((x + i, y) for i in range(int(run)))
        x += int(run)
    return dark


def test_qr_path_draws_exactly_the_code():
    url = "https://xueji.example.edu.cn/verify/KRNW34W63WH3T8NX"
    path = qr_path(url)
    expected = {(x, y) for y, row in enumerate(segno.make(url, error="m").matrix_iter(border=BORDER))
                for x, bit in enumerate(row) if bit}
    assert path.size == segno.make(url, error="m").symbol_size(border=BORDER)[0]
    assert _matrix_of(path) == expected
    assert "".join(re.findall(r"[Mm]\d+ \d+(?:\.5)?h\d+", path.d)) == path.d


def _qr_svg(html):
    match = re.search(r"<svg\b[^>]*>.*?</svg>", html, re.S)
    return match.group(0) if match else None


def test_the_report_page_shows_the_qr_code_while_valid(app, student, report):
    page = student.get(f"/reports/{report.id}")
    html = text(page)
    svg = _qr_svg(html)
    url = f"http://portal.test/verify/{report.code}"
    assert svg is not None and html.count("<svg") == 1
    assert 'role="img"' in svg and f'aria-label="查验地址二维码：{url}"' in svg
    assert f"<title>查验地址二维码：{url}</title>" in svg
    assert "<?xml" not in html and "style=" not in svg and "<style" not in svg
    size = qr_path(url).size
    assert f'viewBox="0 0 {size} {size}"' in svg and f'width="{size * 4}"' in svg
    assert f'd="{qr_path(url).d}"' in svg
    # The app's CSP holds: no inline styles or scripts are allowed, and none are needed.
    csp = page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp
    fragment = student.get(f"/reports/{report.id}", headers=HX)
    assert _qr_svg(text(fragment)) == svg

    student.set_cookie("lang", "en")
    english = text(student.get(f"/reports/{report.id}"))
    assert f'aria-label="QR code of the verification address: {url}"' in english
    assert "Let the verifier scan this QR code" in english


def test_no_qr_code_once_the_report_is_not_valid(student, report):
    valid = dict(closed_at=None, withdrawn_at=None, expires_at=report.expires_at)
    for column in ("closed_at", "expires_at", "withdrawn_at"):
        Report.update({**valid, column: utcnow()}).where(Report.id == report.id).execute()
        assert _qr_svg(text(student.get(f"/reports/{report.id}"))) is None, column
        assert _qr_svg(text(student.get(f"/reports/{report.id}", headers=HX))) is None, column
    Report.update(valid).where(Report.id == report.id).execute()
    assert _qr_svg(text(student.get(f"/reports/{report.id}"))) is not None
    # Closing it from the page (htmx) takes the code away at once.
    closed = student.post(f"/reports/{report.id}/close", data={"confirm": "yes"}, headers=HX)
    assert closed.status_code == 200
    assert _qr_svg(text(student.get(f"/reports/{report.id}", headers=HX))) is None
