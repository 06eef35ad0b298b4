"""Test data shared by the test modules: accounts, records, reports, import files,
images, the registration wizard (and its drafts from before migration 005) and the outbox.

Plain functions with explicit arguments; conftest.py wraps some of them in
fixtures. Test modules import shared helpers from here, never from each other
(tests/test_isolation.py checks that).
"""
import base64
import contextlib
import csv
import datetime
import io
import json
import re
import threading
import zipfile
from pathlib import Path

import peewee
import pytest
from openpyxl import Workbook
from PIL import Image
from stdnum.cn import ric

import crypto
import models
from services import accounts, pdf, reports, signing
from services.identity import certificate_key
from services.importer import ImportRejected
from services.columns import KINDS

PASSWORD = "secret-pass-1"
# The public example number of GB 11643: valid, and nobody's.
EXAMPLE_ID = "11010519491231002X"


# --- messages ------------------------------------------------------------------

class Outbox:
    """The outbox file the app writes SMS and e-mail to in tests."""

    def __init__(self, path):
        self.path = Path(path)

    def messages(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()]

    def last(self):
        messages = self.messages()
        assert messages, "nothing was sent"
        return messages[-1]

    def last_code(self):
        match = re.search(r"\b(\d{6})\b", self.last()["body"])
        assert match, self.last()["body"]
        return match.group(1)


# --- accounts ------------------------------------------------------------------

def create_account(app, n=1, **fields):
    """A student account with PASSWORD; `n` makes the default username and phone unique."""
    values = dict(username=f"student{n}@example.edu.cn", real_name="张三",
                  id_type="居民身份证", id_number=EXAMPLE_ID,
                  phone=f"1381234{n:04d}", password_hash=accounts.hash_password(PASSWORD))
    values.update(fields)
    with app.app_context(), models.db.connection_context():
        return accounts.create_student(**values)


