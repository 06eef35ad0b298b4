"""我的学信档案: the student's own records, binding, and correction requests.

Another student's record answers 404, exactly like a record that does not exist.
"""
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, request, send_from_directory,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import CorrectionForm, RecordBindForm
from models import CorrectionRequest
from services import binding, corrections, identity, records
from services.columns import KINDS
from views import limit_posts, client_ip, label_for, leave_to, render_component

bp = Blueprint("records", __name__, url_prefix="/records")


@bp.before_request
@login_required
def _signed_in():
    return None


def _kind_or_404(kind_key):
    kind = KINDS.get(kind_key)
    if kind is None:
        abort(404)
    return kind


def _record_or_404(kind, record_id):
    record = records.owned(kind, record_id, current_user.id)
    if record is None:
        abort(404)
    return record


def _private_file(relative_path):
    """Files under the upload folder, never cached by shared caches."""
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    response = send_from_directory(upload_dir, relative_path, max_age=3600)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.get("/", strict_slashes=False)
def records_index():
    sections = [(kind, records.records_of(current_user.id, kind)) for kind in KINDS.values()]
    return render_component("records/index.html", "records/_sections.html", sections=sections)


@bp.get("/<kind_key>/<int:record_id>")
def records_detail(kind_key, record_id):
    kind = _kind_or_404(kind_key)
    record = _record_or_404(kind, record_id)
    rows = []
    for column in kind.columns:
        value = records.display_value(record, column)
        if column.type == "id_number":
            value = identity.mask_id(value)
        rows.append((column, value))
    return render_component("records/detail.html", "records/_detail.html", kind=kind,
                            record=record, rows=rows,
                            pending=corrections.pending_fields(kind, record))


@bp.get("/<kind_key>/<int:record_id>/photo")
def records_photo(kind_key, record_id):
    kind = _kind_or_404(kind_key)
    record = _record_or_404(kind, record_id)
    if not getattr(record, "photo", None):
        abort(404)
    return _private_file(record.photo)


def _correction_form(kind, record, formdata=True):
    form = CorrectionForm() if formdata else CorrectionForm(formdata=None)
    pending = corrections.pending_fields(kind, record)
    form.field.choices = [(column.attr, label_for(column)) for column in kind.columns
                          if column.attr not in pending]
    if not formdata and request.args.get("field"):
        form.field.data = request.args["field"]
    return form


@bp.route("/<kind_key>/<int:record_id>/correct", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def records_correct(kind_key, record_id):
    kind = _kind_or_404(kind_key)
    record = _record_or_404(kind, record_id)
    if request.method == "GET":
        form = _correction_form(kind, record, formdata=False)
        return render_component("records/correct.html", "records/_correct.html",
                                kind=kind, record=record, form=form)
    form = _correction_form(kind, record)
    if form.validate():
        upload = request.files.get(form.evidence.name)
        try:
            corrections.file_request(
                current_user, kind, record, form.field.data, form.proposed_value.data,
                form.reason.data, upload.read() if upload else None,
                upload_dir=current_app.config["UPLOAD_DIR"],
                max_bytes=current_app.config["APPEAL_PHOTO_MAX_BYTES"], ip=client_ip())
        except corrections.CorrectionError as error:
            getattr(form, error.field).errors = [str(error)]
        else:
            flash(_("更正申请已提交，学校处理后会在“我的更正申请”中答复。记录在处理前保持不变。"), "info")
            return leave_to(url_for("records.records_corrections"))
    return render_component("records/correct.html", "records/_correct.html", 422,
                            kind=kind, record=record, form=form)


@bp.get("/corrections")
def records_corrections():
    requests = corrections.for_account(current_user)
    labels = {key: {c.attr: c for c in kind.columns} for key, kind in KINDS.items()}
    return render_component("records/corrections.html", "records/_corrections.html",
                            requests=requests, labels=labels, kinds=KINDS)


@bp.get("/corrections/<int:request_id>/evidence")
def records_evidence(request_id):
    correction = CorrectionRequest.get_or_none(CorrectionRequest.id == request_id,
                                               CorrectionRequest.account == current_user.id)
    if correction is None or not correction.evidence_path:
        abort(404)
    return _private_file(correction.evidence_path)


def _bind_form(formdata=True):
    form = RecordBindForm() if formdata else RecordBindForm(formdata=None)
    form.school.choices = [(name, name) for name in binding.school_names(current_app.config)]
    return form


@bp.route("/bind", methods=["GET", "POST"])
@limit_posts("RATELIMIT_CHECK_CODE")
def records_bind():
    if request.method == "GET":
        return render_component("records/bind.html", "records/_bind.html",
                                form=_bind_form(formdata=False))
    form = _bind_form()
    if form.validate():
        try:
            record = binding.bind_by_certificate(
                current_user, form.kind.data, form.certificate_number.data, int(form.year.data),
                form.school.data, config=current_app.config, ip=client_ip())
        except binding.BindingError as error:
            getattr(form, error.field or "certificate_number").errors = [str(error)]
        else:
            flash(_("绑定成功，这条%(kind)s记录已加入你的档案。", kind=label_for(KINDS[form.kind.data])), "info")
            return leave_to(url_for("records.records_detail", kind_key=form.kind.data,
                                    record_id=record.id))
    return render_component("records/bind.html", "records/_bind.html", 422, form=form)
