"""我的报告: online verification reports, issued and managed by their owner."""
from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from forms import ReportExtendForm, ReportIssueForm
from services import pdf, records, reports
from services.records import KINDS
from views import client_ip, leave_to, limit_posts, render_component, school_keys, send_report_pdf

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@login_required
def _signed_in():
    return None


def _month_choices():
    top = min(12, int(current_app.config["REPORT_MAX_MONTHS"]))
    return [(str(n), ngettext("%(num)s 个月", "%(num)s 个月", n)) for n in range(1, top + 1)]


def _report_or_404(report_id):
    report = reports.owned(report_id, current_user.id)
    if report is None:
        abort(404)
    return report


def _record_or_404(kind_key, record_id):
    if kind_key not in reports.REPORTABLE:
        abort(404)
    record = records.owned(KINDS[kind_key], record_id, current_user.id)
    if record is None:
        abort(404)
    return record


def _render_pdf(snapshot):
    return pdf.render_report(snapshot, school_keys())


@bp.get("/", strict_slashes=False)
def reports_index():
    return render_component("reports/index.html", "reports/_list.html",
                            items=[(r, reports.status_of(r), reports.snapshot_of(r))
                                   for r in reports.for_account(current_user)])


@bp.route("/new/<kind_key>/<int:record_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def reports_new(kind_key, record_id):
    record = _record_or_404(kind_key, record_id)
    kind = KINDS[kind_key]
    form = ReportIssueForm() if request.method == "POST" else ReportIssueForm(formdata=None)
    form.months.choices = _month_choices()
    existing = reports.current_report(kind_key, record.id)
    status = 200
    if request.method == "POST" and form.validate():
        try:
            report = reports.issue(current_user, kind_key, record, form.months.data,
                                   config=current_app.config, render=_render_pdf, ip=client_ip())
        except reports.ReportError as error:
            form.months.errors = [str(error)]
            existing = error.existing or existing
            status = 422
        else:
            flash(_("报告已生成。把在线验证码交给需要查验的单位即可。"), "info")
            return leave_to(url_for("reports.reports_detail", report_id=report.id))
    extend_form = ReportExtendForm(formdata=None)
    extend_form.months.choices = _month_choices()
    return render_component("reports/new.html", "reports/_new.html", status, kind=kind,
                            record=record, form=form, existing=existing, extend_form=extend_form)


def _render_detail(report, extend_form=None, status=200):
    if extend_form is None:
        extend_form = ReportExtendForm(formdata=None)
        extend_form.months.choices = _month_choices()
    verifications = list(report.verifications.order_by(
        reports.Verification.at.desc(), reports.Verification.id.desc()))
    return render_component("reports/detail.html", "reports/_detail.html", status,
                            report=report, snapshot=reports.snapshot_of(report),
                            state=reports.status_of(report), extend_form=extend_form,
                            verifications=verifications, kinds=KINDS)


@bp.get("/<int:report_id>")
def reports_detail(report_id):
    return _render_detail(_report_or_404(report_id))


@bp.get("/<int:report_id>/pdf")
def reports_pdf(report_id):
    report = _report_or_404(report_id)
    return send_report_pdf(report)


@bp.post("/<int:report_id>/extend")
@limit_posts("RATELIMIT_FORM")
def reports_extend(report_id):
    report = _report_or_404(report_id)
    form = ReportExtendForm()
    form.months.choices = _month_choices()
    try:
        reports.extend(report, form.months.data, config=current_app.config, ip=client_ip())
    except reports.ReportError as error:
        form.months.errors = [str(error)]
        return _render_detail(report, form, 422)
    flash(_("有效期已延长至 %(date)s。", date=report.expires_at.strftime("%Y-%m-%d")), "info")
    return leave_to(url_for("reports.reports_detail", report_id=report.id))


@bp.post("/<int:report_id>/close")
@limit_posts("RATELIMIT_FORM")
def reports_close(report_id):
    report = _report_or_404(report_id)
    reports.close(report, ip=client_ip())
    flash(_("报告已关闭，验证码立即失效。"), "info")
    return leave_to(url_for("reports.reports_detail", report_id=report.id))

