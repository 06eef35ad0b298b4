"""services.photos: photo ZIPs imported with the records, good and bad, and the guards."""
import io
import zipfile

import pytest
from PIL import Image

from models import Diploma, Enrollment
from services import files, photos
from services.columns import KINDS
from tests.factories import aid, csv_bytes, diploma, enrollment, image_bytes, rejected, resident_id, zip_bytes


def test_photos_are_resized_stored_and_linked(run):
    rows = [enrollment(), enrollment(学号="2019002")]
    photo_zip = zip_bytes({"photos/2019001.jpg": image_bytes(size=(3000, 2000)),
                           "2019002.PNG": image_bytes("PNG", mode="RGBA"),
                           "__MACOSX/._2019001.jpg": b"junk"})
    result = run("enrollment", csv_bytes(rows), photos_zip=photo_zip)
    assert result.photos == 2
    for number in ("2019001", "2019002"):
        record = Enrollment.get(Enrollment.student_number == number)
        assert record.photo == f"photos/enrollment/{record.id}.jpg"
        stored = files.read(record.photo)
        assert len(stored) <= photos.MAX_JPEG_BYTES
        with Image.open(io.BytesIO(stored)) as image:
            assert (image.format, image.size) == ("JPEG", (120, 160))
    # The same photos again change nothing.
    assert run("enrollment", csv_bytes(rows), photos_zip=photo_zip).photos == 0


def test_photos_for_records_already_in_the_database(run):
    run("diploma", csv_bytes([diploma()]))
    other = diploma(证书编号="104461201905004221", 证件号码=resident_id("19800506", 126, "440305"))
    photo_zip = zip_bytes({"104461201905004220.jpg": image_bytes()})
    assert run("diploma", csv_bytes([other]), photos_zip=photo_zip).photos == 1
    assert Diploma.get(Diploma.certificate_number == "104461201905004220").photo.startswith("photos/diploma/")


def test_bad_photos_are_refused_and_nothing_is_written(run, tmp_path):
    photo_zip = zip_bytes({"2019001.jpg": b"not an image",
                           "2019009.jpg": image_bytes(),
                           "../../escape.jpg": image_bytes(),
                           "notes.txt": b"hello",
                           "2019001.png": image_bytes("PNG")})
    errors = rejected(run, "enrollment", csv_bytes([enrollment()]), photos_zip=photo_zip)
    assert errors == [
        "「录取照片」：「2019001.jpg」不是有效的图片，或图片已损坏。",
        "「录取照片」：「notes.txt」不是 JPEG 或 PNG 照片（文件名应为学号加 .jpg 或 .png）。",
        "「录取照片」：「2019001.png」与「2019001.jpg」是同一学号的照片。",
        "「录取照片」：「2019009.jpg」：文件和数据库中都没有学号为 2019009 的记录。",
        "「录取照片」：「escape.jpg」：文件和数据库中都没有学号为 escape 的记录。",
    ]
    assert Enrollment.select().count() == 0
    assert not (tmp_path / "escape.jpg").exists() and files.count() == (0, 0)


def test_traversal_names_only_use_the_basename(run, tmp_path):
    photo_zip = zip_bytes({"../../2019001.jpg": image_bytes()})
    assert run("enrollment", csv_bytes([enrollment()]), photos_zip=photo_zip).photos == 1
    record = Enrollment.get()
    assert files.exists(f"photos/enrollment/{record.id}.jpg")
    assert not (tmp_path / "2019001.jpg").exists()


def test_zip_bombs_and_non_zips_are_refused(run, monkeypatch):
    data = csv_bytes([enrollment()])
    assert rejected(run, "enrollment", data, photos_zip=b"not a zip") == [
        "「录取照片」：照片压缩包不是有效的 ZIP 文件。"]
    monkeypatch.setattr(photos, "MAX_ENTRIES", 2)
    many = zip_bytes({f"{n}.jpg": b"x" for n in range(3)})
    assert "文件过多" in rejected(run, "enrollment", data, photos_zip=many)[0]
    monkeypatch.setattr(photos, "MAX_TOTAL_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2019001.jpg", b"\0" * 100_000)
    assert rejected(run, "enrollment", data, photos_zip=buffer.getvalue()) == [
        "「录取照片」：照片压缩包解压后过大。"]


def test_kinds_without_photos_refuse_a_zip(run):
    errors = rejected(run, "aid", csv_bytes([aid()]), photos_zip=zip_bytes({"a.jpg": image_bytes()}))
    assert errors == ["资助记录没有照片，请不要附带照片压缩包。"]


# --- one photo, one archive -------------------------------------------------------

def test_small_jpeg_crops_to_three_by_four():
    for raw in (image_bytes(size=(3000, 2000)), image_bytes("PNG", size=(90, 90), mode="RGBA")):
        with Image.open(io.BytesIO(photos.small_jpeg(raw))) as image:
            assert (image.format, image.size) == ("JPEG", photos.SIZE)


@pytest.mark.parametrize("raw, message", [
    (b"not an image", "不是有效的图片，或图片已损坏。"),
    (image_bytes("GIF"), "不是 JPEG 或 PNG 图片。"),
])
def test_small_jpeg_refuses_what_is_not_a_photo(raw, message):
    with pytest.raises(photos.PhotoError, match=message):
        photos.small_jpeg(raw)


def test_small_jpeg_refuses_too_many_pixels(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PIXELS", 100 * 100)
    with pytest.raises(photos.PhotoError, match="像素过多"):
        photos.small_jpeg(image_bytes(size=(101, 100)))


def test_read_zip_looks_up_the_database_only_when_asked():
    archive = zip_bytes({"2019009.jpg": image_bytes()})
    found, problems = photos.read_zip(KINDS["enrollment"], archive, set(), check_database=False)
    assert list(found) == ["2019009"] and problems == []
