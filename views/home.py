"""首页 and the language switch."""
from flask import Blueprint, redirect, render_template, request, url_for

from extensions import LANGUAGES
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
