"""The one error type services raise when a rule is broken.

`field` names the form field the message belongs beside (None: the form as a
whole); views put it there with `views.form_error`.
"""


class ServiceError(ValueError):
    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field
