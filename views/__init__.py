"""Blueprints, one per audience, and the helpers they share."""
import io
import secrets
import threading
import unicodedata
from collections import OrderedDict
from pathlib import PurePosixPath
from urllib.parse import unquote

from flask import (Flask, abort, current_app, g, make_response, redirect, render_template,
                   request, send_file, session, url_for)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_babel.speaklater import LazyString
from flask_login import current_user, login_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from extensions import limiter
from services import accounts, check_alerts, files, identity
from services.reports import log_verification
from services import settings as settings_service
from services import signing
from services.columns import KINDS
from services.pdf import Look


def is_htmx() -> bool:
    """A request htmx made to swap a fragment (not a history restore)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render_component(page: str, fragment: str, status: int = 200, **context):
    """The fragment for htmx, the whole page (which includes it) for everyone else."""
    template = fragment if is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def log_check(report, channel: str, *, organisation: str = "", purpose: str = "",
              outcome: str | None = None):
    """Every check of a report goes through here (page, PDF, API, batch, ID match):
    one line in its owner's 查验记录 with the verifier's address, and the owner's
    查验提醒 when they asked for it (a message that fails never fails the check)."""
    verification = log_verification(report, channel, organisation=organisation,
                                    purpose=purpose, ip=client_ip(), outcome=outcome)
    check_alerts.checked(report, verification, postman=postman())
    return verification


def settings() -> dict:
    """The school's settings for this request (services.settings): read from the
    database once per request, so a change takes effect at once everywhere."""
    if "settings" not in g:
        g.settings, g.settings_version = settings_service.current_and_version(current_app.config)
    return g.settings


# Rendered public form pages of each app (render_public_form), newest last.
_PAGES_KEPT = 64
# Stands for the CSRF token in a kept page; each response gets its own token instead.
_TOKEN_MARK = "csrf-" + secrets.token_hex(16)


def render_public_form(page: str, fragment: str, **context):
    """render_component for the empty form a visitor who is not signed in GETs
    (/login, /verify): Jinja renders it once per template, address, language and
    settings version (read from the database on every request, so a change made on
    any app server shows at once) and every visit gets the kept page with its own
    CSRF token. Anything personal is rendered as usual: a signed-in person, a
    session with flash messages, a form that was sent."""
    if (request.method != "GET" or current_user.is_authenticated
            or session.get("_flashes")):
        return render_component(page, fragment, **context)
    settings()
    template = fragment if is_htmx() else page
    key = (template, request.host_url, request.full_path, str(get_locale()), g.settings_version)
    token = generate_csrf()
    pages, lock = current_app.extensions.setdefault(
        "public_pages", (OrderedDict(), threading.Lock()))
    with lock:
        html = pages.get(key)
        if html is not None:
            pages.move_to_end(key)
    if html is None:
        # The form and every csrf_token() of the page show this request's token
        # (one per request, flask_wtf.csrf.generate_csrf): kept with a mark instead.
        html = render_template(template, **context).replace(token, _TOKEN_MARK)
        with lock:
            pages[key] = html
            while len(pages) > _PAGES_KEPT:
                pages.popitem(last=False)
    response = make_response(html.replace(_TOKEN_MARK, token), 200)
    response.vary.add("HX-Request")
    return response


def school_timezone() -> str:
    """Flask-Babel's time zone: the school's TIMEZONE setting, for every date shown."""
    zone = settings().get("TIMEZONE") or current_app.config["BABEL_DEFAULT_TIMEZONE"]
    return zone if zone in settings_service.timezones() else "Asia/Shanghai"


def school_logo_url() -> str | None:
    """The URL of the school's logo (its content hash in it), or None without one."""
    stored_logo = settings().get("SCHOOL_LOGO")
    if not stored_logo:
        return None
    ext = settings_service.LOGO_TYPES.get(stored_logo.get("type"), "png")
    return url_for("home.logo", digest=stored_logo["sha256"], ext=ext)


def report_look():
    """How report PDFs look now (services.pdf.Look): the school's time zone and logo."""
    school = settings()
    stored_logo = school.get("SCHOOL_LOGO")
    return Look(timezone=school_timezone(),
                logo=settings_service.logo(stored_logo["sha256"]) if stored_logo else None)


