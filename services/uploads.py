"""Uploaded files, judged by their content rather than their name."""
import io
from pathlib import PurePosixPath

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader

PHOTO_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
# An uploaded photo or scan (appeal, evidence) above this is refused before it is
# decoded: 50 megapixels is more than any phone camera's normal photo, while a
# 48 KB PNG can claim 20000 x 20000 (a decompression bomb).
MAX_UPLOAD_PIXELS = 50_000_000
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def too_many_pixels(data: bytes, max_pixels: int = MAX_UPLOAD_PIXELS) -> bool:
    """Whether `data` is an image whose header claims more than `max_pixels`.

    Only the header is read (Pillow decodes nothing on open); something that is
    not an image at all is False here and left to image_format."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except _BOMB:
        return True
    except Exception:  # not an image, or a damaged one: image_format decides
        return False
    return width * height > max_pixels


def image_format(data: bytes):
    """Pillow's name for the image format ("JPEG", "PNG", …), or None for a non-image
    or one that claims too many pixels (check too_many_pixels first for a clear message)."""
    if too_many_pixels(data):
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, *_BOMB):
        return None
    return found


def pdf_problem(data: bytes):
    """None for a PDF that parses (at least one page, not encrypted), else "encrypted"
    or "invalid": a file that merely starts with %PDF- is not a document."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return "encrypted"
        if len(reader.pages) < 1:
            return "invalid"
        for page in reader.pages:
            page.mediabox  # noqa: B018 (reading it parses the page)
    except Exception:  # pypdf raises many kinds of errors for a damaged file
        return "invalid"
    return None


def basename(name: str) -> str:
    """The file's own name, without the folders a browser or a ZIP entry may put before it."""
    return PurePosixPath(name.replace("\\", "/")).name

