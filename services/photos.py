"""Record photos: a ZIP of JPEG/PNG files named after the records, each cropped
to a 120x160 JPEG of at most 15 KB and stored as photos/<kind>/<record id>.jpg
(services.files: in the database).

Enrollment photos are named by 学号, diploma photos by 证书编号. The ZIP comes
from the registrar but is read as if it came from anyone: a zip bomb or a name
like "../../x.jpg" must not fill the disk or name another file.
"""
import hashlib
import io
import secrets
import unicodedata
import zipfile
import zlib

from peewee import chunked
from PIL import Image, ImageOps

from models import utcnow
from services import files, identity, uploads
from services.columns import Kind
from services.errors import ServiceError

MAX_ENTRIES = 20_000
MAX_ENTRY_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
# Checked on the header, before decoding: a 120x160 ID photo needs far less, and a
# 40-megapixel photo took ~0.4 s to decode (20000 photos: over two hours).
MAX_PIXELS = 12_000_000
SIZE = (120, 160)
MAX_JPEG_BYTES = 15 * 1024
# SQLite's old limit on bound variables is 999 per statement.
LOOKUP_CHUNK = 900

# kind -> (the stored field a photo's name matches, the column that field comes from)
_NAMED_BY = {"enrollment": ("student_number", "学号"), "diploma": ("certificate_key", "证书编号")}


class PhotoError(ServiceError):
    """One photo cannot be used; str(error) says why."""


def read_zip(kind: Kind, data: bytes, in_file: set, check_database: bool = True):
    """(photo key -> small JPEG, [problem]) for a ZIP of photos named after records.

    `in_file` holds the keys of the records about to be imported; a photo
    named after none of them must name exactly one stored record, which is
    looked up only when `check_database`. A problem with the whole archive
    leaves no photos; a problem with one photo leaves that photo out.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile:
        return {}, ["照片压缩包不是有效的 ZIP 文件。"]
    # Hidden files and macOS resource forks are not photos.
    entries = [info for info in entries if not uploads.basename(info.filename).startswith(".")
               and not info.filename.startswith("__MACOSX/")]
    if len(entries) > MAX_ENTRIES:
        return {}, [f"照片压缩包内文件过多（{len(entries)} 个，上限 {MAX_ENTRIES}）。"]
    if sum(info.file_size for info in entries) > MAX_TOTAL_BYTES:
        return {}, ["照片压缩包解压后过大。"]

    header = _NAMED_BY[kind.key][1]
    photos, names, problems, total = {}, {}, [], 0
    for info in entries:
        # Only the file's own name counts: folders and "../" in the zip are ignored.
        name = uploads.basename(info.filename)
        stem, _, suffix = name.rpartition(".")
        if suffix.lower() not in ("jpg", "jpeg", "png") or not stem:
            problems.append(f"「{name}」不是 JPEG 或 PNG 照片（文件名应为{header}加 .jpg 或 .png）。")
            continue
        key = _key(kind, stem)
        if key is None:
            problems.append(f"「{name}」的文件名不是有效的{header}。")
            continue
        if key in names:
            problems.append(f"「{name}」与「{names[key]}」是同一{header}的照片。")
            continue
        names[key] = name
        try:
            with archive.open(info) as handle:
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error):
            problems.append(f"「{name}」无法解压（压缩包损坏或已加密）。")
            continue
        total += len(raw)
        if len(raw) > MAX_ENTRY_BYTES or total > MAX_TOTAL_BYTES:
            problems.append(f"「{name}」过大。")
            continue
        try:
            photos[key] = small_jpeg(raw)
        except PhotoError as error:
            problems.append(f"「{name}」{error}")
    missing = {key: names[key] for key in photos if key not in in_file}
    if missing and check_database:
        problems += _unmatched(kind, missing)
    return photos, problems


def key_field(kind: Kind) -> str:
    """The stored field (and the value in an import row) that a photo's name matches."""
    return _NAMED_BY[kind.key][0]


