"""Uploaded files, judged by their content rather than their name."""
import io

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
