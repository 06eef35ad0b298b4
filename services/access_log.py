"""gunicorn's access log without report codes.

A report code is what lets anyone read a person's record, and the QR code puts
it in the URL: `/verify/<code>`, `/verify/<code>/pdf`, `/api/v1/reports/<code>`.
The access log keeps the first 4 characters (enough to tell requests apart) and
masks the rest, wherever a URL appears (request line, path, referer, headers).

    gunicorn --access-logfile - --logger-class services.access_log.MaskedLogger ...

No Flask here: gunicorn loads this class before the app.
"""
import re

from gunicorn.glogging import Logger

# The segment after /verify/ or /api/v1/reports/, except the fixed pages under /verify/
# (and the batch pages, whose result token after /verify/batch/ is masked like a code).
_CODE_IN_URL = re.compile(
    r"(/verify/batch/|/verify/|/api/v1/reports/)"
    r"(?!(?:pdf|certificate|batch)(?:[/?#\s\"]|$))"
    r"([^/?#\s\"]{1,4})[^/?#\s\"]*")


def mask(text: str) -> str:
    """`text` with every report code in a URL cut to its first 4 characters + ****."""
    return _CODE_IN_URL.sub(r"\1\2****", text)


class MaskedLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask(value) if isinstance(value, str) else value
                for key, value in atoms.items()}
