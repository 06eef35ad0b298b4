"""我的学信档案: the student's own records, binding, and correction requests.

Another student's record answers 404, exactly like a record that does not exist.
"""
from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from forms import ConfirmationRequestForm, NumberCheckForm, RecordBindForm, correction_form
from models import CorrectionRequest
from services import binding, clock, identity, records
from services import corrections as correction_service
from services.columns import KINDS
from views import (client_ip, form_error, is_htmx, label_for, leave_to, limit_posts, postman,
                   record_kind, render_component, school_timezone, send_private_file, settings,
                   upload_limit)

bp = Blueprint("records", __name__, url_prefix="/records")


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.get("/", strict_slashes=False)
def index():
    return _index()


def _index(fragment="records/_sections.html", status=200, **forms):
    """The archive, with what waits for more than name + ID number (BIND_MODE).
    After a refused POST htmx gets the hold component alone, a plain form post the
    whole page, both with the form's messages."""
    sections = records.archive_of(current_user.id)
    since_year = settings()["ELIGIBLE_SINCE_YEAR"]
    hold = binding.hold_of(current_user, since_year=since_year, mode=settings()["BIND_MODE"])
    # Nothing shown, and all the person's records are older than the year the portal shows.
    early = (not any(items for _kind, items in sections)
             and binding.only_before(current_user, since_year))
    forms.setdefault("number_form", NumberCheckForm(formdata=None))
    forms.setdefault("request_form", ConfirmationRequestForm(formdata=None))
    return render_component("records/index.html", fragment, status=status, sections=sections,
                            hold=hold, early=early, standalone=fragment == "records/_hold.html",
                            **forms)


@bp.post("/number-check")
@limit_posts("RATELIMIT_CHECK_CODE")
def number_check():
    """验证学号或证书编号: binds every record waiting for the student (BIND_MODE "number")."""
    form = NumberCheckForm()
    if form.validate_on_submit():
        try:
            bound = binding.check_number(
                current_user, form.number.data, since_year=settings()["ELIGIBLE_SINCE_YEAR"],
                mode=settings()["BIND_MODE"], config={**current_app.config, **settings()},
                postman=postman(), ip=client_ip())
        except binding.BindingError as error:
            form_error(form, error, "number")
        else:
            flash(_("验证通过，%(count)s 条记录已加入你的档案。", count=len(bound)), "info")
            return leave_to(url_for(".index"))
    return _index("records/_hold.html", 422, number_form=form)


@bp.post("/confirmation")
@limit_posts("RATELIMIT_FORM")
def confirmation_request():
    """Ask the registrar again to confirm the waiting records (BIND_MODE "approval")."""
    form = ConfirmationRequestForm()
    if form.validate_on_submit():
        try:
            binding.ask_again(current_user, since_year=settings()["ELIGIBLE_SINCE_YEAR"],
                              mode=settings()["BIND_MODE"], ip=client_ip())
        except binding.BindingError as error:
            return _index("records/_hold.html", 422, request_form=form, request_error=str(error))
        flash(_("已提交，请等待学籍管理部门确认。"), "info")
        return leave_to(url_for(".index"))
    return _index("records/_hold.html", 422, request_form=form)


@bp.get("/<kind_key>/<int:record_id>")
def detail(kind_key, record_id):
    kind = record_kind(kind_key)
    record = get_object_or_404(kind.model, kind.model.id == record_id,
                               records.visible_to(kind, current_user.id))
    rows = []
    for column in kind.columns:
        value = records.display_value(record, column)
        if column.type == "id_number":
            value = identity.mask_id(value)
        rows.append((column, value))
    return render_component("records/detail.html", "records/_detail.html", kind=kind,
                            record=record, rows=rows,
                            pending=correction_service.pending_fields(kind, record))


@bp.get("/<kind_key>/<int:record_id>/photo")
def photo(kind_key, record_id):
    kind = record_kind(kind_key)
    record = get_object_or_404(kind.model, kind.model.id == record_id,
                               records.visible_to(kind, current_user.id))
    return send_private_file(getattr(record, "photo", None), max_age=3600)


