"""我的报告: online verification reports, issued and managed by their owner."""
from flask import Blueprint, current_app, flash, redirect, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from forms import ReportAlertsForm, ReportCloseForm, ReportExtendForm, ReportIssueForm
from models import Report
from services import pdf as pdf_service
from services import check_alerts, records, reports
from services.qr import qr_path
from services.records import KINDS
from views import (client_ip, form_error, is_htmx, leave_to, limit_posts, record_kind,
                   render_component, report_look, school_keys, send_private_file, settings)

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@login_required
def _signed_in():
    return None


def _month_choices():
    top = min(12, int(settings()["REPORT_MAX_MONTHS"]))
    return [(str(n), ngettext("%(num)s 个月", "%(num)s 个月", n)) for n in range(1, top + 1)]


def _extend_form(**options):
    form = ReportExtendForm(**options)
    form.months.choices = _month_choices()
    return form


def _render_pdf(snapshot):
    return pdf_service.render_report(snapshot, school_keys(), report_look())


@bp.get("/", strict_slashes=False)
def index():
    mine = reports.for_account(current_user)
    return render_component("reports/index.html", "reports/_list.html",
                            items=[(r, status, reports.snapshot_of(r))
                                   for r, status in zip(mine, reports.statuses_of(mine))])


@bp.route("/new/<kind_key>/<int:record_id>", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def new(kind_key, record_id):
    kind = record_kind(kind_key, among=reports.REPORTABLE)
    record = get_object_or_404(kind.model, kind.model.id == record_id,
                               records.visible_to(kind, current_user.id))
    form = ReportIssueForm()
    form.months.choices = _month_choices()
    existing = reports.current_report(kind_key, record.id)
    # The choice of a full or masked ID number, where the report shows the number.
    shows_id = "id_number" not in records.REPORT_HIDDEN.get(kind_key, set())
    if form.validate_on_submit():
        try:
            report = reports.issue(current_user, kind_key, record, form.months.data,
                                   config={**current_app.config, **settings()}, render=_render_pdf, ip=client_ip(),
                                   full_id=shows_id and form.full_id.data)
        except reports.ReportError as error:
            form_error(form, error, "months")
            existing = error.existing or existing
        else:
            if form.alert_checks.data:
                check_alerts.set_alerts(report, True, ip=client_ip())
            flash(_("报告已生成。把在线验证码交给需要查验的单位即可。"), "info")
            return leave_to(url_for(".detail", report_id=report.id))
    # Offered instead when the record already has a valid report; it posts to
    # .extend, so it never reads this request's data.
    extend_form = _extend_form(formdata=None)
    return render_component("reports/new.html", "reports/_new.html", kind=kind, record=record,
                            form=form, existing=existing, extend_form=extend_form,
                            shows_id=shows_id, status=422 if form.is_submitted() else 200)


def _render_detail(report, extend_form, status=200, alerts_form=None):
    verifications = list(report.verifications.order_by(
        reports.Verification.at.desc(), reports.Verification.id.desc()))
    snapshot = reports.snapshot_of(report)
    state = reports.status_of(report)
    # The QR code on screen, for a verifier to scan from the student's phone: only
    # while scanning it leads to the report.
    qr = qr_path(snapshot["verify_url"]) if state == reports.VALID else None
    return render_component("reports/detail.html", "reports/_detail.html", status,
                            report=report, snapshot=snapshot, state=state, qr=qr,
                            extend_form=extend_form, verifications=verifications, kinds=KINDS,
                            alerts_form=alerts_form or ReportAlertsForm(formdata=None))


@bp.get("/<int:report_id>")
def detail(report_id):
    report = get_object_or_404(Report, Report.id == report_id,
                               Report.account == current_user.id)
    return _render_detail(report, _extend_form())


@bp.get("/<int:report_id>/pdf")
def pdf(report_id):
    # Only what the download needs: the snapshot is large and encrypted.
    report = get_object_or_404(Report.select(Report.code, Report.pdf_path),
                               Report.id == report_id, Report.account == current_user.id)
    return send_private_file(report.pdf_path,
                             mimetype="application/pdf", as_attachment=True,
                             download_name=f"report-{report.code}.pdf")


@bp.post("/<int:report_id>/extend")
@limit_posts("RATELIMIT_FORM")
def extend(report_id):
    report = get_object_or_404(Report, Report.id == report_id,
                               Report.account == current_user.id)
    form = _extend_form()
    if form.validate_on_submit():
        try:
            reports.extend(report, form.months.data, config={**current_app.config, **settings()}, ip=client_ip())
        except reports.ReportError as error:
            form_error(form, error, "months")
        else:
            flash(_("有效期已延长至 %(date)s。", date=format_datetime(report.expires_at, "yyyy-MM-dd")), "info")
            return leave_to(url_for(".detail", report_id=report.id))
    return _render_detail(report, form, status=422)


@bp.route("/<int:report_id>/close", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def close(report_id):
    """关闭报告, in two steps: GET shows the confirmation (a page, or the fragment htmx
    swaps in place of the button); only a POST carrying it closes. A POST without
    the confirmation answers 422 with it."""
    report = get_object_or_404(Report, Report.id == report_id,
                               Report.account == current_user.id)
    if reports.status_of(report) != "valid":
        return leave_to(url_for(".detail", report_id=report.id))
    form = ReportCloseForm()
    if form.validate_on_submit():
        reports.close(report, ip=client_ip())
        flash(_("报告已关闭，验证码立即失效。"), "info")
        return leave_to(url_for(".detail", report_id=report.id))
    if form.is_submitted() and not form.errors:
        form.confirm.errors = [_("关闭报告需要确认：请看清下面的说明，再按“确认关闭”。")]
    return render_component("reports/close.html", "reports/_close.html",
                            422 if form.is_submitted() else 200, report=report, form=form,
                            snapshot=reports.snapshot_of(report))


@bp.post("/<int:report_id>/alerts")
@limit_posts("RATELIMIT_FORM")
def alerts(report_id):
    """查验提醒 on or off. htmx gets the switch (reports/_alerts.html) back; a plain
    request a 303 to the report's page, which includes the same switch."""
    report = get_object_or_404(Report, Report.id == report_id,
                               Report.account == current_user.id)
    form = ReportAlertsForm()
    if form.validate_on_submit():
        on = form.alert_checks.data == "on"
        check_alerts.set_alerts(report, on, ip=client_ip())
        notice = (_("查验提醒已开启：有人查验这份报告时会通知你，每小时最多一条。") if on
                  else _("查验提醒已关闭。"))
        if not is_htmx():
            flash(notice, "info")
            return redirect(url_for(".detail", report_id=report.id), 303)
        return render_component("reports/detail.html", "reports/_alerts.html", report=report,
                                alerts_form=ReportAlertsForm(formdata=None), notice=notice)
    return _render_detail(report, _extend_form(formdata=None), status=422, alerts_form=form)