def leave_to(url: str):
    """After a successful POST that ends a component: a whole-page move to `url`."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def advance(url: str, render_next):
    """After a successful POST that moves a component on: htmx gets the next
    fragment (`render_next()`) with `url` pushed to the address bar; a plain
    request gets a 303 to `url`, which shows the same thing as a whole page."""
    if is_htmx():
        response = render_next()
        response.headers["HX-Push-Url"] = url
        return response
    return redirect(url, 303)


def form_error(form, error, default_field: str | None = None) -> None:
    """Show a service error beside the field it names (or `default_field`)."""
    name = getattr(error, "field", None) or default_field
    field = getattr(form, name, None) if name else None
    if field is None:
        field = next(iter(form))
    field.errors = [*field.errors, str(error)]


def postman():
    """The app's Postman (services.postman), built once by create_app."""
    return current_app.extensions["postman"]


def limit_posts(config_key: str):
    """A per-IP rate limit, read from config, on the POSTs of a view (page views are free)."""
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"])


def limit_shared(config_key: str, scope: str, methods: list[str] | None = None, cost=1):
    """A per-IP rate limit, read from config, counted across all views that share `scope`
    (only on `methods` when given: loading a form is free, sending it counts). `cost`:
    what one request counts, or a function of the request (a batch counts its codes)."""
    return limiter.shared_limit(lambda: current_app.config[config_key], scope=scope,
                                methods=methods, cost=cost)


# Blueprints whose pages show one person's data: their own (records, reports,
# account), the registrar's (admin, registry, management), or what someone is typing in (register, recover).
PRIVATE_BLUEPRINTS = {"records", "reports", "account", "admin", "registry", "management",
                      "register", "recover"}
# Public files whose URL carries a hash of their content: cached for a year, no cookies.
CACHED_ENDPOINTS = {"static", "home.logo"}
# Public endpoints that show a report code or the report it opens (and 公开查询,
# which shows what a diploma number and name found).
REPORT_CODE_ENDPOINTS = {"verify.index", "verify.code", "verify.code_pdf", "verify.pdf",
                         "api.report", "verify.diploma", "verify.batch",
                         "verify.batch_download", "api.reports_batch", "verify.code_match",
                         "api.report_match"}


def must_not_be_stored() -> bool:
    """Whether this response must stay out of every cache (browser history, the disk
    cache of a shared computer, a proxy): private pages and files, pages with a report
    code, and anything shown to a signed-in person. Static files are cached."""
    if request.endpoint in CACHED_ENDPOINTS:
        return False
    return (request.blueprint in PRIVATE_BLUEPRINTS
            or request.endpoint in REPORT_CODE_ENDPOINTS
            or current_user.is_authenticated)


MB = 1024 * 1024
# Room for the other form fields and the multipart framing around the file.
_FORM_SLACK = 1 * MB


def upload_limit(config_key: str, default: int | None = None, registrar_only: bool = False):
    """The largest file a view accepts (config `config_key`): the request may be that
    much plus the form around it, and a 413 on this page names this limit. Put it
    right under the route decorator."""
    def decorate(view):
        view.upload_limit = (config_key, default, registrar_only)
        return view
    return decorate


def page_upload_limit() -> int | None:
    """The file limit of the page this request is for, if it takes files from this person."""
    view = current_app.view_functions.get(request.endpoint or "")
    mark = getattr(view, "upload_limit", None)
    if mark is None:
        return None
    key, default, registrar_only = mark
    if registrar_only and not (current_user.is_authenticated and current_user.keeps_records):
        return None
    return int(current_app.config.get(key, default))


def apply_upload_limit() -> None:
    """before_request, registered ahead of CSRFProtect (which reads the body to find
    its token): a page for large files raises this request's limit, for the people
    allowed to use it; the site-wide MAX_CONTENT_LENGTH is never lowered."""
    limit = page_upload_limit()
    if limit is not None:
        request.max_content_length = max(int(current_app.config["MAX_CONTENT_LENGTH"]),
                                         limit + _FORM_SLACK)


def megabytes(size: int) -> str:
    return f"{size / MB:g} MB"


def id_type_name(id_type: str | None) -> str:
    """A stored 证件类型 in the reader's language (the catalogue's 证件类型 entries)."""
    return pgettext("证件类型", id_type) if id_type else ""


def label_for(thing) -> str:
    """The Chinese or English name of a record kind or column, for the current language."""
    english = str(get_locale()) == "en"
    if hasattr(thing, "header"):
        return thing.english if english else thing.header
    return thing.english if english else thing.label


