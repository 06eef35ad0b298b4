"""The portal's settings: defaults, and where a deployment overrides them."""
import os
import secrets
from pathlib import Path

from flask import Config

DEFAULTS = dict(
    SCHOOL_NAME="示范大学",
    SCHOOL_NAME_EN="Demonstration University",
    SCHOOL_CONTACT="registrar@demo.edu.cn",
    # The rest of the contact details the help pages show (empty: not shown).
    SCHOOL_OFFICE="学生处学籍管理科",
    SCHOOL_PHONE="",
    SCHOOL_ADDRESS="",
    SCHOOL_HOURS="",
    # 学校代码 (five digits, as in the national list of institutions).
    SCHOOL_CODE="10999",
    # The logo shown in the header and on report PDFs: set in the portal (settings page).
    SCHOOL_LOGO=None,
    # The school's time zone: every date and time shown, on pages and report PDFs.
    TIMEZONE="Asia/Shanghai",
    # The 【signature】 that starts every SMS and e-mail; empty: the school's name.
    MESSAGE_SIGNATURE="",
    # Whether the SMS provider reaches numbers outside the mainland (+86). Off: no
    # SMS goes abroad; codes go by e-mail, notices to an e-mail username or nowhere.
    INTERNATIONAL_SMS=True,
    # Whether a person whose 证件类型 is not 居民身份证 may get the registration code at
    # any e-mail address (otherwise only edu.cn addresses receive codes).
    FOREIGN_ID_ANY_EMAIL=False,
    # The school's names over the years, current first: old records carry old names.
    SCHOOL_NAMES=[
        {"name": "示范大学", "from": 2003, "until": None},
        {"name": "示范学院", "from": 1985, "until": 2002},
        {"name": "示范师范专科学校", "from": 1958, "until": 1984},
    ],
    BIND_ATTEMPTS_PER_DAY=10,
    # What binds records to an account besides name + ID number (services.binding):
    # "auto" nothing more (as CHSI), "number" a 学号 or 证书编号 typed once,
    # "approval" the registrar approves on /admin/bindings.
    BIND_MODE="auto",
    # Validity of a verification report, in months: 1 to this (the school may allow up to 12).
    REPORT_MAX_MONTHS=6,
    # Checks per minute per IP across /verify, the PDF check and the API; a batch
    # (/verify/batch, POST /api/v1/reports/batch) counts each of its codes.
    RATELIMIT_VERIFY="100 per minute",
    # 注销账号: days a closed account's personal data is kept before `purge` erases it.
    CLOSED_ACCOUNT_RETENTION_DAYS=30,
    # Records of graduates before this year are never offered (docs/domain.md).
    ELIGIBLE_SINCE_YEAR=1991,
    MESSAGE_BACKEND="outbox",
    # `purge` drops outbox lines older than this many days.
    OUTBOX_RETENTION_DAYS=30,
    SMTP_HOST="127.0.0.1",
    SMTP_PORT=25,
    SMTP_USER="",
    SMTP_PASSWORD="",  # nosec B106 # empty default; the school sets its own
    SMTP_STARTTLS=False,
    MAIL_FROM="no-reply@demo.edu.cn",
    SMS_GATEWAY_URL="",
    SMS_GATEWAY_METHOD="POST",
    SMS_GATEWAY_HEADERS={},
    SMS_GATEWAY_BODY='{"to": "{to}", "text": "{body}"}',
    SMS_GATEWAY_TIMEOUT=10,
    RATELIMIT_STORAGE_URI="memory://",
    # A shared store (Redis) that cannot be reached: each process counts in memory
    # until it is back (Flask-Limiter checks it), rather than failing every limited page.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    RATELIMIT_HEADERS_ENABLED=True,
    RATELIMIT_LOGIN="10 per minute;100 per hour",
    RATELIMIT_SEND_CODE="5 per minute;30 per hour",
    RATELIMIT_CHECK_CODE="20 per minute",
    RATELIMIT_FORM="30 per minute",
    RATELIMIT_UPLOAD="5 per hour",
    # Behind a reverse proxy, how many proxies set X-Forwarded-For (0: none).
    PROXY_HOPS=0,
    BABEL_DEFAULT_LOCALE="zh",
    BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
    BABEL_TRANSLATION_DIRECTORIES="translations",
    MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    APPEAL_PHOTO_MAX_BYTES=2 * 1024 * 1024,
    VERIFY_PDF_MAX_BYTES=2 * 1024 * 1024,
    # A CSV/XLSX of codes for the batch check (100 codes fit in a few KB).
    VERIFY_BATCH_MAX_BYTES=1024 * 1024,
    # A record photo the registrar uploads on the record form (stored at 120x160).
    RECORD_PHOTO_MAX_BYTES=2 * 1024 * 1024,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    REMEMBER_COOKIE_HTTPONLY=True,
    REMEMBER_COOKIE_SAMESITE="Lax",
    WTF_CSRF_TIME_LIMIT=None,
    COMPRESS_MIMETYPES=["text/html", "text/css", "text/javascript", "application/javascript",
                        "application/json", "image/svg+xml"],
    COMPRESS_ALGORITHM=["br", "gzip"],
    COMPRESS_ALGORITHM_STREAMING=["br", "gzip", "deflate"],
    COMPRESS_MIN_SIZE=300,
    SEND_FILE_MAX_AGE_DEFAULT=365 * 24 * 3600,
)


def _secret_key(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        except FileExistsError:
            pass
    return path.read_text().strip()


def _env_overrides() -> dict:
    """The environment variables the README promises, plus PORTAL_* for the rest."""
    overrides = {}
    for name in ("DATABASE_URL", "MESSAGE_BACKEND", "PORTAL_BASE_URL"):
        if os.environ.get(name):
            overrides[name] = os.environ[name]
    return overrides


def load(config: Config, instance: Path, test_config: dict | None = None) -> None:
    """Fill `config`: defaults, then the instance folder's own config.py, then the
    environment, then `test_config`; paths not set default to the instance folder."""
    config.update(DEFAULTS)
    # Relative to the instance folder (instance_relative_config), not this module.
    config.from_pyfile("config.py", silent=True)
    config.from_prefixed_env("PORTAL")
    config.update(_env_overrides())
    if test_config:
        config.update(test_config)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _secret_key(instance)
    config.setdefault("DATABASE_URL", f"sqlite:///{instance / 'portal.sqlite3'}")
    config.setdefault("OUTBOX_PATH", str(instance / "outbox.jsonl"))
    # Where versions before migration 019 kept uploads and report PDFs: read only by
    # 019 (through init-db) and by the restore of an older backup; files live in the
    # database now (services.files).
    config.setdefault("UPLOAD_DIR", str(instance / "uploads"))
    config.setdefault("REPORT_DIR", str(instance / "reports"))
    # `make run` names the address it serves on (PORTAL_SERVED_AT, from HOST and PORT):
    # links and QR codes use it unless PORTAL_BASE_URL or config.py says otherwise.
    config.setdefault("PORTAL_BASE_URL", config.get("SERVED_AT") or "http://127.0.0.1:8000")
