"""学籍管理 for the 学籍管理员 (and the 管理员): correction requests, appeals,
imports, exports — every page that changes records, decides for a student or
takes data out of the portal.
"""
from urllib.parse import urlencode

from flask import Blueprint, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import AdminDecisionForm, AdminImportForm
from models import Account, Appeal, CorrectionRequest, utcnow
from services import appeals as appeal_service
from services import audit, exports
from services import corrections as correction_service
from services import importer
from services import search as search_service
from services.columns import KINDS
from services.records import summary
from views import (client_ip, form_error, label_for, leave_to, limit_posts, postman,
                   render_component, send_private_file, staff, upload_limit)
from views import admin as admin_views

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


# --- 导出查询结果 -----------------------------------------------------------------

EXPORT_TYPES = {
    "csv": ("text/csv; charset=utf-8", exports.to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda headers, rows: exports.to_xlsx(headers, rows, title="search")),
}


@bp.get("/search/export.csv")
def search_export_csv():
    return _export_search("csv")


@bp.get("/search/export.xlsx")
def search_export_xlsx():
    return _export_search("xlsx")


def _export_search(fmt: str):
    """The search of the query string (the same as /admin/search) as a file: ID
    numbers masked, every cell neutralised against formulas, at most
    EXPORT_LIMIT rows (the file says when it was cut); audited."""
    form, wanted = admin_views.read_search()
    if wanted is None:
        if not form.failed:
            form_error(form, search_service.SearchError(
                _("请先输入查询内容或选择筛选条件，再导出。"), field="q"))
        return admin_views.render_search(form, status=422)
    limit = search_service.EXPORT_LIMIT
    hits, cut = search_service.export(wanted, limit)
    headers = [_("类型"), _("姓名"), _("证件号码"), _("编号"), _("学校 / 专业"), _("年份"),
               _("绑定账户"), _("状态")]
    rows = [[admin_views.kind_label(hit.kind), hit.name, hit.masked_id, hit.number, hit.place,
             hit.year, hit.username, _state_text(hit)] for hit in hits]
    if cut:
        rows.append([_("结果超过 %(n)s 条，只导出了前 %(n)s 条；请缩小查询范围后分批导出。",
                       n=limit)])
    mimetype, write = EXPORT_TYPES[fmt]
    data = write(headers, rows)
    query = urlencode(wanted.as_args())
    audit.log("records.exported", actor=current_user.username, ip=client_ip(),
              detail=f"{fmt}, {len(hits)} rows{', cut' if cut else ''}: {query}")
    response = make_response(data)
    response.mimetype = mimetype
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    response.headers["Content-Disposition"] = f'attachment; filename="search-{stamp}.{fmt}"'
    if cut:
        response.headers["X-Export-Cut"] = str(limit)
    return response


def _state_text(hit) -> str:
    if not hit.withdrawn:
        return ""
    return _("已停用") if hit.kind == search_service.ACCOUNT else _("已撤销")
