"""学籍管理 for the 学籍管理员 (and the 管理员): correction requests, appeals,
imports — every page that changes records or decides for a student.
"""
from flask import Blueprint, current_app, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import AdminDecisionForm, AdminImportForm, admin_correction_form
from models import Account, Appeal, CorrectionRequest
from services import appeals as appeal_service
from services import corrections as correction_service
from services import importer
from services.columns import KINDS
from services.records import summary
from views import (client_ip, form_error, label_for, leave_to, limit_posts, postman,
                   render_component, send_private_file, staff, upload_limit)

bp = Blueprint("registry", __name__, url_prefix="/admin")
staff.restrict(bp, Account.KEEPER_ROLES)


# --- 更正申请 ---------------------------------------------------------------------

@bp.app_context_processor
def _queue_counts():
    return {"queue_counts": queue_counts}


def queue_counts() -> dict:
    """Pending corrections and appeals, for the admin header: two COUNT queries,
    run only when a keeper's staff page draws the header, once per request."""
    if "queue_counts" not in g:
        g.queue_counts = {"corrections": correction_service.pending_count(),
                          "appeals": appeal_service.pending_count()}
    return g.queue_counts


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


@bp.get("/corrections")
def corrections():
    status = request.args.get("status", CorrectionRequest.PENDING)
    if status not in (CorrectionRequest.PENDING, CorrectionRequest.APPROVED, CorrectionRequest.REJECTED):
        status = CorrectionRequest.PENDING
    items, total, page = correction_service.queue(status, _page())
    return render_component("admin/corrections.html", "admin/_corrections.html",
                            items=items, total=total, page_number=page,
                            per_page=correction_service.PER_PAGE, filter_status=status, kinds=KINDS)


@bp.route("/corrections/<int:request_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def correction(request_id):
    item = get_object_or_404(CorrectionRequest, CorrectionRequest.id == request_id)
    kind = KINDS[item.kind]
    column = kind.column(item.field)
    record = kind.model.get_or_none(kind.model.id == item.record_id)
    form = admin_correction_form(column)(value=_adoptable(item, record, column))
    if form.validate_on_submit():
        approve = form.decision.data == "approve"
        try:
            correction_service.decide(item, approve, form.reply.data,
                                      actor=current_user.username, postman=postman(),
                                      ip=client_ip(), value=form.value.data if approve else None)
        except correction_service.CorrectionError as error:
            form_error(form, error, "reply")
        else:
            flash(_("已处理更正申请 #%(id)s。", id=item.id), "info")
            return leave_to(url_for(".corrections"))
    return render_component("admin/correction.html", "admin/_correction.html",
                            item=item, kind=kind, record=record, column=column,
                            record_summary=summary(record) if record else "",
                            field_label=label_for(column), form=form,
                            status=422 if form.is_submitted() else 200)


def _adoptable(item, record, column) -> str:
    """The student's value in the column's own form, to start the registrar's
    input with; empty when it breaks the column's rule (a choice to pick)."""
    try:
        return correction_service.checked_value(record, column, item.proposed_value, "value")
    except correction_service.CorrectionError:
        return ""


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
    items, total, page = appeal_service.queue(status, _page())
    return render_component("admin/appeals.html", "admin/_appeals.html", items=items,
                            total=total, page_number=page, per_page=appeal_service.PER_PAGE,
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
