"""获取校验码 and 校验码: one pair of views for every flow that checks a code.

`add_code_views` registers `<prefix>_send` and `<prefix>_check` on a
blueprint. The blueprint's `CodeSteps` says how to find the challenge this
session may use, how to show the code step, and what follows a right code;
each callable gets the URL's values (e.g. `flow` for /recover/<flow>/send).
"""
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, current_app, flash
from flask_babel import gettext as _

from forms import CodeCheckForm, CodeSendForm
from models import Challenge
from services import challenges
from services.codes import CodeError
from services.errors import ServiceError
from services.messaging import MessagingError
from views import client_ip, form_error, limit_posts, postman


@dataclass(frozen=True)
class CodeSteps:
    find: Callable[..., Challenge | None]      # the challenge, if this session may post now
    lost: Callable[..., Response]              # no such challenge: where to go instead
    # (challenge, send_form, check_form, status) -> the code step
    render: Callable[..., Response]
    sent: Callable[..., str]                   # (masked destination) -> the notice after a send
    passed: Callable[..., Response]            # (challenge) -> what follows a right code


def add_code_views(bp: Blueprint, steps: CodeSteps, *, send_rule: str, check_rule: str,
                   prefix: str = "code") -> None:

    def send(**values):
        challenge = steps.find(**values)
        if challenge is None:
            return steps.lost(**values)
        form, check_form = CodeSendForm(), CodeCheckForm(formdata=None)
        status = 422
        if form.validate_on_submit():
            try:
                shown_to = challenges.send_code(challenge, form.channel.data,
                                                postman=postman(), ip=client_ip())
            except CodeError as error:
                form_error(check_form, error, "code")
                # Over the hourly limit: come back later, not in a minute.
                status = 429 if error.retry_after > 60 else 422
            except ServiceError as error:
                form_error(form, error)
            except MessagingError:
                current_app.logger.exception("sending a %s code failed", challenge.purpose)
                form_error(check_form, _("校验码发送失败，请稍后再试。"), "code")
                status = 503
            else:
                flash(steps.sent(shown_to, **values), "info")
                status = 200
        return steps.render(challenge, form, check_form, status, **values)

    def check(**values):
        challenge = steps.find(**values)
        if challenge is None:
            return steps.lost(**values)
        form = CodeCheckForm()
        if form.validate_on_submit():
            try:
                challenges.check_code(challenge, form.code.data)
            except ServiceError as error:
                form_error(form, error, "code")
            else:
                return steps.passed(challenge, **values)
        # The channel chosen stays chosen.
        return steps.render(challenge, CodeSendForm(), form, 422, **values)

    for rule, view, limit in ((send_rule, send, "RATELIMIT_SEND_CODE"),
                              (check_rule, check, "RATELIMIT_CHECK_CODE")):
        endpoint = f"{prefix}_{view.__name__}"
        # Flask-Limiter tells decorated views apart by their names.
        view.__name__ = view.__qualname__ = f"{bp.name}_{endpoint}"
        bp.add_url_rule(rule, endpoint, limit_posts(limit)(view), methods=["POST"])
