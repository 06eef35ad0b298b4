"""Uploaded files, judged by their content rather than their name."""
import io
from pathlib import PurePosixPath

from PIL import Image, UnidentifiedImageError

PHOTO_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


def image_format(data: bytes):
    """Pillow's name for the image format ("JPEG", "PNG", …), or None for a non-image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return found


def basename(name: str) -> str:
    """The file's own name, without the folders a browser or a ZIP entry may put before it."""
    return PurePosixPath(name.replace("\\", "/")).name
