"""Blueprints, one per audience, and the helpers they share."""
from pathlib import Path

from flask import Flask, current_app, make_response, redirect, render_template, request


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
    from flask import current_app

    from app import limiter
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"])


def limit_shared(config_key: str, scope: str):
    """A per-IP rate limit, read from config, counted across all views that share `scope`."""
    from flask import current_app

    from app import limiter
    return limiter.shared_limit(lambda: current_app.config[config_key], scope=scope)


def label_for(thing) -> str:
    """The Chinese or English name of a record kind or column, for the current language."""
    from flask_babel import get_locale
    english = str(get_locale()) == "en"
    if hasattr(thing, "header"):
        return thing.english if english else thing.header
    return thing.english if english else thing.label


def school_keys():
    """The school's signing key and certificate, loaded once per app."""
    from flask import current_app

    from services import signing
    app = current_app._get_current_object()
    if "school_keys" not in app.extensions:
        app.extensions["school_keys"] = signing.load_or_create(
            Path(app.instance_path) / "keys", app.config["SCHOOL_NAME"], app.config["SCHOOL_NAME_EN"])
    return app.extensions["school_keys"]


def send_report_pdf(report):
    """The PDF rendered and signed at issue, as stored."""
    from flask import current_app, send_from_directory
    response = send_from_directory(Path(current_app.config["REPORT_DIR"]), report.pdf_path,
                                   mimetype="application/pdf", as_attachment=True,
                                   download_name=f"report-{report.code}.pdf", max_age=0)
    response.cache_control.private = True
    return response


def client_ip() -> str:
    return request.remote_addr or ""


def user_agent() -> str:
    return request.headers.get("User-Agent", "")[:512]


def register_blueprints(app: Flask) -> None:
    from views import (account, admin, api, auth, errors, home, records, recover, register,
                       reports, verify)
    for module in (home, auth, register, recover, account, records, reports, verify, api, admin):
        app.register_blueprint(module.bp)
    errors.register(app)
    app.jinja_env.globals["label_for"] = label_for
