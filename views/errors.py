"""Error pages: a clear message in the person's language, never a stack trace."""
from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from views import is_htmx


def _page(status, title, message):
    if request.path.startswith("/api/"):
        return jsonify(status="error", http_status=status, message=message), status
    if is_htmx():
        # Shown in the flash area; the component the person was using stays as it was.
        response = current_app.make_response(
            (render_template("_flash_message.html", category="error", message=message), status))
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_template("error.html", title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(error):
        return _page(404, _("页面不存在"), _("你要找的页面不存在，或者你无权查看。"))

    @app.errorhandler(405)
    def not_allowed(error):
        return _page(405, _("请求方式不对"), _("请从页面上的按钮或链接进入。"))

    @app.errorhandler(413)
    def too_large(error):
        return _page(413, _("文件太大"), _("上传的文件太大，请压缩后重试（照片不超过 2 MB）。"))

    @app.errorhandler(429)
    def too_many(error):
        return _page(429, _("操作太频繁"), _("操作太频繁，请稍等一会儿再试。"))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _page(400, _("页面已过期"), _("页面已过期或来源无法确认，请刷新页面后重新提交。"))

    @app.errorhandler(500)
    def server_error(error):
        return _page(500, _("出错了"), _("服务器出了点问题，你的数据没有丢失，请稍后再试。"))
