"""Every character of a name is drawn in the report PDF, whatever the font subsetting
keeps: rare CJK characters (Extension B too) and a minority name with ·; and the
PDF, photo and all, still verifies on /verify/pdf."""
import io
import re
import subprocess  # nosec B404 # pdftotext (poppler-utils), fixed arguments
import tempfile

import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader

from models import Report, Verification
from services import files

RARE_NAME = "爨龘𠈌齉靐䶮𠮷" * 3          # U+2020C and U+20BB7 are outside the BMP
MINORITY_NAME = "阿依古丽·买买提艾力"


def text(response):
    return response.get_data(as_text=True)


def glyphs_drawn(pdf: bytes) -> dict:
    """{character: CID} for every character the page's fonts draw with a real glyph:
    the CID from the font's ToUnicode map, kept only if the embedded font has an
    outline for it (a dropped glyph would be .notdef, CID 0, or an empty glyph)."""
    drawn = {}
    for font in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        has_outline = _outlines(descriptor)
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        for cid, character in _to_unicode(cmap):
            if cid and has_outline(cid):
                drawn[character] = cid
    return drawn


DRAWING = {"rlineto", "rrcurveto", "hlineto", "vlineto", "rcurveline", "rlinecurve",
           "hhcurveto", "vvcurveto", "hvcurveto", "vhcurveto"}


def _outlines(descriptor):
    """cid -> whether the embedded font program draws something for it."""
    if "/FontFile3" in descriptor and \
            descriptor["/FontFile3"].get_object().get("/Subtype") == "/CIDFontType0C":
        fonts = CFFFontSet()
        fonts.decompile(io.BytesIO(descriptor["/FontFile3"].get_object().get_data()), None)
        top = fonts[fonts.fontNames[0]]

        def by_cid(cid):
            name = f"cid{cid:05d}"
            if name not in top.charset:
                return False
            charstring = top.CharStrings[name]
            charstring.decompile()
            return bool(DRAWING & set(map(str, charstring.program)))
        return by_cid
    # Any other font (WeasyPrint's own subsets, a fallback font): glyph id = CID.
    program = (descriptor.get("/FontFile2") or descriptor.get("/FontFile3")).get_object()
    ttfont = TTFont(io.BytesIO(program.get_data()))
    order = ttfont.getGlyphOrder()

    def by_gid(cid):
        if cid >= len(order):
            return False
        if "glyf" in ttfont:
            return ttfont["glyf"][order[cid]].numberOfContours != 0
        charstring = ttfont["CFF "].cff.topDictIndex[0].CharStrings[order[cid]]
        charstring.decompile()
        return bool(DRAWING & set(map(str, charstring.program)))
    return by_gid


def _to_unicode(cmap: str):
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            yield int(code, 16), bytes.fromhex(target).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for first, last, target in re.findall(
                r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = bytes.fromhex(target).decode("utf-16-be")
            for offset in range(int(last, 16) - int(first, 16) + 1):
                yield int(first, 16) + offset, chr(ord(start[-1]) + offset)


def pdftotext(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run(["pdftotext", "-enc", "UTF-8", handle.name, "-"],  # nosec B603 B607
                              check=True, capture_output=True).stdout.decode("utf-8")


@pytest.fixture
def photo_path(app, db):
    jpeg = io.BytesIO()
    Image.new("RGB", (300, 400), (90, 120, 160)).save(jpeg, "JPEG")
    return files.put("photos/diploma/1.jpg", jpeg.getvalue())


@pytest.mark.parametrize("name", [RARE_NAME, MINORITY_NAME])
def test_every_character_of_a_name_is_drawn_and_the_pdf_verifies(
        app, client, login, make_account, make_record, photo_path, db, name):
    owner = make_account(username="zhang@example.edu.cn", real_name=name)
    login("zhang@example.edu.cn")
    record = make_record("diploma", account=owner.id, name=name, photo=photo_path)
    response = client.post(f"/reports/new/diploma/{record.id}", data={"months": "3"})
    assert response.status_code == 303, text(response)
    report = Report.get()
    pdf = client.get(f"/reports/{report.id}/pdf").data
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1

    drawn = glyphs_drawn(pdf)
    missing = [c for c in set(name) if c not in drawn]
    assert not missing, missing
    assert name in pdftotext(pdf).replace("\n", "")

    for headers in ({}, {"HX-Request": "true"}):
        checked = app.test_client().post("/verify/pdf", headers=headers,
                                         data={"pdf": (io.BytesIO(pdf), "r.pdf")},
                                         content_type="multipart/form-data")
        assert checked.status_code == 200 and "签名有效" in text(checked)
    assert Verification.select().where(Verification.channel == "pdf").count() == 2
