"""学籍管理 for the 学籍管理员 (and the 管理员): correction requests, appeals,
imports, students' accounts — every page that changes records or decides for a student.
"""
from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import AdminDecisionForm, AdminImportForm
from models import Account, Appeal, CorrectionRequest
from services import accounts
from services import appeals as appeal_service
from services import corrections as correction_service
from services import importer
from services.columns import KINDS
from services.records import summary
from views import account_actions as actions_ui
from views import (client_ip, form_error, label_for, leave_to, limit_posts,
                   postman, render_component, send_private_file, staff, upload_limit)

bp = Blueprint("registry", __name__, url_prefix="/admin")
staff.restrict(bp, Account.KEEPER_ROLES)
# The partial admin/_account_actions.html asks which actions the reader may take.
bp.add_app_template_global(actions_ui.available, "account_actions")
bp.add_app_template_global(actions_ui.staff_role_label, "staff_role_label")


# --- 更正申请 ---------------------------------------------------------------------

@bp.get("/corrections")
def corrections():
    status = request.args.get("status", CorrectionRequest.PENDING)
    if status not in (CorrectionRequest.PENDING, CorrectionRequest.APPROVED, CorrectionRequest.REJECTED):
        status = CorrectionRequest.PENDING
    items = list(CorrectionRequest.select().where(CorrectionRequest.status == status)
                 .order_by(CorrectionRequest.created_at, CorrectionRequest.id).limit(500))
    return render_component("admin/corrections.html", "admin/_corrections.html",
                            items=items, filter_status=status, kinds=KINDS)