def _say(message, variables: dict, side: int) -> str:
    """`message` (a msgid, or a lazy string from _l) in the current locale. A variable
    given as a (Chinese, English) pair takes the value of `side` (0 or 1)."""
    if isinstance(message, LazyString):
        return str(message)
    if not variables:
        return _(str(message))
    picked = {name: value[side] if isinstance(value, tuple) else value
              for name, value in variables.items()}
    return Markup.escape(_(str(message))) % picked


def english(message, **variables) -> str:
    """`message` in English, whatever language the page is in."""
    with force_locale("en"):
        return _say(message, variables, 1)


def bilingual(message, **variables) -> Markup:
    """A message for a reader who may not read Chinese (the verifier's pages): in
    English on English pages; on Chinese pages the Chinese followed by its English
    in a <span lang="en">. `message` is a msgid (templates call bilingual("…"),
    which babel.cfg extracts) or a lazy string (_l) such as a form's label or error."""
    own = _say(message, variables, 1 if str(get_locale()) == "en" else 0)
    if str(get_locale()) == "en":
        return Markup.escape(own)
    other = english(message, **variables)
    if other == own:
        return Markup.escape(own)
    return Markup('{} <span lang="en">{}</span>').format(own, other)


def school_keys():
    """The school's signing key and certificate that sign now: the last one a 管理员
    set in the portal (services.signing.active), else the pair create_app loaded."""
    if "school_keys" not in g:
        g.school_keys = signing.active(current_app.extensions["school_keys"])
    return g.school_keys


def trusted_certificates():
    """The current and every retired signing certificate, to check report PDFs."""
    return signing.trusted_certificates(school_keys())


def send_private_file(name: str | None, *, max_age: int = 0, **options):
    """A stored file (an upload, a signed report: services.files) for the one person
    allowed to see it, as it was before sealing; shared caches never keep it, and an
    empty name or a name with no file is a 404."""
    found = files.get(name)
    if found is None:
        abort(404)
    options.setdefault("download_name", PurePosixPath(found.name).name)
    options.setdefault("mimetype", found.content_type)
    response = send_file(io.BytesIO(found.data), max_age=max_age, etag=False, **options)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


def record_kind(key: str, among=None):
    """The record kind a URL names; an unknown key, or one not `among` those allowed, is a 404."""
    kind = KINDS.get(key)
    if kind is None or (among is not None and key not in among):
        abort(404)
    return kind


def safe_local_path(target, default: str) -> str:
    """`target` if it is a path on this site, else `default`: a crafted `next` must not
    send anyone elsewhere. Browsers drop tabs and newlines from URLs, read `\\` as `/`
    and some proxies decode %2F, so the path is judged as sent, percent-decoded and
    NFKC-folded (`／` is `/`): it must start with exactly one `/` and hold no
    whitespace, control characters or backslashes."""
    if not isinstance(target, str) or not target:
        return default
    previous, decoded = target, unquote(target)
    while decoded != previous:  # %252F is %2F once decoded, then `/`
        previous, decoded = decoded, unquote(decoded)
    for text in (target, decoded, unicodedata.normalize("NFKC", decoded)):
        if not text.startswith("/") or text.startswith("//"):
            return default
        if any(char == "\\" or char.isspace() or unicodedata.category(char).startswith("C")
               for char in text):
            return default
    return target


def log_in(account, remember: bool = False) -> None:
    """A fresh session at login (nothing from before carries over) with its own
    login session on the server, which logging out ends."""
    session.clear()
    accounts.start_login_session(account, ip=client_ip(), user_agent=user_agent())
    login_user(account, remember=remember)


def client_ip() -> str:
    return request.remote_addr or ""


def user_agent() -> str:
    return request.headers.get("User-Agent", "")[:512]


def register_blueprints(app: Flask) -> None:
    from views import (account, admin, api, auth, errors, help, home, management, records,
                       recover, register, registry, reports, staff, verify)
    from views import majors  # noqa: F401  # adds /admin/majors to the registry blueprint
    for module in (home, help, auth, staff, register, recover, account, records, reports, verify,
                   api, admin, registry, management):
        app.register_blueprint(module.bp)
    errors.register(app)
    app.jinja_env.globals["label_for"] = label_for
    app.jinja_env.globals["bilingual"] = bilingual
    app.jinja_env.globals["english"] = english
    app.jinja_env.filters["id_type_name"] = id_type_name
    app.jinja_env.filters["mask_phone"] = lambda number: identity.mask_phone(number or "")
