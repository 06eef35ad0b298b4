"""学籍管理: the registrar's pages — correction requests, appeals, imports.

Only registrar accounts (role admin) get in; a student is told the page does
not exist, a stranger is asked to log in.
"""
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import AdminDecisionForm, AdminImportForm
from models import Appeal, AuditEntry, CorrectionRequest
from services import appeals, corrections, importer
from services.records import KINDS, summary
from views import client_ip, label_for, leave_to, limit_posts, postman, render_component

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _registrar_only():
    if not current_user.is_admin:
        abort(404)


def _upload(relative_path):
    response = send_from_directory(Path(current_app.config["UPLOAD_DIR"]), relative_path, max_age=0)
    response.cache_control.private = True
    return response


@bp.get("/", strict_slashes=False)
def admin_index():
    return render_component(
        "admin/index.html", "admin/_index.html",
        pending_corrections=CorrectionRequest.select().where(
            CorrectionRequest.status == CorrectionRequest.PENDING).count(),
        pending_appeals=Appeal.select().where(Appeal.status == Appeal.PENDING).count(),
        audit=list(AuditEntry.select().order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)))


# --- 更正申请 ---------------------------------------------------------------------

@bp.get("/corrections")
def admin_corrections():
    status = request.args.get("status", CorrectionRequest.PENDING)
    if status not in (CorrectionRequest.PENDING, CorrectionRequest.APPROVED, CorrectionRequest.REJECTED):
        status = CorrectionRequest.PENDING
    items = list(CorrectionRequest.select().where(CorrectionRequest.status == status)
                 .order_by(CorrectionRequest.created_at, CorrectionRequest.id).limit(500))
    return render_component("admin/corrections.html", "admin/_corrections.html",
                            items=items, filter_status=status, kinds=KINDS)


def _correction_or_404(request_id):
    correction = CorrectionRequest.get_or_none(CorrectionRequest.id == request_id)
    if correction is None:
        abort(404)
    return correction


def _render_correction(correction, form, status=200):
    kind = KINDS[correction.kind]
    record = kind.model.get_or_none(kind.model.id == correction.record_id)
    return render_component("admin/correction.html", "admin/_correction.html", status,
                            item=correction, kind=kind, record=record,
                            record_summary=summary(record) if record else "",
                            field_label=label_for(kind.column(correction.field)), form=form)


@bp.route("/corrections/<int:request_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def admin_correction(request_id):
    correction = _correction_or_404(request_id)
    if request.method == "GET":
        return _render_correction(correction, AdminDecisionForm(formdata=None))
    form = AdminDecisionForm()
    if form.validate():
        try:
            corrections.decide(correction, form.decision.data == "approve", form.reply.data,
                               actor=current_user.username, postman=postman(),
                               ip=client_ip())
        except corrections.CorrectionError as error:
            form.reply.errors = [str(error)]
        else:
            flash(_("已处理更正申请 #%(id)s。", id=correction.id), "info")
            return leave_to(url_for("admin.admin_corrections"))
    return _render_correction(correction, form, 422)


@bp.get("/corrections/<int:request_id>/evidence")
def admin_correction_evidence(request_id):
    correction = _correction_or_404(request_id)
    if not correction.evidence_path:
        abort(404)
    return _upload(correction.evidence_path)


# --- 申诉 -------------------------------------------------------------------------

@bp.get("/appeals")
def admin_appeals():
    status = request.args.get("status", Appeal.PENDING)
    if status not in (Appeal.PENDING, Appeal.APPROVED, Appeal.REJECTED):
        status = Appeal.PENDING
    items = list(Appeal.select().where(Appeal.status == status)
                 .order_by(Appeal.created_at, Appeal.id).limit(500))
    return render_component("admin/appeals.html", "admin/_appeals.html", items=items,
                            filter_status=status)


def _appeal_or_404(appeal_id):
    appeal = Appeal.get_or_none(Appeal.id == appeal_id)
    if appeal is None:
        abort(404)
    return appeal


@bp.route("/appeals/<int:appeal_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def admin_appeal(appeal_id):
    appeal = _appeal_or_404(appeal_id)
    form = AdminDecisionForm() if request.method == "POST" else AdminDecisionForm(formdata=None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                appeals.decide(appeal, form.decision.data == "approve", form.reply.data,
                               actor=current_user.username, postman=postman(),
                               ip=client_ip())
            except appeals.AppealError as error:
                form.reply.errors = [str(error)]
            else:
                flash(_("已处理申诉 %(reference)s。", reference=appeal.reference), "info")
                return leave_to(url_for("admin.admin_appeals"))
        status = 422
    holder = appeals.current_holder(appeal)
    return render_component("admin/appeal.html", "admin/_appeal.html", status,
                            appeal=appeal, holder=holder, form=form)


@bp.get("/appeals/<int:appeal_id>/photo")
def admin_appeal_photo(appeal_id):
    return _upload(_appeal_or_404(appeal_id).photo_path)


# --- 导入 -------------------------------------------------------------------------

def _import_form(formdata=True):
    form = AdminImportForm() if formdata else AdminImportForm(formdata=None)
    form.kind.choices = [(key, f"{kind.label} {kind.english}") for key, kind in KINDS.items()]
    return form


@bp.route("/import", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def admin_import():
    if request.method == "GET":
        return render_component("admin/import.html", "admin/_import.html",
                                form=_import_form(formdata=False), kinds=KINDS)
    max_bytes = current_app.config.get("IMPORT_MAX_BYTES", importer.MAX_BYTES)
    # Spreadsheets are larger than the photos the rest of the site accepts.
    request.max_content_length = max_bytes + 1024 * 1024
    form = _import_form()
    result = errors = None
    if form.validate():
        table = request.files.get(form.table.name)
        photos = request.files.get(form.photos.name)
        if not table or not table.filename:
            form.table.errors = [_("请选择数据文件。")]
        else:
            try:
                result = importer.import_file(
                    form.kind.data, table.filename, table.read(),
                    photos_zip=photos.read() if photos and photos.filename else None,
                    upload_dir=current_app.config["UPLOAD_DIR"], max_bytes=max_bytes,
                    actor=current_user.username)
            except importer.ImportRejected as rejected:
                errors = rejected.errors
    status = 200 if result else 422
    return render_component("admin/import.html", "admin/_import.html", status,
                            form=form, kinds=KINDS, result=result, errors=errors)
