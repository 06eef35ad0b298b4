"""services.errors: a rule a service enforces is broken with one error type."""
import pytest

from services.accounts import AccountError
from services.appeals import AppealError
from services.binding import BindingError
from services.codes import CodeError
from services.corrections import CorrectionError
from services.errors import ServiceError
from services.identity import IdentityError
from services.recovery import RecoveryError
from services.registration import RegistrationError
from services.reports import ReportError


@pytest.mark.parametrize("error_class", [
    AccountError, AppealError, BindingError, CodeError, CorrectionError, IdentityError,
    RecoveryError, RegistrationError, ReportError])
def test_every_service_error_is_a_service_error(error_class):
    error = error_class("请填写手机号码。", field="phone")
    assert isinstance(error, ServiceError) and isinstance(error, ValueError)
    assert str(error) == "请填写手机号码。" and error.field == "phone"
    assert error_class("请先登录。").field is None


def test_the_extras_stay():
    assert CodeError("稍后再试。", retry_after=60).retry_after == 60
    assert CodeError("稍后再试。").retry_after == 0
    assert ReportError("已有报告。", existing="report").existing == "report"
