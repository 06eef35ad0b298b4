"""首页 and the language switch."""
from flask import Blueprint, redirect, render_template, request, url_for

from extensions import LANGUAGES

bp = Blueprint("home", __name__)


@bp.get("/")
def home_index():
    return render_template("home/index.html")


@bp.post("/lang")
def home_language():
    lang = request.form.get("lang")
    target = request.form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("home.home_index")
    response = redirect(target, 303)
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