@bp.route("/<kind_key>/<int:record_id>/correct", methods=["GET", "POST"])
@upload_limit("APPEAL_PHOTO_MAX_BYTES")
@limit_posts("RATELIMIT_FORM")
def correct(kind_key, record_id):
    """One form; 正确的内容 is the chosen field's own input (a select for choices, a
    date input for dates). With htmx, changing the field swaps in its input
    (GET ?field=…); without JavaScript, 改填这一项 posts the choice and the page
    comes back with that field's input (nothing is filed)."""
    kind = record_kind(kind_key)
    record = get_object_or_404(kind.model, kind.model.id == record_id,
                               records.visible_to(kind, current_user.id))
    pending = correction_service.pending_fields(kind, record)
    choices = [(column.attr, label_for(column)) for column in kind.columns
               if column.attr not in pending]
    # A link may name the field to correct (?field=major); a post names it in the form.
    chosen = (request.form if request.method == "POST" else request.args).get("field")
    if chosen not in dict(choices):
        chosen = choices[0][0] if choices else None
    column = kind.column(chosen) if chosen else None
    form_class = correction_form(column, _current_hint(record, column))
    # The field whose input the page showed: a value typed into another field's
    # input (the field changed without JavaScript) is never filed.
    shown_for = request.form.get("shown_for") if request.method == "POST" else None
    switched = shown_for is not None and shown_for != chosen
    choosing = request.method == "POST" and bool(request.form.get("choose"))
    if switched:
        form = form_class(formdata=None, field=chosen, reason=request.form.get("reason", ""))
    else:
        form = form_class(field=chosen)
    form.field.choices = choices
    if switched and not choosing:
        form.proposed_value.errors = [_("请按新选的项目填写正确的内容。")]
    elif not choosing and form.validate_on_submit():
        upload = form.evidence.data
        try:
            correction_service.file_request(
                current_user, kind, record, form.field.data, form.proposed_value.data,
                form.reason.data, upload.read() if upload else None,
                max_bytes=current_app.config["APPEAL_PHOTO_MAX_BYTES"], ip=client_ip(),
                today=clock.today(school_timezone()))
        except correction_service.CorrectionError as error:
            form_error(form, error)
        else:
            flash(_("更正申请已提交，学校处理后会在“我的更正申请”中答复。记录在处理前保持不变。"), "info")
            return leave_to(url_for(".corrections"))
    if request.method == "GET" and is_htmx() and request.headers.get("HX-Target") == "proposed-input":
        # The field select changed: only its input (the rest of the form stays as typed).
        return render_component("records/correct.html", "records/_proposed_input.html",
                                kind=kind, record=record, form=form, column=column)
    return render_component("records/correct.html", "records/_correct.html", kind=kind,
                            record=record, form=form, column=column,
                            status=200 if choosing or not form.is_submitted() else 422)


def _current_hint(record, column):
    """What the record holds now, under the input (an ID number masked)."""
    if column is None:
        return None
    value = records.display_value(record, column)
    if not value:
        return _("记录中这一项现在是空的。")
    if column.type == "id_number":
        value = identity.mask_id(value)
    return _("记录中现在是「%(value)s」。", value=value)


@bp.get("/corrections")
def corrections():
    requests = correction_service.for_account(current_user)
    labels = {key: {c.attr: c for c in kind.columns} for key, kind in KINDS.items()}
    return render_component("records/corrections.html", "records/_corrections.html",
                            requests=requests, labels=labels, kinds=KINDS)


@bp.get("/corrections/<int:request_id>/evidence")
def evidence(request_id):
    correction = get_object_or_404(CorrectionRequest, CorrectionRequest.id == request_id,
                                   CorrectionRequest.account == current_user.id)
    return send_private_file(correction.evidence_path, max_age=3600, as_attachment=True)


@bp.route("/bind", methods=["GET", "POST"])
@limit_posts("RATELIMIT_CHECK_CODE")
def bind():
    form = RecordBindForm()
    form.school.choices = [(name, name) for name in binding.school_names(settings())]
    early = False
    if form.validate_on_submit():
        try:
            record = binding.bind_by_certificate(
                current_user, form.kind.data, form.certificate_number.data, int(form.year.data),
                form.school.data, config={**current_app.config, **settings()}, ip=client_ip(),
                postman=postman())
        except binding.BindingError as error:
            form_error(form, error, "certificate_number")
            early = isinstance(error, binding.TooEarly)
        else:
            flash(_("绑定成功，这条%(kind)s记录已加入你的档案。", kind=label_for(KINDS[form.kind.data])), "info")
            return leave_to(url_for(".detail", kind_key=form.kind.data, record_id=record.id))
    if request.method == "GET":
        early = binding.only_before(current_user, settings()["ELIGIBLE_SINCE_YEAR"])
    return render_component("records/bind.html", "records/_bind.html", form=form, early=early,
                            status=422 if form.is_submitted() else 200)
