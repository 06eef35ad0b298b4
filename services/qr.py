"""A QR code as SVG path data, for drawing it inline on a page (the student's report
page shows the code a verifier scans from the phone).

The page's template writes the <svg> itself (its size, role, label, colours as
attributes: the Content-Security-Policy allows no inline styles); this module
only turns the URL into the modules to draw.
"""
from dataclasses import dataclass

import segno

# The quiet zone readers need around the code, in modules (ISO/IEC 18004).
BORDER = 4


@dataclass(frozen=True)
class QrPath:
    size: int  # modules per side, quiet zone included: the viewBox is 0 0 size size
    d: str  # stroke-width 1 lines through the middle of each row of dark modules


def qr_path(text: str, error: str = "m") -> QrPath:
    """`text` as a QR code: each run of dark modules in a row is one horizontal
    line, the first of a row from an absolute move, the others relative."""
    code = segno.make(text, error=error)
    size = code.symbol_size(border=BORDER)[0]
    parts = []
    for y, row in enumerate(code.matrix_iter(border=BORDER)):
        pen = None  # where the last line of this row ended
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            move = f"M{start} {y}.5" if pen is None else f"m{start - pen} 0"
            parts.append(f"{move}h{x - start}")
            pen = x
    return QrPath(size=size, d="".join(parts))
