"""学籍管理 for the 学籍管理员 (and the 管理员): correction requests, appeals,
imports, one record by hand (create, edit, 撤销 / 恢复, bind / unbind), students'
accounts, exports — every page that changes records, decides for a student or
takes data out of the portal.
"""
import io
import json
from urllib.parse import urlencode

from flask import (Blueprint, abort, current_app, flash, g, make_response, request, send_file,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import (AdminDecisionForm, AdminImportForm, ImportBatchForm, RecordAssignForm,
                   RecordRestoreForm, RecordUnbindForm, RecordWithdrawForm, admin_correction_form,
                   record_form)
from models import Account, Appeal, BindRequest, CorrectionRequest
from services import accounts
from services import appeals as appeal_service
from services import binding as binding_service
from services import identity
from services import corrections as correction_service
from services import audit, clock, exports, importer, keeping
from services import search as search_service
from services.columns import KINDS
from services.records import kind_of, summary
from views import account_actions as actions_ui
from views import (client_ip, form_error, label_for, leave_to, limit_posts, postman,
                   record_kind, render_component, school_timezone, send_private_file, settings,
                   staff, upload_limit)
from views import admin as admin_views

bp = Blueprint("registry", __name__, url_prefix="/admin")
staff.restrict(bp, Account.KEEPER_ROLES)
# The partial admin/_account_actions.html asks which actions the reader may take.
bp.add_app_template_global(actions_ui.available, "account_actions")
bp.add_app_template_global(actions_ui.staff_role_label, "staff_role_label")


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
        return correction_service.checked_value(record, column, item.proposed_value, "value",
                                                clock.today(school_timezone()))
    except correction_service.CorrectionError:
        return ""


@bp.get("/corrections/<int:request_id>/evidence")
def correction_evidence(request_id):
    item = get_object_or_404(CorrectionRequest, CorrectionRequest.id == request_id)
    # A download, never shown inline: the file came from a student.
    return send_private_file(item.evidence_path, as_attachment=True)


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
    return send_private_file(item.photo_path)


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
            uploaded_by=current_user.username, today=clock.today(school_timezone()))
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
        preview = importer.preview_batch(batch, max_bytes=_import_max_bytes(),
                                         today=clock.today(school_timezone()))
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
                                        max_bytes=_import_max_bytes(), ip=client_ip(),
                                        today=clock.today(school_timezone()))
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


# --- 记录: create, edit, 撤销 / 恢复, bind / unbind by hand ------------------------

def _record(kind_key, record_id):
    kind = record_kind(kind_key)
    return kind, get_object_or_404(kind.model, kind.model.id == record_id)


def _record_form(kind, current, **options):
    labels = {column.attr: label_for(column) for column in kind.columns}
    photo_label = None
    if kind.photo_label:
        photo_label = kind.photo_english if str(get_locale()) == "en" else kind.photo_label
    return record_form(kind, labels, photo_label, current, **options)


def _problems_beside(form, error):
    """Each problem of a RecordInvalid beside its field (or the form's first)."""
    for name, message in getattr(error, "problems", [(error.field, str(error))]):
        field = form._fields.get(name) if name else None
        field = field or next(field for key, field in form._fields.items()
                              if key not in ("csrf_token", "original"))
        field.errors = [*field.errors, str(message)]


def _upload(form):
    photo = getattr(form, "photo", None)
    return photo.data.read() if photo is not None and photo.data else None


ACTION_FORMS = {"withdraw": RecordWithdrawForm, "restore": RecordRestoreForm,
                "bind": RecordAssignForm, "unbind": RecordUnbindForm}


def record_action_forms(**posted):
    """The forms of the actions partial (templates/admin/_record_actions.html), fresh
    unless one is given (with its errors) in `posted`."""
    return {name: posted.get(name) or form(formdata=None) for name, form in ACTION_FORMS.items()}


@bp.app_context_processor
def _record_actions_context():
    return {"record_action_forms": record_action_forms}


def _state(kind, record):
    account = Account.get_or_none(Account.id == record.account_id) if record.account_id else None
    return {"bound_account": account}


@bp.get("/records/new")
def records_new():
    return render_component("admin/records_new.html", "admin/_records_new.html", kinds=KINDS)


@bp.route("/records/<kind_key>/new", methods=["GET", "POST"])
@upload_limit("RECORD_PHOTO_MAX_BYTES")
@limit_posts("RATELIMIT_FORM")
def record_new(kind_key):
    kind = record_kind(kind_key)
    form = _record_form(kind, {})
    if form.validate_on_submit():
        try:
            record = keeping.create(kind, form.values(), photo=_upload(form),
                                    actor=current_user.username, ip=client_ip(),
                                    max_photo_bytes=current_app.config["RECORD_PHOTO_MAX_BYTES"],
                                    today=clock.today(school_timezone()))
        except keeping.KeepingError as error:
            _problems_beside(form, error)
        else:
            flash(_("已新建%(kind)s记录 #%(id)s。", kind=label_for(kind), id=record.id), "info")
            return leave_to(url_for(".record_edit", kind_key=kind.key, record_id=record.id))
    return render_component("admin/record_form.html", "admin/_record_form.html", kind=kind,
                            record=None, form=form,
                            status=422 if form.is_submitted() else 200)


