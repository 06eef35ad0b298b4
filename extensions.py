"""The Flask extensions, created unbound here so views can use them (rate
limits, the language list) without importing the app; create_app binds them."""
from flask import request
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

LANGUAGES = ("zh", "en")


class _Compress(Compress):
    """Flask-Compress skips non-2xx responses; 422 form pages are ordinary pages."""

    def after_request(self, response):
        if response is None or response.status_code != 422:
            return super().after_request(response)
        response.status_code = 200
        response = super().after_request(response)
        response.status_code = 422
        return response


csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
compress = _Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale() -> str:
    """Chinese unless the person chose English (a cookie set by a POST)."""
    chosen = request.cookies.get("lang") if request else None
    return chosen if chosen in LANGUAGES else "zh"
