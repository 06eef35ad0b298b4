"""Error pages: a clear message in the person's language, never a stack trace.

Every HTTP error, and any unexpected exception (which Flask turns into a 500),
answers in the shape the caller reads: JSON under /api/, a message in the flash
area for htmx, a whole page otherwise; the status is kept.
"""
import math
import time

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from extensions import limiter
from views import is_htmx, megabytes, page_upload_limit

# (title, message) for the statuses people meet; the rest get a generic one.
MESSAGES = {
    404: (_l("页面不存在"), _l("你要找的页面不存在，或者你无权查看。")),
    405: (_l("请求方式不对"), _l("请从页面上的按钮或链接进入。")),
    413: (_l("文件太大"), None),  # the message names the limit of the page (_too_large)
    429: (_l("操作太频繁"), _l("操作太频繁，请稍等一会儿再试。")),
    500: (_l("出错了"), _l("服务器出了点问题，你的数据没有丢失，请稍后再试。")),
}
EXPIRED_FORM = (_l("页面已过期"), _l("页面已过期或来源无法确认，请刷新页面后重新提交。"))


def _too_large() -> str:
    limit = page_upload_limit()
    if limit is not None:
        return _("上传的文件太大：这个页面接受的文件不超过 %(limit)s，请压缩或拆分后重试。",
                 limit=megabytes(limit))
    return _("提交的内容太大（不能超过 %(limit)s），请减少后重试。",
             limit=megabytes(int(current_app.config["MAX_CONTENT_LENGTH"])))


def retry_after(error: HTTPException) -> int | None:
    """Seconds until a rate-limited person may try again: the error's own Retry-After,
    else the end of the window of the limit this request broke (views.limit_*)."""
    for name, value in error.get_headers():
        if name.lower() == "retry-after" and value.isdigit():
            return int(value)
    broken = limiter.current_limit
    if broken is None:
        return None
    try:
        reset_at = broken.reset_at  # asks the limiter's storage
    except Exception:  # an unreachable storage must not turn the 429 into a 500
        return None
    return max(1, math.ceil(reset_at - time.time()))


def _try_again(seconds: int) -> str:
    if seconds <= 90:
        return ngettext("操作太频繁，请 %(num)s 秒后再试。", "操作太频繁，请 %(num)s 秒后再试。", seconds)
    return ngettext("操作太频繁，请 %(num)s 分钟后再试。", "操作太频繁，请 %(num)s 分钟后再试。",
                    math.ceil(seconds / 60))


def _words(error: HTTPException, wait: int | None = None) -> tuple[str, str]:
    if error.code == 429 and wait is not None:
        return str(MESSAGES[429][0]), _try_again(wait)
    if isinstance(error, CSRFError):
        title, message = EXPIRED_FORM
    elif error.code == 413:
        return str(MESSAGES[413][0]), _too_large()
    elif error.code in MESSAGES:
        title, message = MESSAGES[error.code]
    else:
        return (_("请求未能完成"),
                _("请求未能完成（错误代码 %(status)s）。请返回上一页重试；如果问题持续，请联系学校。",
                  status=error.code))
    return str(title), str(message)


def for_verifier() -> bool:
    """Whether a verifier reached this error (/verify…): it is told in both languages."""
    return request.path == "/verify" or request.path.startswith("/verify/")


def _page(error: HTTPException):
    status = error.code
    wait = retry_after(error) if status == 429 else None
    title, message = _words(error, wait)
    title_en = message_en = None
    if for_verifier() and str(get_locale()) != "en":
        with force_locale("en"):
            title_en, message_en = _words(error, wait)
    # Allow (405), Retry-After, WWW-Authenticate and the like still apply.
    headers = [(name, value) for name, value in error.get_headers()
               if name.lower() != "content-type"]
    if wait is not None and not any(name.lower() == "retry-after" for name, _value in headers):
        headers.append(("Retry-After", str(wait)))
    if request.path.startswith("/api/"):
        with force_locale("en"):
            english_message = _words(error, wait)[1]
        return (jsonify(status="error", http_status=status, message=message,
                        message_en=english_message), status, headers)
    if is_htmx():
        # Shown in the flash area; the component the person was using stays as it was.
        if message_en:
            message = Markup('{} <span lang="en">{}</span>').format(message, message_en)
        response = current_app.make_response(
            (render_template("_flash_message.html", category="error", message=message), status,
             headers))
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return (render_template("error.html", title=title, message=message, title_en=title_en,
                            message_en=message_en), status, headers)


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _page)
