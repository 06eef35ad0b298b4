"""services.uploads: a file is what its content says, not its name."""
import io

from PIL import Image

from services import uploads


def encoded(kind):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, kind)
    return buffer.getvalue()


def test_real_images_are_recognised():
    assert uploads.image_format(encoded("JPEG")) == "JPEG"
    assert uploads.image_format(encoded("PNG")) == "PNG"
    assert uploads.image_format(encoded("GIF")) == "GIF"


def test_everything_else_is_not_an_image():
    for data in (b"", b"%PDF-1.4", b"\x89PNG\r\n\x1a\n truncated", encoded("PNG")[:40]):
        assert uploads.image_format(data) is None
