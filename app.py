"""Application factory: wires config, keys, database, extensions, blueprints, CLI."""
import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask, g, has_app_context, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext
from playhouse.db_url import connect
from werkzeug.middleware.proxy_fix import ProxyFix

import cli
import config
import crypto
import models
from extensions import babel, compress, csrf, limiter, login_manager, select_locale
from services import signing, startup
from services.postman import Postman
from services.accounts import browser_family, load_for_session
from services.records import summary
from views import (CACHED_ENDPOINTS, apply_upload_limit, is_htmx, must_not_be_stored, register_blueprints,
                   school_logo_url, school_timezone, settings)


class _SessionInterface(SecureCookieSessionInterface):
    """No session cookie and no `Vary: Cookie` on static files: a changed session
    cookie must not make a phone fetch the CSS and htmx again (bench/slow_3g.py)."""

    def save_session(self, app, session, response):
        if request.endpoint in CACHED_ENDPOINTS:
            return
        super().save_session(app, session, response)


def create_app(test_config: dict | None = None) -> Flask:
    instance = Path(os.environ.get("PORTAL_INSTANCE_DIR", "instance")).resolve()
    if test_config and "INSTANCE_DIR" in test_config:
        instance = Path(test_config["INSTANCE_DIR"]).resolve()
    # Everything in the instance folder is for the portal's own user only (0700 / 0600).
    crypto.private_dir(instance)
    # What the keys folder held before this start makes any: `flask restore` fills only
    # an instance without keys of its own.
    keys = instance / "keys"
    keys_at_start = sorted(p.name for p in keys.iterdir()) if keys.is_dir() else []

    # The shared files a second server would otherwise make for itself (secret_key is
    # written by config.load): refused below when the database is already in use.
    missing = startup.missing_files(instance, secret_configured=False)

    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.session_interface = _SessionInterface()
    config.load(app.config, instance, test_config)

    if int(app.config["PROXY_HOPS"]):
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.extensions["keys_at_start"] = keys_at_start
    _init_database(app)
    _refuse_other_keys(app, instance, missing)
    crypto.configure(instance / "keys")
    startup.check_keys_match(instance)
    app.extensions["school_keys"] = signing.load_or_create(
        instance / "keys", app.config["SCHOOL_NAME"], app.config["SCHOOL_NAME_EN"])
    crypto.tighten(instance / "keys")
    # Built now, so a wrong messaging setting stops the start, not a student's first code.
    # The school's name and signature are read per message (settings in the database).
    app.extensions["postman"] = Postman.from_config(
        app.config, names=lambda: settings() if has_app_context() else app.config)

    # Before CSRFProtect's own before_request, which reads the body for its token.
    app.before_request(apply_upload_limit)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("请先登录。")
    login_manager.login_message_category = "info"
    babel.init_app(app, locale_selector=select_locale, timezone_selector=school_timezone)
    compress.init_app(app)
    limiter.init_app(app)

    register_blueprints(app)
    cli.register(app)

    app.jinja_env.filters["browser_family"] = browser_family
    app.jinja_env.filters["record_summary"] = summary
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    static_url = _static_url_builder(app)

    @app.context_processor
    def _template_globals():
        school = settings()
        return dict(settings=school, school_name=school["SCHOOL_NAME"],
                    school_name_en=school["SCHOOL_NAME_EN"], school_logo_url=school_logo_url(),
                    current_locale=select_locale(), htmx=is_htmx(), static_url=static_url)

    # The stylesheet is small and blocks the first paint: inlined, it saves a
    # whole round trip on a slow connection (bench/slow_3g.py). CSP allows
    # exactly this text by its hash.
    inline_css = (Path(app.static_folder) / "portal.css").read_text("utf-8")
    css_hash = base64.b64encode(hashlib.sha256(inline_css.encode("utf-8")).digest()).decode()
    app.jinja_env.globals["inline_css"] = inline_css
    csp = ("default-src 'self'; img-src 'self' data:; "
           f"style-src 'self' 'sha256-{css_hash}'; script-src 'self'; "
           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    hsts = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", csp)
        if hsts:
            # Only when served over HTTPS (secure cookies say so): browsers then refuse plain HTTP.
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if must_not_be_stored():
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response

    return app


@login_manager.user_loader
def _load_account(user_id: str):
    return load_for_session(user_id)


def _refuse_other_keys(app: Flask, instance: Path, missing: list[str]) -> None:
    """A server started with an empty keys/ (or no secret_key) on a database in use
    would make keys of its own: stop instead (services.startup)."""
    secret_file = instance / "secret_key"
    if app.config["SECRET_KEY"] != (secret_file.read_text().strip() if secret_file.exists() else None):
        missing = [name for name in missing if name != "secret_key"]  # set by config.py / environment
    try:
        startup.refuse_new_keys(instance, missing)
    except startup.KeysRefused:
        if "secret_key" in missing:
            secret_file.unlink(missing_ok=True)  # config.load just made it: not ours to keep
        raise


def _init_database(app: Flask) -> None:
    url = _pooled(app.config["DATABASE_URL"])
    # Connections are kept in a pool (playhouse.pool) instead of opened and closed on
    # every request (issue 12: opening one, with SQLite's pragmas, cost more than the
    # queries of a page). A connection goes back to the pool at the end of each
    # request, and the pool rolls back whatever transaction a failed request left
    # open before anyone else gets it. stale_timeout: replaced after five minutes,
    # so a restarted PostgreSQL costs at most that one request.
    pool = {"max_connections": None, "stale_timeout": 300}
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        # secure_delete: what an update or a delete replaces is overwritten, not left
        # in free pages (values stored before encryption, by an older version).
        database = connect(url, pragmas={
            "journal_mode": "wal", "foreign_keys": 1, "secure_delete": 1,
            "busy_timeout": 5000, "synchronous": "normal"},
            check_same_thread=False, **pool)  # pooled: a thread may take another's connection
    else:
        database = connect(url, **pool)
    models.db.initialize(database)
    app.extensions["database"] = database

    # Take a connection from the pool for the request and give it back after; a
    # connection someone else opened (a CLI command, a test) is left to them.
    @app.before_request
    def _db_connect():
        g.opened_db = models.db.connect(reuse_if_open=True)

    @app.teardown_request
    def _db_close(exc):
        if g.pop("opened_db", False) and not models.db.is_closed():
            models.db.close()


def _pooled(url: str) -> str:
    """The playhouse.db_url scheme of the same database with a connection pool."""
    scheme, sep, rest = url.partition("://")
    if ":memory:" in rest:
        return url  # every pooled connection would be a database of its own
    if sep and "+pool" not in scheme and scheme in ("sqlite", "postgres", "postgresql"):
        return f"{scheme}+pool://{rest}"
    return url


def _private_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite does (it would make it 0644); its
    -wal and -shm files take the database file's mode."""
    name = urlparse(url).path[1:]  # as playhouse.db_url reads it
    if not name or name.startswith(":memory:"):
        return
    path = Path(name)
    crypto.private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, crypto.FILE_MODE))
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists() and companion.stat().st_mode & 0o077:
            os.chmod(companion, crypto.FILE_MODE)


def _static_url_builder(app: Flask):
    """Static URLs carry a hash of the file, so browsers may cache them for a year."""
    hashes = {}

    def static_url(filename: str) -> str:
        if filename not in hashes:
            data = (Path(app.static_folder) / filename).read_bytes()
            hashes[filename] = hashlib.sha256(data).hexdigest()[:10]
        return url_for("static", filename=filename, v=hashes[filename])

    return static_url