@bp.route("/corrections/<int:request_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def correction(request_id):
    item = get_object_or_404(CorrectionRequest, CorrectionRequest.id == request_id)
    form = AdminDecisionForm()
    if form.validate_on_submit():
        try:
            correction_service.decide(item, form.decision.data == "approve", form.reply.data,
                                      actor=current_user.username, postman=postman(),
                                      ip=client_ip())
        except correction_service.CorrectionError as error:
            form_error(form, error, "reply")
        else:
            flash(_("已处理更正申请 #%(id)s。", id=item.id), "info")
            return leave_to(url_for(".corrections"))
    kind = KINDS[item.kind]
    record = kind.model.get_or_none(kind.model.id == item.record_id)
    return render_component("admin/correction.html", "admin/_correction.html",
                            item=item, kind=kind, record=record,
                            record_summary=summary(record) if record else "",
                            field_label=label_for(kind.column(item.field)), form=form,
                            status=422 if form.is_submitted() else 200)


@bp.get("/corrections/<int:request_id>/evidence")
def correction_evidence(request_id):
    item = get_object_or_404(CorrectionRequest, CorrectionRequest.id == request_id)
    # A download, never shown inline: the file came from a student.
    return send_private_file(current_app.config["UPLOAD_DIR"], item.evidence_path,
                             as_attachment=True)


# --- 申诉 -------------------------------------------------------------------------

@bp.get("/appeals")
def appeals():
    status = request.args.get("status", Appeal.PENDING)
    if status not in (Appeal.PENDING, Appeal.APPROVED, Appeal.REJECTED):
        status = Appeal.PENDING
    items = list(Appeal.select().where(Appeal.status == status)
                 .order_by(Appeal.created_at, Appeal.id).limit(500))
    return render_component("admin/appeals.html", "admin/_appeals.html", items=items,
                            filter_status=status)


@bp.route("/appeals/<int:appeal_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def appeal(appeal_id):
    item = get_object_or_404(Appeal, Appeal.id == appeal_id)
    form = AdminDecisionForm()
    if form.validate_on_submit():
        try:
            appeal_service.decide(item, form.decision.data == "approve", form.reply.data,
                                  actor=current_user.username, postman=postman(),
                                  ip=client_ip())
        except appeal_service.AppealError as error:
            form_error(form, error, "reply")
        else:
            flash(_("已处理申诉 %(reference)s。", reference=item.reference), "info")
            return leave_to(url_for(".appeals"))
    return render_component("admin/appeal.html", "admin/_appeal.html", appeal=item,
                            holder=appeal_service.current_holder(item), form=form,
                            status=422 if form.is_submitted() else 200)


@bp.get("/appeals/<int:appeal_id>/photo")
def appeal_photo(appeal_id):
    item = get_object_or_404(Appeal, Appeal.id == appeal_id)
    return send_private_file(current_app.config["UPLOAD_DIR"], item.photo_path)


# --- 导入 -------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
# Spreadsheets are larger than the photos the rest of the site accepts.
@upload_limit("IMPORT_MAX_BYTES", importer.MAX_BYTES, registrar_only=True)
@limit_posts("RATELIMIT_FORM")
def records_import():
    max_bytes = current_app.config.get("IMPORT_MAX_BYTES", importer.MAX_BYTES)
    form = AdminImportForm()
    form.kind.choices = [(key, f"{kind.label} {kind.english}") for key, kind in KINDS.items()]
    result = errors = None
    if form.validate_on_submit():
        photos = form.photos.data
        try:
            result = importer.import_file(
                form.kind.data, form.table.data.filename, form.table.data.read(),
                photos_zip=photos.read() if photos else None,
                upload_dir=current_app.config["UPLOAD_DIR"], max_bytes=max_bytes,
                actor=current_user.username)
        except importer.ImportRejected as rejected:
            errors = rejected.errors
    return render_component("admin/import.html", "admin/_import.html", form=form, kinds=KINDS,
                            result=result, errors=errors,
                            status=422 if form.is_submitted() and not result else 200)


# --- 学生账号: 解除锁定, 结束全部会话, 停用, 启用 ------------------------------------

def _student(account_id: int) -> Account:
    """A student's account; staff accounts are the 管理员's (views.management)."""
    return get_object_or_404(Account, Account.id == account_id, Account.role == Account.STUDENT)


def _page_context(account: Account) -> dict:
    return {"profile": accounts.profile(account)}


@bp.get("/accounts/<int:account_id>/actions")
def account_actions(account_id):
    account = _student(account_id)
    return render_component("admin/account_actions.html", actions_ui.ANSWER,
                            account=account, **_page_context(account))


def _act(account_id: int, name: str, do):
    account = _student(account_id)
    return actions_ui.act(
        account, name, lambda form: do(account, form), page="admin/account_actions.html",
        done_url=url_for(".account_actions", account_id=account.id),
        **_page_context(account))


@bp.post("/accounts/<int:account_id>/unlock")
@limit_posts("RATELIMIT_FORM")
def account_unlock(account_id):
    def do(account, _form):
        accounts.unlock(account, actor=current_user.username, ip=client_ip())
        return _("已解除 %(username)s 的登录锁定。", username=account.username)
    return _act(account_id, "unlock", do)


@bp.post("/accounts/<int:account_id>/sessions/end")
@limit_posts("RATELIMIT_FORM")
def account_sessions_end(account_id):
    def do(account, _form):
        accounts.end_sessions(account, actor=current_user.username, ip=client_ip())
        return _("%(username)s 已在所有设备上退出登录。", username=account.username)
    return _act(account_id, "sessions_end", do)


@bp.post("/accounts/<int:account_id>/disable")
@limit_posts("RATELIMIT_FORM")
def account_disable(account_id):
    def do(account, form):
        accounts.disable(account, form.reason.data, actor=current_user.username, ip=client_ip())
        return _("已停用 %(username)s。", username=account.username)
    return _act(account_id, "disable", do)


@bp.post("/accounts/<int:account_id>/enable")
@limit_posts("RATELIMIT_FORM")
def account_enable(account_id):
    def do(account, _form):
        accounts.enable(account, actor=current_user.username, ip=client_ip())
        return _("已启用 %(username)s。", username=account.username)
    return _act(account_id, "enable", do)
