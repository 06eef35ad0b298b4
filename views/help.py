"""帮助中心: public answers to the questions students and verifiers ask most.

One page lists the topics; each topic is a short template under
templates/help/topics/. No login, GET only.
"""
from flask import Blueprint, abort
from flask_babel import lazy_gettext as _l

from views import render_component

bp = Blueprint("help", __name__, url_prefix="/help")

# slug → title, in the order the list shows them. Each slug has templates/help/topics/<slug>.html.
TOPICS = {
    "register": _l("谁可以注册"),
    "archive": _l("学信档案里有什么"),
    "id-taken": _l("证件号码已被注册"),
    "forgotten": _l("忘记用户名或密码"),
    "records": _l("记录缺失或有误"),
    "binding": _l("绑定以前的学历证书"),
    "reports": _l("在线验证报告"),
    "verifying": _l("如何查验报告（用人单位、学校等）"),
}


@bp.get("/", strict_slashes=False)
def index():
    return render_component("help/page.html", "help/_topic.html", topics=TOPICS, topic=None)


@bp.get("/<topic>")
def topic(topic):
    if topic not in TOPICS:
        abort(404)
    return render_component("help/page.html", "help/_topic.html", topics=TOPICS, topic=topic)