@bp.route("/records/<kind_key>/<int:record_id>/edit", methods=["GET", "POST"])
@upload_limit("RECORD_PHOTO_MAX_BYTES")
@limit_posts("RATELIMIT_FORM")
def record_edit(kind_key, record_id):
    kind, record = _record(kind_key, record_id)
    current = keeping.form_values(kind, record)
    form = _record_form(kind, current, data={**current, "original": json.dumps(current, ensure_ascii=False)})
    if form.validate_on_submit():
        try:
            original = json.loads(form.original.data or "null")
        except ValueError:
            original = None
        try:
            changed = keeping.update(
                kind, record, form.values(), original=original if isinstance(original, dict) else None,
                photo=_upload(form), actor=current_user.username, ip=client_ip(), postman=postman(),
                max_photo_bytes=current_app.config["RECORD_PHOTO_MAX_BYTES"],
                today=clock.today(school_timezone()))
        except keeping.KeepingError as error:
            _problems_beside(form, error)
        else:
            flash(_("已保存 %(n)s 项改动。", n=len(changed)) if changed else _("没有改动，未保存。"),
                  "info")
            return leave_to(url_for(".record_edit", kind_key=kind.key, record_id=record.id))
    return render_component("admin/record_form.html", "admin/_record_form.html", kind=kind,
                            record=record, form=form, **_state(kind, record),
                            status=422 if form.is_submitted() else 200)


def _record_action(kind_key, record_id, name, run, done):
    """One action of the partial: on success back to the record's edit page; a bad
    form answers 422 with the message beside its field (htmx: the partial alone)."""
    kind, record = _record(kind_key, record_id)
    form = ACTION_FORMS[name]()
    if form.validate_on_submit():
        try:
            run(kind, record, form)
        except keeping.KeepingError as error:
            field = form._fields.get(f"{name}_{error.field}") if error.field else None
            field = field or next((f for key, f in form._fields.items() if key != "csrf_token"), None)
            if field is None:
                flash(str(error), "error")
            else:
                field.errors = [*field.errors, str(error)]
        else:
            flash(done(kind), "info")
            return leave_to(url_for(".record_edit", kind_key=kind.key, record_id=record.id))
    current = keeping.form_values(kind, record)
    return render_component(
        "admin/record_form.html", "admin/_record_actions.html", status=422, kind=kind,
        record=record, action_forms=record_action_forms(**{name: form}),
        form=_record_form(kind, current, formdata=None,
                          data={**current, "original": json.dumps(current, ensure_ascii=False)}),
        **_state(kind, record))


@bp.post("/records/<kind_key>/<int:record_id>/withdraw")
@limit_posts("RATELIMIT_FORM")
def record_withdraw(kind_key, record_id):
    return _record_action(
        kind_key, record_id, "withdraw",
        lambda kind, record, form: keeping.withdraw(
            kind, record, form.withdraw_reason.data, actor=current_user.username, ip=client_ip(),
            postman=postman()),
        lambda kind: _("已撤销这条%(kind)s记录。", kind=label_for(kind)))


@bp.post("/records/<kind_key>/<int:record_id>/restore")
@limit_posts("RATELIMIT_FORM")
def record_restore(kind_key, record_id):
    return _record_action(
        kind_key, record_id, "restore",
        lambda kind, record, form: keeping.restore(kind, record, actor=current_user.username,
                                                   ip=client_ip(), postman=postman()),
        lambda kind: _("已恢复这条%(kind)s记录。", kind=label_for(kind)))


@bp.post("/records/<kind_key>/<int:record_id>/bind")
@limit_posts("RATELIMIT_FORM")
def record_bind(kind_key, record_id):
    return _record_action(
        kind_key, record_id, "bind",
        lambda kind, record, form: keeping.bind(
            kind, record, form.bind_username.data, form.bind_reason.data,
            actor=current_user.username, ip=client_ip(), postman=postman()),
        lambda kind: _("已绑定到学生账号。"))


@bp.post("/records/<kind_key>/<int:record_id>/unbind")
@limit_posts("RATELIMIT_FORM")
def record_unbind(kind_key, record_id):
    return _record_action(
        kind_key, record_id, "unbind",
        lambda kind, record, form: keeping.unbind(
            kind, record, form.unbind_reason.data, actor=current_user.username, ip=client_ip()),
        lambda kind: _("已解除绑定。"))


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
    stamp = clock.stamp(school_timezone())
    response.headers["Content-Disposition"] = f'attachment; filename="search-{stamp}.{fmt}"'
    if cut:
        response.headers["X-Export-Cut"] = str(limit)
    return response


def _state_text(hit) -> str:
    if not hit.withdrawn:
        return ""
    return _("已停用") if hit.kind == search_service.ACCOUNT else _("已撤销")