def _key(kind: Kind, stem: str):
    text = unicodedata.normalize("NFKC", stem).strip()
    if kind.key == "diploma":
        try:
            return identity.certificate_key(text)
        except identity.IdentityError:
            return None
    return text or None


def _unmatched(kind: Kind, names: dict) -> list:
    """Problems for the photos (key -> file name) that name no stored record, or several."""
    model = kind.model
    field = model._meta.fields[key_field(kind)]
    header = _NAMED_BY[kind.key][1]
    counts = {}
    for chunk in chunked(list(names), LOOKUP_CHUNK):
        for (value,) in model.select(field).where(field.in_(chunk)).tuples():
            counts[value] = counts.get(value, 0) + 1
    problems = []
    for key, name in names.items():
        if not counts.get(key):
            problems.append(f"「{name}」：文件和数据库中都没有{header}为 {key} 的记录。")
        elif counts[key] > 1:
            problems.append(f"「{name}」：数据库中有多条{header}为 {key} 的记录。")
    return problems


def small_jpeg(raw: bytes) -> bytes:
    """A 120x160 JPEG (cropped to 3:4) of at most MAX_JPEG_BYTES."""
    if uploads.too_many_pixels(raw, MAX_PIXELS):
        raise PhotoError(f"像素过多（上限 {MAX_PIXELS // 1_000_000} 百万像素），不像是证件照。")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in uploads.PHOTO_EXTENSIONS:
                raise PhotoError("不是 JPEG 或 PNG 图片。")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(f"像素过多（上限 {MAX_PIXELS // 1_000_000} 百万像素），不像是证件照。")
            # A JPEG is decoded at the smallest scale still at least twice 120x160.
            image.draft("RGB", (SIZE[0] * 2, SIZE[1] * 2))
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, "white")
                background.paste(image, mask=image.getchannel("A"))
                image = background
            image = ImageOps.fit(image.convert("RGB"), SIZE, Image.Resampling.LANCZOS)
    except PhotoError:
        raise
    except Exception:  # Pillow raises many kinds of errors for a damaged image
        raise PhotoError("不是有效的图片，或图片已损坏。") from None
    for quality in range(85, 4, -10):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_JPEG_BYTES:
            break
    return buffer.getvalue()


def store(kind: Kind, photos: dict) -> int:
    """Link each photo (key -> JPEG) to its records; the number of photos that changed.

    Call it inside the import's transaction: the photos (photos/<kind>/<id>.jpg in
    services.files) are written with the records or not at all. A record whose
    photo had another name (a photo saved on its edit page) loses that file."""
    if not photos:
        return 0
    model = kind.model
    field = model._meta.fields[key_field(kind)]
    now, stored = utcnow(), 0
    for chunk in chunked(list(photos), LOOKUP_CHUNK):
        rows = list(model.select(model.id, field, model.photo).where(field.in_(chunk)).tuples())
        names = {record_id: f"photos/{kind.key}/{record_id}.jpg" for record_id, _, _ in rows}
        digests = files.digests(names.values())
        for record_id, key, current in rows:
            name = names[record_id]
            if current == name and digests.get(name) == hashlib.sha256(photos[key]).hexdigest():
                continue
            files.put(name, photos[key], "image/jpeg")
            model.update(photo=name, updated_at=now).where(model.id == record_id).execute()
            if current and current != name:
                remove(current)
            stored += 1
    return stored


def store_one(kind: Kind, record_id: int, jpeg: bytes) -> str:
    """Store one record's photo (a small_jpeg) under a name of its own; the name.

    A new name each time: the caller points the record at it in the same
    transaction and then removes the old one (`remove`)."""
    return files.put(f"photos/{kind.key}/{record_id}-{secrets.token_hex(6)}.jpg", jpeg, "image/jpeg")


def remove(name: str | None) -> None:
    """Delete a stored record photo (a name under photos/); anything else is left alone."""
    if name and name.startswith("photos/"):
        files.delete(name)
