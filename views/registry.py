"""学籍管理 for the 学籍管理员 (and the 管理员): correction requests, appeals,
imports — every page that changes records or decides for a student.
"""
from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import AdminDecisionForm, AdminImportForm
from models import Account, Appeal, BindRequest, CorrectionRequest
from services import appeals as appeal_service
from services import binding as binding_service
from services import identity
from services import corrections as correction_service
from services import importer
from services.columns import KINDS
from services.records import kind_of, summary
from views import (client_ip, form_error, label_for, leave_to, limit_posts, postman,
                   render_component, send_private_file, settings, staff, upload_limit)

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


# --- 绑定确认 (BIND_MODE "approval") ----------------------------------------------

@bp.get("/bindings")
def bindings():
    status = request.args.get("status", BindRequest.PENDING)
    if status not in (BindRequest.PENDING, BindRequest.APPROVED, BindRequest.REJECTED):
        status = BindRequest.PENDING
    items = list(BindRequest.select(BindRequest, Account).join(Account)
                 .where(BindRequest.status == status)
                 .order_by(BindRequest.created_at, BindRequest.id).limit(500))
    return render_component("admin/bindings.html", "admin/_bindings.html", items=items,
                            filter_status=status)


@bp.route("/bindings/<int:request_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def binding(request_id):
    item = get_object_or_404(BindRequest.select(BindRequest, Account).join(Account),
                             BindRequest.id == request_id)
    since_year = settings()["ELIGIBLE_SINCE_YEAR"]
    form = AdminDecisionForm()
    if form.validate_on_submit():
        try:
            bound = binding_service.decide(item, form.decision.data == "approve", form.reply.data,
                                           actor=current_user.username, since_year=since_year,
                                           postman=postman(), ip=client_ip())
        except binding_service.BindingError as error:
            form_error(form, error, "reply")
        else:
            if form.decision.data == "approve":
                flash(_("已确认绑定申请 #%(id)s，绑定了 %(count)s 条记录。", id=item.id,
                        count=len(bound)), "info")
            else:
                flash(_("已退回绑定申请 #%(id)s。", id=item.id), "info")
            return leave_to(url_for(".bindings"))
    listed = [(label_for(kind_of(record)), summary(record))
              for record in binding_service.requested_records(item, since_year=since_year)]
    account = item.account
    return render_component("admin/binding.html", "admin/_binding.html", item=item,
                            records=listed, form=form,
                            id_masked=identity.mask_id(account.id_number or ""),
                            phone_masked=identity.mask_phone(account.phone or ""),
                            status=422 if form.is_submitted() else 200)


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
