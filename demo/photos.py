"""Placeholder photos (plain colour and initials) for the three people's records."""
import io

from PIL import Image, ImageDraw, ImageFont

from demo.people import DEMO_PEOPLE, ZHANG_WEI, ZHANG_WEI_OLD_DIPLOMA
from models import Diploma, Enrollment
from services import files
from services.records import kind_of

PHOTO_COLORS = {"LH": (70, 110, 160), "ZW": (120, 90, 60), "MA": (60, 130, 100)}


def placeholder_photo(initials: str) -> bytes:
    """A 120x160 JPEG (3:4) of one plain colour with the initials, about 2 KB."""
    image = Image.new("RGB", (120, 160), PHOTO_COLORS.get(initials, (110, 110, 110)))
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=40)
    except (TypeError, OSError):
        font = ImageFont.load_default()
    draw.text((60, 80), initials, fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70, optimize=True)
    return out.getvalue()


def _photo_records():
    """(record, initials) for the enrollments and diplomas of the three people."""
    for person in DEMO_PEOPLE:
        for model in (Enrollment, Diploma):
            for record in model.select().where(model.id_number.matches(person.id_number)):
                if record.name == person.name:
                    yield record, person.initials
    old = Diploma.get_or_none(
        Diploma.certificate_number == ZHANG_WEI_OLD_DIPLOMA["certificate_number"])
    if old is not None:
        yield old, ZHANG_WEI.initials


def write() -> int:
    """Store the photos that are missing (services.files) and link them; the number written."""
    written = 0
    for record, initials in _photo_records():
        name = f"photos/{kind_of(record).key}/{record.id}.jpg"
        if not files.exists(name):
            files.put(name, placeholder_photo(initials), "image/jpeg")
            written += 1
        if record.photo != name:
            type(record).update(photo=name).where(type(record).id == record.id).execute()
    return written
