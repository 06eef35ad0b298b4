"""Application factory: config, database, extensions, blueprints, CLI."""
import base64
import hashlib
import os
import secrets
from pathlib import Path

from flask import Flask, g, request, url_for
from flask_babel import Babel, lazy_gettext
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from playhouse.db_url import connect
from werkzeug.middleware.proxy_fix import ProxyFix

import models
from services import crypto
from services.postman import Postman

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
class _Compress(Compress):
    """Flask-Compress skips non-2xx responses; 422 form pages are ordinary pages."""

    def after_request(self, response):
        if response is None or response.status_code != 422:
            return super().after_request(response)
        response.status_code = 200
        response = super().after_request(response)
        response.status_code = 422
        return response


compress = _Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

LANGUAGES = ("zh", "en")

DEFAULTS = dict(
    SCHOOL_NAME="示范大学",
    SCHOOL_NAME_EN="Demonstration University",
    SCHOOL_CONTACT="registrar@demo.edu.cn",
    # The school's names over the years, current first: old records carry old names.
    SCHOOL_NAMES=[
        {"name": "示范大学", "from": 2003, "until": None},
        {"name": "示范学院", "from": 1985, "until": 2002},
        {"name": "示范师范专科学校", "from": 1958, "until": 1984},
    ],
    BIND_ATTEMPTS_PER_DAY=10,
    # Validity of a verification report, in months: 1 to this (the school may allow up to 12).
    REPORT_MAX_MONTHS=6,
    RATELIMIT_VERIFY="30 per minute",
    # Graduates before this year are not offered an account (DOMAIN.md).
    ELIGIBLE_SINCE_YEAR=1991,
    MESSAGE_BACKEND="outbox",
    SMTP_HOST="127.0.0.1",
    SMTP_PORT=25,
    SMTP_USER="",
    SMTP_PASSWORD="",
    SMTP_STARTTLS=False,
    MAIL_FROM="no-reply@demo.edu.cn",
    SMS_GATEWAY_URL="",
    SMS_GATEWAY_METHOD="POST",
    SMS_GATEWAY_HEADERS={},
    SMS_GATEWAY_BODY='{"to": "{to}", "text": "{body}"}',
    SMS_GATEWAY_TIMEOUT=10,
    RATELIMIT_STORAGE_URI="memory://",
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


class _SessionInterface(SecureCookieSessionInterface):
    """No session cookie and no `Vary: Cookie` on static files: a changed session
    cookie must not make a phone fetch the CSS and htmx again (bench/slow_3g.py)."""

    def save_session(self, app, session, response):
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


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
    """The environment variables DEVELOPERS.md promises, plus PORTAL_* for the rest."""
    overrides = {}
    for name in ("DATABASE_URL", "MESSAGE_BACKEND", "PORTAL_BASE_URL"):
        if os.environ.get(name):
            overrides[name] = os.environ[name]
    return overrides


def create_app(test_config: dict | None = None) -> Flask:
    instance = Path(os.environ.get("PORTAL_INSTANCE_DIR", "instance")).resolve()
    if test_config and "INSTANCE_DIR" in test_config:
        instance = Path(test_config["INSTANCE_DIR"]).resolve()
    instance.mkdir(parents=True, exist_ok=True)

    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.session_interface = _SessionInterface()
    app.config.update(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    app.config.update(_env_overrides())
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config.setdefault("DATABASE_URL", f"sqlite:///{instance / 'portal.sqlite3'}")
    app.config.setdefault("UPLOAD_DIR", str(instance / "uploads"))
    app.config.setdefault("OUTBOX_PATH", str(instance / "outbox.jsonl"))
    app.config.setdefault("REPORT_DIR", str(instance / "reports"))
    app.config.setdefault("PORTAL_BASE_URL", "http://127.0.0.1:8000")

    if int(app.config["PROXY_HOPS"]):
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    crypto.configure(instance / "keys")
    _init_database(app)
    # Built now, so a wrong messaging setting stops the start, not a student's first code.
    app.extensions["postman"] = Postman.from_config(app.config)

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.auth_login"
    login_manager.login_message = lazy_gettext("请先登录。")
    login_manager.login_message_category = "info"
    babel.init_app(app, locale_selector=_select_locale)
    compress.init_app(app)
    limiter.init_app(app)

    from views import register_blueprints
    register_blueprints(app)

    import cli
    cli.register(app)

    from services.accounts import browser_family
    from services.records import summary
    app.jinja_env.filters["browser_family"] = browser_family
    app.jinja_env.filters["record_summary"] = summary
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    static_url = _static_url_builder(app)

    @app.context_processor
    def _template_globals():
        from views import is_htmx
        return dict(school_name=app.config["SCHOOL_NAME"],
                    school_name_en=app.config["SCHOOL_NAME_EN"],
                    current_locale=_select_locale(), htmx=is_htmx(), static_url=static_url)

    # The stylesheet is small and blocks the first paint: inlined, it saves a
    # whole round trip on a slow connection (bench/slow_3g.py). CSP allows
    # exactly this text by its hash.
    inline_css = (Path(app.static_folder) / "portal.css").read_text("utf-8")
    css_hash = base64.b64encode(hashlib.sha256(inline_css.encode("utf-8")).digest()).decode()
    app.jinja_env.globals["inline_css"] = inline_css
    csp = ("default-src 'self'; img-src 'self' data:; "
           f"style-src 'self' 'sha256-{css_hash}'; script-src 'self'; "
           "frame-ancestors 'none'; form-action 'self'")

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", csp)
        return response

    return app


@login_manager.user_loader
def _load_account(user_id: str):
    account_id, _, version = user_id.partition(":")
    if not account_id.isdigit():
        return None
    account = models.Account.get_or_none(models.Account.id == int(account_id))
    if account is None or str(account.session_version) != version:
        return None
    return account


def _init_database(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        database = connect(url, pragmas={
            "journal_mode": "wal", "foreign_keys": 1,
            "busy_timeout": 5000, "synchronous": "normal"})
    else:
        database = connect(url)
    models.db.initialize(database)

    # Connect and close per request (peewee's advice for web apps); a connection
    # someone else opened (a CLI command, a test) is left to them.
    @app.before_request
    def _db_connect():
        g.opened_db = models.db.connect(reuse_if_open=True)

    @app.teardown_request
    def _db_close(exc):
        if g.pop("opened_db", False) and not models.db.is_closed():
            models.db.close()


def _static_url_builder(app: Flask):
    """Static URLs carry a hash of the file, so browsers may cache them for a year."""
    hashes = {}

    def static_url(filename: str) -> str:
        if filename not in hashes:
            data = (Path(app.static_folder) / filename).read_bytes()
            hashes[filename] = hashlib.sha256(data).hexdigest()[:10]
        return url_for("static", filename=filename, v=hashes[filename])

    return static_url


def _select_locale() -> str:
    """Chinese unless the person chose English (a cookie set by a POST)."""
    chosen = request.cookies.get("lang") if request else None
    return chosen if chosen in LANGUAGES else "zh"