def sign_in(client, username, password=PASSWORD):
    """Log the test client in through /login."""
    response = client.post("/login", data={"login": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def second_factor_code(username, *, at=None):
    """A TOTP code the registrar's authenticator app would show, for a step not used
    yet (a code works once): the current step's, or the next one's once it comes."""
    import time

    import pyotp
    opened = models.db.connect(reuse_if_open=True)
    try:
        factor = (models.StaffTotp.select().join(models.Account)
                  .where(models.Account.username == username).get())
    finally:
        if opened:
            models.db.close()
    moment = time.time() if at is None else at
    counter = max(int(moment) // 30, (factor.last_counter or 0) + 1)
    if at is None and counter > int(moment) // 30:
        # The current step's code is used: wait for the next step, as a person
        # would, rather than type a code from the edge of the accepted window
        # (one step either way), which a step boundary can push out of it.
        time.sleep(counter * 30 - moment + 0.5)
    return pyotp.TOTP(factor.secret).at(counter * 30)


STAFF_PASSWORD = "Desk-pass-2026"  # nosec B105 # a test password


def staff_account(username, role=models.Account.ADMIN, password=STAFF_PASSWORD):
    """A staff account of `role` (管理员 admin, 学籍管理员 registrar, 查询员 viewer)."""
    account, _created = accounts.create_or_reset_admin(username, password)
    if role != account.role:
        models.Account.update(role=role).where(models.Account.id == account.id).execute()
        account = models.Account.get_by_id(account.id)
    return account


def signed_in_staff(app, username, role=models.Account.ADMIN):
    """A test client logged in (password + second factor) as a new staff account."""
    staff_account(username, role)
    client = app.test_client()
    sign_in_staff(client, username, STAFF_PASSWORD)
    return client


def sign_in_staff(client, username, password):
    """Log a registrar in: password, then enrolment (first time) or the code page.
    Returns the recovery codes when this login enrolled, else None."""
    response = client.post("/login", data={"login": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    if response.headers["Location"] == "/login/enrol":
        assert client.get("/login/enrol").status_code == 200
        done = client.post("/login/enrol", data={"code": second_factor_code(username)})
        assert done.status_code == 200, done.get_data(as_text=True)
        return re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert response.headers["Location"] == "/login/code"
    done = client.post("/login/code", data={"code": second_factor_code(username)})
    assert done.status_code == 303, done.get_data(as_text=True)
    return None


# --- records -------------------------------------------------------------------

RECORD_DEFAULTS = {
    "enrollment": dict(name="张三", gender="女", birth_date="1949-12-31", school_name="示范大学",
                       level="本科", major="汉语言文学", student_number="S0001",
                       status="不在籍（毕业）", admission_date="2015-09-01",
                       expected_graduation="2019-07-01"),
    "diploma": dict(name="张三", gender="女", birth_date="1949-12-31", school_name="示范大学",
                    level="本科", major="汉语言文学", graduation_date="2019-07-01",
                    completion="毕业", certificate_number="109991201905000001"),
    "degree": dict(name="张三", gender="女", birth_date="1949-12-31", awarding_unit="示范大学",
                   degree="文学学士", discipline="汉语言文学", award_date="2019-07-01",
                   certificate_number="1099942019000001"),
    "admission": dict(name="张三", candidate_number="15420106150001", year=2015, major="汉语言文学",
                      level="本科"),
    "aid": dict(name="张三", school_year="2016-2017", program="国家助学金", amount="3000.00",
                paid_on="2016-11-01"),
}


def create_record(kind_key, n=1, **fields):
    """A record of one kind with believable defaults, unbound, carrying EXAMPLE_ID.

    `n` makes the default student, certificate and candidate numbers unique.
    """
    values = dict(RECORD_DEFAULTS[kind_key])
    values.setdefault("id_number", EXAMPLE_ID)
    for unique in ("student_number", "certificate_number", "candidate_number"):
        if unique in values and unique not in fields:
            values[unique] = values[unique][:-4] + f"{n:04d}"
    values.update(fields)
    model = KINDS[kind_key].model
    if kind_key in ("diploma", "degree"):
        if values.get("certificate_number"):
            values["certificate_key"] = certificate_key(values["certificate_number"])
        if values.get("school_number"):
            values["school_number_key"] = certificate_key(values["school_number"])
    with models.db.connection_context():
        # Read back, so dates and amounts have their Python types.
        return model.get_by_id(model.create(**values).id)


def minimal_pdf() -> bytes:
    """A one-page blank PDF that parses (evidence must be a real PDF)."""
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- reports -------------------------------------------------------------------

def report_renderer(app):
    """The real PDF renderer, signing with the instance's keys."""
    keys = signing.load_or_create(app.instance_path + "/keys", "示范大学", "Demonstration University")
    return lambda snapshot: pdf.render_report(snapshot, keys)


def issue_report(app, owner, record, *, render, kind="diploma", months=3, now=None):
    """Issue a report for the owner's record through services.reports."""
    with app.test_request_context():
        return reports.issue(owner, kind, record, months, config=app.config, render=render,
                             now=now)


def bench_app(instance: Path):
    """An app on a new instance folder, its signing keys made and every migration
    applied, configured as the benches measure it (no CSRF, no rate limits)."""
    from app import create_app
    from cli import migration_router
    signing.load_or_create(instance / "keys", "示范大学", "Demonstration University")
    app = create_app(dict(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                          INSTANCE_DIR=str(instance), PORTAL_BASE_URL="http://portal.test"))
    with app.app_context(), models.db.connection_context():
        migration_router().run()
    return app


def student_with_records(app, records: int, username="zhang@example.edu.cn"):
    """A student with `records` records, the five kinds in turn (at least one
    diploma, so records >= 2), and one valid diploma report with a blank PDF (for the
    benches: the pages they measure never open the PDF). Returns (student, report)."""
    kind_keys = ("enrollment", "diploma", "degree", "admission", "aid")
    student = create_account(app, username=username)
    diploma = None
    for n in range(records):
        key = kind_keys[n % len(kind_keys)]
        extra = dict(paid_on=f"2016-11-{n + 1:02d}") if key == "aid" else {}
        record = create_record(key, n + 1, account=student.id, **extra)
        diploma = diploma or (record if key == "diploma" else None)
    with models.db.connection_context():
        report = issue_report(app, student, diploma, render=lambda snapshot: minimal_pdf())
    return student, report


def sample_snapshot(photo: bytes | None = None, version: int = 2) -> dict:
    """A diploma report's snapshot with hard names, long values and an optional photo.

    Version 2 (as issued now) has each value's English (`value_en`); version 1,
    as issued before, has none.
    """
    fields = [
        ("name", "姓名", "Name", "买买提·艾力 王𠮷 䶮", "MAIMAITI AILI"),
        ("gender", "性别", "Gender", "女", "Female"),
        ("birth_date", "出生日期", "Date of birth", "2003-05-17", "2003-05-17"),
        ("id_type", "证件类型", "ID type", "居民身份证", "Resident Identity Card"),
        ("school_name", "学校名称", "Institution", "示范大学", "Demonstration University"),
        ("level", "层次", "Level", "本科", "Undergraduate (Bachelor's level)"),
        ("major", "专业", "Major", "计算机科学与技术（中外合作办学）",
         "Computer Science and Technology (Sino-foreign joint program)"),
        ("duration", "学制", "Length of program", "4 年", "4 years"),
        ("study_mode", "学习形式", "Mode of study", "普通全日制", "Full-time"),
        ("education_category", "学历类别", "Type of education", "普通高等教育",
         "Regular higher education"),
        ("admission_date", "入学日期", "Date of admission", "2021-09-01", "2021-09-01"),
        ("graduation_date", "毕(结)业日期", "Date of graduation", "2025-06-30", "2025-06-30"),
        ("completion", "毕(结)业", "Graduation / completion", "毕业", "Graduated"),
        ("certificate_number", "证书编号", "Certificate number", "107011202505001234",
         "107011202505001234"),
        ("school_number", "学校编号", "School's certificate number", "SFDX-2025-001234",
         "SFDX-2025-001234"),
        ("president", "校(院)长姓名", "President", "李明", "LI Ming"),
    ]
    return {
        "version": version,
        "kind": "diploma",
        "title": {"zh": "示范大学 学历证书电子注册备案表",
                  "en": "Demonstration University · Diploma Registration Record"},
        "school": {"zh": "示范大学", "en": "Demonstration University"},
        "code": "ABCD2345EFGH6789",
        "issued_at": "2026-11-28T12:00:00Z",
        "expires_at": "2027-02-28T12:00:00Z",
        "record_updated_at": "2026-01-01",
        "fields": [{"key": k, "zh": zh, "en": en, "value": v,
                    **({"value_en": v_en} if version >= 2 else {})}
                   for k, zh, en, v, v_en in fields],
        "photo": {"zh": "学历照片", "en": "Diploma photo",
                  "jpeg_base64": base64.b64encode(photo).decode("ascii")} if photo else None,
        "verify_url": "http://127.0.0.1:8000/verify/ABCD2345EFGH6789",
    }


# --- the registration wizard ---------------------------------------------------

IDENTITY = dict(username="wang@example.edu.cn", real_name="王𠮷", id_type="居民身份证",
                id_number="11010519491231002x", phone="+86 138 1234 5678",
                password="good-pass-42", password_confirm="good-pass-42")


def identity(**changes):
    """The identity step's form data, as a person types it."""
    return {**IDENTITY, **changes}


def walk_to(client, outbox, step, **changes):
    """Drive one client through the wizard up to `step` (notice … confirm)."""
    assert client.post("/register/notice", data={"consent": "y"}).status_code == 303
    if step == "identity":
        return
    response = client.post("/register/identity", data=identity(**changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    if step == "code":
        return
    assert client.post("/register/code/send", data={"channel": "sms"}).status_code == 200
    response = client.post("/register/code", data={"channel": "sms", "code": outbox.last_code()})
    assert response.headers["Location"].endswith("/register/confirm")


# --- a database from before migration 005 (registration drafts) -------------------

def roll_back_to(router, name: str) -> None:
    """Undo the migrations applied after `name`, newest first."""
    while router.done and router.done[-1] != name:
        router.rollback()


DRAFT_TYPED = dict(username="wang@example.edu.cn", real_name="王𠮷", id_type="居民身份证",
                   id_number=EXAMPLE_ID, phone="13812345678")


def add_draft_and_challenge(step="code"):
    """A draft mid-wizard and a verified password reset, as the schema before 005 held
    them; returns the draft's last step time."""
    now = models.utcnow().replace(microsecond=0)
    peewee.Table("registrationdraft").bind(models.db).insert(
        token="draft-token", step=step,
        data=crypto.encrypt(json.dumps(DRAFT_TYPED, ensure_ascii=False)),
        password_hash="$argon2id$hash", created_at=now - datetime.timedelta(minutes=5),
        updated_at=now).execute()
    peewee.Table("challenge").bind(models.db).insert(
        token="reset-token", purpose="reset_password", payload=crypto.encrypt("{}"),
        created_at=now, verified_at=now).execute()
    return now


def assert_draft_became_a_challenge(app, now, step="code"):
    """Same token, same data and step after 005: the student's session carries on."""
    draft = models.Challenge.get(models.Challenge.token == "draft-token")
    # Migration 017 stores the draft's phone in E.164.
    assert (draft.purpose, draft.step, draft.payload) == (
        "register", step, {**DRAFT_TYPED, "phone": "+86" + DRAFT_TYPED["phone"]})
    assert draft.password_hash == "$argon2id$hash" and draft.account is None
    assert draft.updated_at == now and draft.finished_at is None
    reset = models.Challenge.get(models.Challenge.token == "reset-token")
    assert reset.step == "new_password" and reset.updated_at == reset.created_at
    assert "registrationdraft" not in models.db.get_tables()

    client = app.test_client()
    with client.session_transaction() as session:
        session["register_draft"] = "draft-token"
    page = client.get("/register/").get_data(as_text=True)
    assert "第 3 步：获取校验码" in page and "138****5678" in page


# --- import files ----------------------------------------------------------------

def resident_id(birth="20010203", sequence=123, area="110105"):
    """A valid 18-digit resident ID number for the birth date and sequence."""
    first17 = f"{area}{birth}{sequence:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def enrollment(**changes):
    """One 学籍 import row, keyed by the Chinese column names."""
    row = {"姓名": "张三", "性别": "男", "出生日期": "2001-02-03", "民族": "汉族",
           "证件类型": "居民身份证", "证件号码": resident_id(), "学校名称": "示范大学", "层次": "本科",
           "院系": "计算机学院", "班级": "1班", "专业": "计算机科学与技术", "学号": "2019001",
           "学习形式": "普通全日制", "入学日期": "2019-09-01", "学制": "4",
           "学历类别": "普通高等教育", "学籍状态": "在籍（注册学籍）", "预计毕业日期": "2023-06-30"}
    row.update(changes)
    return row


def enrollments(count, start=0, **changes):
    """`count` different 学籍 import rows (each its own 学号 and ID number), n = start...:
    学号 S0000000 + n, 姓名 学生 + n in Chinese digits, a birth date and sequence taken from n."""
    for n in range(start, start + count):
        sequence = n % 999 + 1
        birth = datetime.date(2000, 1, 1) + datetime.timedelta(days=n // 999)
        yield enrollment(**{"姓名": "学生" + "".join("零一二三四五六七八九"[int(d)] for d in str(n)), "性别": "男" if sequence % 2 else "女",
                            "出生日期": birth.isoformat(), "证件号码": resident_id(f"{birth:%Y%m%d}", sequence),
                            "学号": f"S{n:07d}", **changes})


def diploma(**changes):
    """One 学历 import row, keyed by the Chinese column names."""
    row = {"姓名": "李四", "性别": "女", "出生日期": "1980-05-06", "证件类型": "居民身份证",
           "证件号码": resident_id("19800506", 124, "420106"), "学校名称": "示范大学", "层次": "本科",
           "专业": "汉语言文学", "学制": "4", "学习形式": "普通全日制", "学历类别": "普通高等教育",
           "入学日期": "2015-09-01", "毕(结)业日期": "2019-06-30", "毕(结)业": "毕业",
           "证书编号": "104461201905004220", "学校编号": "", "校(院)长姓名": "王五"}
    row.update(changes)
    return row


def aid(**changes):
    """One 资助 import row, keyed by the Chinese column names."""
    row = {"姓名": "张三", "证件类型": "居民身份证", "证件号码": resident_id(), "学年": "2019-2020",
           "资助项目": "国家助学金", "金额(元)": "3300.00", "发放日期": "2019-11-15"}
    row.update(changes)
    return row


def csv_bytes(rows, headers=None, encoding="utf-8"):
    headers = headers or list(rows[0])
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(header, "") for header in headers])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(entries: dict):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --- images --------------------------------------------------------------------

def image_bytes(fmt="JPEG", size=(600, 900), mode="RGB", colour=None):
    if colour is None:
        colour = (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def png_bytes(size=(64, 48), colour=(200, 200, 190)):
    return image_bytes("PNG", size, colour=colour)


# --- through the app with CSRF on, as a browser posts ------------------------------

class AppClient:
    """The app's test client, posting forms the way a browser does: CSRF token
    taken from the form page first (CSRF stays on for the browser tests' live server)."""

    def __init__(self, app):
        self.client = app.test_client()

    def post_form(self, url, data, form_url=None, status=303):
        page = self.client.get(form_url or url)
        assert page.status_code == 200, (form_url or url, page.status_code)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page.get_data(as_text=True))
        assert tag, f"no CSRF token on {form_url or url}"
        data = dict(data, csrf_token=re.search(r'value="([^"]+)"', tag.group(0)).group(1))
        response = self.client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == status, (url, response.status_code,
                                             response.get_data(as_text=True)[:2000])
        return response


def file_correction(app, username, password, kind, record_id, field, proposed, reason,
                    evidence=None):
    """A student's correction request, filed through the app (log in, then the form)."""
    client = AppClient(app)
    client.post_form("/login", {"login": username, "password": password})
    data = {"field": field, "proposed_value": proposed, "reason": reason}
    if evidence is not None:
        data["evidence"] = (io.BytesIO(evidence[1]), evidence[0])
    client.post_form(f"/records/{kind}/{record_id}/correct", data)


def file_appeal(app, real_name, id_number, contact_email, photo_png: bytes):
    """An ID-number appeal with its photo, filed through the app's public form."""
    AppClient(app).post_form("/register/appeal", dict(
        real_name=real_name, id_type="居民身份证", id_number=id_number,
        contact_email=contact_email, photo=(io.BytesIO(photo_png), "me.png")), status=200)


def rejected(run, *args, **kwargs) -> list:
    """The problems an import that must fail reports, as text."""
    with pytest.raises(ImportRejected) as caught:
        run(*args, **kwargs)
    return [str(error) for error in caught.value.errors]


# --- signing certificates ------------------------------------------------------------

def ec_signing_pair(common_name="示范大学", days=365):
    """A fresh ECDSA P-256 key and a self-signed certificate for it, as PEM:
    (key, certificate). EC keys are made in a millisecond, RSA 3072 in a second."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=max(1, 1 - days)))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM))


# --- races ---------------------------------------------------------------------

def run_together(*jobs, app=None):
    """Start the jobs in threads, release them at once, wait; return their results (an
    exception a job raised is its result). With `app`, each thread runs in the app's
    context with its own database connection (jobs that call services directly)."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        with contextlib.ExitStack() as stack:
            if app is not None:
                stack.enter_context(app.app_context())
                stack.enter_context(models.db.connection_context())
            barrier.wait()
            try:
                results[index] = job()
            except Exception as error:  # noqa: BLE001 - the caller looks at it
                results[index] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
