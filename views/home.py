"""首页 and the language switch."""
import re

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from extensions import LANGUAGES
from services import settings as settings_service
from views import safe_local_path

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    return render_template("home/index.html")


@bp.post("/lang")
def language():
    lang = request.form.get("lang")
    response = redirect(safe_local_path(request.form.get("next"), url_for(".index")), 303)
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/logo/<digest>.<ext>")
def logo(digest, ext):
    """The school's logo, from the database; its URL names its SHA-256, so it is
    cached for a year (a new logo is a new URL)."""
    found = settings_service.logo(digest) if re.fullmatch(r"[0-9a-f]{64}", digest) else None
    if found is None or settings_service.LOGO_TYPES.get(found[0]) != ext:
        abort(404)
    content_type, data = found
    response = Response(data, mimetype=content_type)
    response.cache_control.public = True
    response.cache_control.max_age = 365 * 24 * 3600
    response.cache_control.immutable = True
    # An SVG opened on its own must not run anything (it was checked when uploaded).
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "sandbox")
    return response
