"""学籍管理 for the 学籍管理员 (and the 管理员): correction requests, appeals,
imports — every page that changes records or decides for a student.
"""
import io

from flask import Blueprint, abort, current_app, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import AdminDecisionForm, AdminImportForm, ImportBatchForm
from models import Account, Appeal, CorrectionRequest
from services import appeals as appeal_service
from services import corrections as correction_service
from services import importer
from services.columns import KINDS
from services.records import summary
from views import (client_ip, form_error, label_for, leave_to, limit_posts, postman,
                   record_kind, render_component, send_private_file, staff, upload_limit)

bp = Blueprint("registry", __name__, url_prefix="/admin")
staff.restrict(bp, Account.KEEPER_ROLES)


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

# Upload -> preview (nothing written; the file waits as an ImportBatch) -> 导入 or 取消.

@bp.route("/import", methods=["GET", "POST"])
# Spreadsheets are larger than the photos the rest of the site accepts.
@upload_limit("IMPORT_MAX_BYTES", importer.MAX_BYTES, registrar_only=True)
@limit_posts("RATELIMIT_FORM")
def records_import():
    form = AdminImportForm()
    form.kind.choices = [(key, f"{kind.label} {kind.english}") for key, kind in KINDS.items()]
    preview = batch = None
    if form.validate_on_submit():
        photos = form.photos.data
        preview, batch = importer.stage(
            form.kind.data, form.table.data.filename, form.table.data.read(),
            photos_zip=photos.read() if photos else None, max_bytes=_import_max_bytes(),
            uploaded_by=current_user.username)
    return render_component("admin/import.html", "admin/_import.html", form=form, kinds=KINDS,
                            preview=preview, batch=batch, confirm=ImportBatchForm(),
                            status=422 if form.is_submitted() and not batch else 200)


@bp.get("/imports")
def imports():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    items, more = importer.history(page)
    return render_component("admin/imports.html", "admin/_imports.html", items=items, page_number=page,
                            more=more, kinds=KINDS)


@bp.get("/imports/<token>")
def import_batch(token):
    batch = _batch_or_404(token)
    preview = None
    if batch.status == batch.PENDING:
        preview = importer.preview_batch(batch, max_bytes=_import_max_bytes())
    return _batch_page(batch, preview)


@bp.post("/imports/<token>/commit")
@limit_posts("RATELIMIT_FORM")
def import_commit(token):
    batch = _batch_or_404(token)
    form = ImportBatchForm()
    if not form.validate_on_submit():
        return _batch_page(batch, None, form=form, status=422)
    try:
        result, batch = importer.commit(token, actor=current_user.username,
                                        upload_dir=current_app.config["UPLOAD_DIR"],
                                        max_bytes=_import_max_bytes(), ip=client_ip())
    except importer.BatchClosed as error:
        return _batch_page(_batch_or_404(token), None, problem=str(error), status=409)
    except importer.ImportRejected as rejected:
        preview = importer.Preview(kind=batch.kind, filename=batch.filename, errors=rejected.errors)
        return _batch_page(_batch_or_404(token), preview, status=422)
    flash(_("导入完成：共 %(rows)s 行，新增 %(created)s 条，更新 %(updated)s 条，未变 %(unchanged)s 条，照片 %(photos)s 张。",
            rows=result.rows, created=result.created, updated=result.updated,
            unchanged=result.unchanged, photos=result.photos), "info")
    if result.bound_identity_changed:
        flash(_("其中 %(n)s 条已绑定到学生账号的记录改了姓名或证件号码，请留意。",
                n=result.bound_identity_changed), "warning")
    return leave_to(url_for(".import_batch", token=token))


@bp.post("/imports/<token>/cancel")
@limit_posts("RATELIMIT_FORM")
def import_cancel(token):
    batch = _batch_or_404(token)
    form = ImportBatchForm()
    if not form.validate_on_submit():
        return _batch_page(batch, None, form=form, status=422)
    try:
        batch = importer.cancel(token, actor=current_user.username, ip=client_ip())
    except importer.BatchClosed as error:
        return _batch_page(_batch_or_404(token), None, problem=str(error), status=409)
    flash(_("已取消导入「%(file)s」，没有写入任何记录。", file=batch.filename), "info")
    return leave_to(url_for(".records_import"))


@bp.get("/imports/template/<kind>.csv")
def import_template_csv(kind):
    return _template(kind, "csv", "text/csv; charset=utf-8")


@bp.get("/imports/template/<kind>.xlsx")
def import_template_xlsx(kind):
    return _template(kind, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _template(kind_key: str, fmt: str, mimetype: str):
    kind = record_kind(kind_key)
    data, name = importer.template(kind.key, fmt)
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


def _import_max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", importer.MAX_BYTES))


def _batch_or_404(token: str):
    batch = importer.pending_batch(token)
    if batch is None:
        abort(404)
    return batch


def _batch_page(batch, preview, *, form=None, problem=None, status=200):
    form = form or ImportBatchForm()
    if form.errors and not problem:
        # Only the CSRF token can be wrong on these forms.
        problem = " ".join(str(message) for messages in form.errors.values() for message in messages)
    return render_component("admin/import_batch.html", "admin/_import_batch.html", batch=batch,
                            preview=preview, confirm=form, problem=problem, kind=KINDS[batch.kind], kinds=KINDS,
                            status=status)
