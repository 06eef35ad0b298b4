"""The report PDF: render a snapshot to one signed A4 page, and check such a PDF.

The PDF is PDF/A-3b with the snapshot attached as `report.json`, and carries a
PAdES signature by the school's key (services.signing), so a verifier can check
it offline against the school's certificate. No timestamp: there is no TSA.

The photo is in the file once: the page shows the JPEG byte for byte, and
`report.json` names it by its SHA-256 (`photo.jpeg_sha256`) instead of carrying
it again in base64 (16 KB of a 15 KB photo). `check_pdf` puts the JPEG back
into the snapshot, so the snapshot it returns is the one the school stored.
"""
import base64
import datetime
import hashlib
import io
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import cffi
import jinja2
import pydyf
import segno
from fontTools.cffLib import CFFFontSet
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from weasyprint import CSS, HTML, Attachment
from weasyprint.pdf import fonts as weasyprint_fonts
from weasyprint.text.fonts import FontConfiguration

from services.signing import SigningKeys

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "pdf_templates"
SNAPSHOT_NAME = "report.json"
SIGNATURE_FIELD = "SchoolSignature"
# Reports show times in the school's time zone (the TIMEZONE setting).
DEFAULT_TIMEZONE = "Asia/Shanghai"

NOT_PDF = "不是 PDF 文件"
UNSIGNED = "没有数字签名"
TAMPERED = "签名无效或文件被修改过"
NOT_OURS = "不是本校签发的文件"
NO_DATA = "没有附带报告数据"

_environment = None


def _templates() -> jinja2.Environment:
    global _environment
    if _environment is None:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
                                 autoescape=True, undefined=jinja2.StrictUndefined)
        env.filters["grouped"] = _grouped
        env.filters["local_time"] = _local_time
        env.filters["utc_offset"] = _utc_offset
        _environment = env
    return _environment


def _grouped(code: str) -> str:
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def _local(iso: str, zone: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(DEFAULT_TIMEZONE)
    return moment.astimezone(tz)


def _local_time(iso: str, zone: str) -> str:
    return _local(iso, zone).strftime("%Y-%m-%d %H:%M")


def _utc_offset(iso: str, zone: str) -> str:
    """`UTC+8`, `UTC-3:30`, `UTC` for the offset of `zone` at that moment."""
    minutes = int(_local(iso, zone).utcoffset().total_seconds() // 60)
    if not minutes:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def certificate_url(verify_url: str) -> str:
    """`<base>/verify/certificate`, from the report's `<base>/verify/<code>`."""
    base = re.sub(r"/verify/[^/]*$", "", verify_url)
    return f"{base}/verify/certificate"


@dataclass(frozen=True)
class Look:
    """How the school's reports look: its time zone and logo (content type, bytes).
    Not part of the snapshot: they do not change what the report says."""
    timezone: str = DEFAULT_TIMEZONE
    logo: tuple[str, bytes] | None = None

    def logo_uri(self) -> str | None:
        if not self.logo:
            return None
        content_type, data = self.logo
        return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def render_html(snapshot: dict, keys: SigningKeys, look: Look = Look()) -> str:
    photo = snapshot.get("photo")
    qr = segno.make(snapshot["verify_url"], error="m")
    return _templates().get_template("report.html").render(
        s=snapshot,
        photo_uri=f"data:image/jpeg;base64,{photo['jpeg_base64']}" if photo else None,
        qr_uri=qr.svg_data_uri(border=4, dark="#000", light=None),  # 4: the quiet zone readers need
        certificate_url=certificate_url(snapshot["verify_url"]),
        fingerprint=keys.fingerprint_sha256.upper(),
        tz=look.timezone,
        logo_uri=look.logo_uri(),
    )


_stylesheet = None
_stylesheet_lock = threading.Lock()


def _css() -> CSS:
    """report.css, parsed once per process (read-only afterwards, shared by threads)."""
    global _stylesheet
    if _stylesheet is None:
        with _stylesheet_lock:
            if _stylesheet is None:
                _stylesheet = CSS(filename=str(TEMPLATE_DIR / "report.css"))
    return _stylesheet


_per_thread = threading.local()


def _font_config() -> FontConfiguration:
    """One FontConfiguration per thread, kept across reports: WeasyPrint makes a new
    one (a fontconfig set-up and a Pango font map, ~20 % of a report) for every
    document otherwise. Pango's objects are not for sharing between threads."""
    config = getattr(_per_thread, "font_config", None)
    if config is None:
        config = _per_thread.font_config = FontConfiguration()
    return config


def _photo_bytes(snapshot: dict) -> bytes | None:
    photo = snapshot.get("photo")
    if not photo or not photo.get("jpeg_base64"):
        return None
    return base64.b64decode(photo["jpeg_base64"])


def attached_form(snapshot: dict) -> dict:
    """The snapshot as `report.json` carries it: the photo by its SHA-256 (its
    JPEG is the image on the page), everything else as it is."""
    data = _photo_bytes(snapshot)
    if data is None:
        return snapshot
    photo = {k: v for k, v in snapshot["photo"].items() if k != "jpeg_base64"}
    photo["jpeg_sha256"] = hashlib.sha256(data).hexdigest()
    return {**snapshot, "photo": photo}


def _attachment(data: dict) -> Attachment:
    return Attachment(
        string=json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"),
        name=SNAPSHOT_NAME, description="Report data / 报告数据", relationship="Data")


PDF_VARIANT = "pdf/a-3b"


def render_unsigned(snapshot: dict, keys: SigningKeys, look: Look = Look()) -> bytes:
    """The PDF/A-3b page with the snapshot attached, before signing."""
    out = _write(snapshot, keys, look, attached_form(snapshot))
    photo = _photo_bytes(snapshot)
    if photo is not None and photo not in out:
        # WeasyPrint embeds a plain JPEG as it is; had it re-encoded this one,
        # report.json would name a photo the page does not hold: carry it there.
        out = _write(snapshot, keys, look, snapshot)
    return out


def _write(snapshot: dict, keys: SigningKeys, look: Look, attached: dict) -> bytes:
    document = HTML(string=render_html(snapshot, keys, look), base_url=str(TEMPLATE_DIR))
    return document.write_pdf(stylesheets=[_css()], font_config=_font_config(),
                              pdf_variant=PDF_VARIANT,
                              attachments=[_attachment(attached)], finisher=_finish)


# Font compaction. WeasyPrint subsets fonts but keeps every glyph slot up to the
# highest one used (its content streams address glyphs by their original ids),
# so a few hundred Noto CJK glyphs still carry ~60,000 empty CFF entries: 75-170
# KB per font. A CID-keyed CFF maps CIDs to glyphs through its charset, so we can
# drop the empty slots and keep the CIDs the page uses, and embed the bare CFF
# (FontFile3 /CIDFontType0C). HarfBuzz's subsetter (the library WeasyPrint
# itself uses) does this in a millisecond and keeps the CIDs in the charset.

_HB_CDEF = """
typedef ... hb_blob_t; typedef ... hb_face_t; typedef ... hb_set_t;
typedef ... hb_subset_input_t;
typedef uint32_t hb_tag_t; typedef uint32_t hb_codepoint_t;
typedef void (*hb_destroy_func_t) (void *user_data);
hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode,
                            void *user_data, hb_destroy_func_t destroy);
void hb_blob_destroy (hb_blob_t *blob);
const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t * hb_face_reference_table (const hb_face_t *face, hb_tag_t tag);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
hb_subset_input_t * hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t * hb_subset_input_glyph_set (hb_subset_input_t *input);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_HB_MEMORY_MODE_READONLY = 1
_HB_SUBSET_FLAGS = 0x1 | 0x40  # no hinting, keep .notdef outline
_CFF_TAG = (ord("C") << 24) | (ord("F") << 16) | (ord("F") << 8) | ord(" ")
_harfbuzz = None


def _hb():
    """(ffi, libharfbuzz, libharfbuzz-subset), or None where they are missing."""
    global _harfbuzz
    if _harfbuzz is None:
        ffi = cffi.FFI()
        ffi.cdef(_HB_CDEF)
        try:
            _harfbuzz = ffi, ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")
        except OSError:
            _harfbuzz = False
    return _harfbuzz or None


def _cff_table(font_program: bytes) -> bytes | None:
    """The bare CFF table of an OpenType font program, or None."""
    if _hb() is None or not font_program.startswith(b"OTTO"):
        return None
    ffi, hb, _ = _hb()
    source = ffi.from_buffer(font_program)
    blob = hb.hb_blob_create(source, len(font_program), _HB_MEMORY_MODE_READONLY,
                             ffi.NULL, ffi.NULL)
    face = hb.hb_face_create(blob, 0)
    table = hb.hb_face_reference_table(face, _CFF_TAG)
    try:
        length = ffi.new("unsigned int *")
        data = hb.hb_blob_get_data(table, length)
        return ffi.unpack(data, length[0]) if length[0] else None
    finally:
        hb.hb_blob_destroy(table)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


def _subset_cff(font_program: bytes, glyph_ids) -> bytes | None:
    """The bare CFF table of `font_program` keeping only `glyph_ids`, or None."""
    if _hb() is None:
        return None
    ffi, hb, hb_subset = _hb()
    source = ffi.from_buffer(font_program)
    blob = hb.hb_blob_create(source, len(font_program), _HB_MEMORY_MODE_READONLY,
                             ffi.NULL, ffi.NULL)
    face = hb.hb_face_create(blob, 0)
    plan = hb_subset.hb_subset_input_create_or_fail()
    subset = table = ffi.NULL
    try:
        if plan == ffi.NULL:
            return None
        glyphs = hb_subset.hb_subset_input_glyph_set(plan)
        for glyph_id in glyph_ids:
            hb.hb_set_add(glyphs, glyph_id)
        hb_subset.hb_subset_input_set_flags(plan, _HB_SUBSET_FLAGS)
        subset = hb_subset.hb_subset_or_fail(face, plan)
        if subset == ffi.NULL:
            return None
        table = hb.hb_face_reference_table(subset, _CFF_TAG)
        length = ffi.new("unsigned int *")
        data = hb.hb_blob_get_data(table, length)
        return ffi.unpack(data, length[0]) if length[0] else None
    finally:
        if table != ffi.NULL:
            hb.hb_blob_destroy(table)
        if subset != ffi.NULL:
            hb.hb_face_destroy(subset)
        if plan != ffi.NULL:
            hb_subset.hb_subset_input_destroy(plan)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


def _keeps_cids(cff: bytes, glyph_ids, at_most: int | None = None) -> bool:
    """True if `cff` is CID-keyed and still reaches every CID the page uses (and,
    with `at_most`, has no more glyphs than that)."""
    try:
        fonts = CFFFontSet()
        fonts.decompile(io.BytesIO(cff), None)
        top = fonts[fonts.fontNames[0]]
        if not hasattr(top, "ROS"):
            return False
        if at_most is not None and len(top.charset) > at_most:
            return False
        # Ids past the font's CIDs are characters it has no glyph for (WeasyPrint
        # numbers them after the last glyph): they draw .notdef whatever we keep.
        count = getattr(top, "CIDCount", 8720)
        return {f"cid{gid:05d}" for gid in glyph_ids if 0 < gid < count} <= set(top.charset)
    except Exception:  # an unreadable result: keep WeasyPrint's font
        return False


def _reference(value) -> int:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return int(text.split()[0])


def _finish(document, pdf):
    """WeasyPrint finisher: last touches to the PDF before it is written."""
    # WeasyPrint lists the attachment twice in /AF.
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))
    # pyHanko sets the XMP producer to its own name when signing but appends
    # it to an existing /Producer; PDF/A wants the two to agree.
    pdf.info.pop("Producer", None)
    _compact_fonts(pdf.objects)
    _compact_output_intent(pdf)


_srgb_profile = None


def _srgb() -> bytes:
    """A 588-byte sRGB profile (LittleCMS's, as version 4.2: the ICC version
    PDF/A-2 and -3 refer to) instead of WeasyPrint's 3 KB sRGB2014.icc: the same
    colour space, described by its primaries and tone curve instead of tables."""
    global _srgb_profile
    if _srgb_profile is None:
        from PIL import ImageCms
        profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
        profile[8:12] = b"\x04\x20\x00\x00"   # version 4.2.0
        profile[84:100] = bytes(16)               # no profile ID (it would cover the version)
        _srgb_profile = bytes(profile)
    return _srgb_profile


def _compact_output_intent(pdf):
    """The PDF/A output intent's ICC profile: the small sRGB one (see _srgb)."""
    for intent in pdf.catalog.get("OutputIntents", ()):
        stream = pdf.objects[_reference(intent["DestOutputProfile"])]
        if stream.extra.get("N") == 3:
            stream.stream = [_srgb()]


def _compact_fonts(objects):
    """Shrink each embedded CID-keyed CFF font (see above)."""
    for font in objects:
        if not (isinstance(font, dict) and font.get("Subtype") == "/CIDFontType0"
                and "W" in font):
            continue
        descriptor = objects[_reference(font["FontDescriptor"])]
        if "FontFile3" not in descriptor:
            continue
        stream = objects[_reference(descriptor["FontFile3"])]
        if stream.extra.get("Subtype") != "/OpenType":
            continue
        widths = font["W"]
        glyph_ids = {0}
        for first, run in zip(widths[0::2], widths[1::2]):
            glyph_ids.update(range(first, first + len(run)))
        program = b"".join(stream.stream)
        cff = _cff_table(program)
        # Compact already (_subset_once; a few more glyphs come with the closure)?
        if not (cff and _keeps_cids(cff, glyph_ids, at_most=2 * len(glyph_ids) + 16)):
            # WeasyPrint's own subset (every glyph slot up to the last one used).
            cff = _subset_cff(program, sorted(glyph_ids))
        if cff and _keeps_cids(cff, glyph_ids):
            stream.stream = [cff]
            stream.extra["Subtype"] = "/CIDFontType0C"


# WeasyPrint subsets each font in two HarfBuzz passes over the installed font
# (20-27 MB for Noto CJK): the first keeps every glyph id (retain-gids), the
# second cuts the slots after the last one used; the finisher above then
# subsets a third time. For a CID-keyed CFF font one pass without retain-gids
# gives the final glyphs at once: the content stream addresses glyphs by CID,
# and the subset keeps each glyph's CID in its charset (checked by _keeps_cids,
# which falls back to the three passes). Half the subsetting time, the same bytes.

def _subset_once(font, to_unicode, hinting):
    from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset
    from weasyprint.text.fonts import get_hb_object_data
    if (not to_unicode or "CFF " not in font.tables or not harfbuzz_subset
            or not harfbuzz.hb_version_atleast(4, 1, 0)):
        return _weasyprint_subset(font, to_unicode, hinting)
    plan = ffi.gc(harfbuzz_subset.hb_subset_input_create_or_fail(),
                  harfbuzz_subset.hb_subset_input_destroy)
    glyphs = sorted(set(to_unicode) | {0})
    harfbuzz.hb_set_add_sorted_array(harfbuzz_subset.hb_subset_input_glyph_set(plan),
                                     ffi.new(f"hb_codepoint_t[{len(glyphs)}]", glyphs),
                                     len(glyphs))
    harfbuzz_subset.hb_subset_input_set_flags(
        plan, harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
        | harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
        | (0 if hinting else harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING))
    drop = tuple(harfbuzz.hb_tag_from_string(name, -1) for name in (
        b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
        b"PCLT", b"SVG ", b"VORG"))
    harfbuzz.hb_set_add_sorted_array(
        harfbuzz_subset.hb_subset_input_set(plan, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG),
        ffi.new(f"hb_codepoint_t[{len(drop)}]", sorted(drop)), len(drop))
    subset = harfbuzz_subset.hb_subset_or_fail(font.hb_face, plan)
    if subset == ffi.NULL:
        return _weasyprint_subset(font, to_unicode, hinting)
    subset = ffi.gc(subset, harfbuzz.hb_face_destroy)
    content = get_hb_object_data(subset)
    if not content:
        return _weasyprint_subset(font, to_unicode, hinting)
    font.file_content = content


_weasyprint_subset = weasyprint_fonts.Font.subset
weasyprint_fonts.Font.subset = _subset_once


# The signature's size for each key whose signatures all have one length (RSA):
# pyHanko sizes the /Contents placeholder with a dry run (a whole second CMS
# signature, half the signing time) unless it is told the size.
_reserved: dict[str, int] = {}


def sign(pdf: bytes, snapshot: dict, keys: SigningKeys) -> bytes:
    school = snapshot["school"]
    fixed = bool(getattr(keys.signer, "fixed_size_signatures", False))
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        # No timestamp server, so with RSA the dry run's size is exact: reserve no
        # slack. An ECDSA signature's length varies from one signature to the next.
        tight_size_estimates=fixed,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"{school['zh']} 签发在线验证报告 / Issued by {school['en']}",
        location=f"{school['zh']} / {school['en']}",
    )
    signer = signers.PdfSigner(metadata, signer=keys.signer,
                               new_field_spec=fields.SigFieldSpec(SIGNATURE_FIELD))
    reserved = _reserved.get(keys.fingerprint_sha256) if fixed else None
    try:
        out = signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)),
                              bytes_reserved=reserved).getvalue()
    except SigningError:
        if reserved is None:
            raise
        _reserved.pop(keys.fingerprint_sha256, None)  # it did not fit after all: size anew
        return sign(pdf, snapshot, keys)
    if fixed and reserved is None:
        _reserved[keys.fingerprint_sha256] = _placeholder_size(out)
    return out


def _placeholder_size(signed: bytes) -> int | None:
    """The length of the signature's /Contents hex string, from its /ByteRange
    (the bytes it leaves out: the string and its angle brackets)."""
    found = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)").search(
        signed, max(signed.rfind(b"/ByteRange"), 0))
    return int(found.group(2)) - int(found.group(1)) - 2 if found else None


def render_report(snapshot: dict, keys: SigningKeys, look: Look = Look()) -> bytes:
    """One signed A4 page for `snapshot` (the shape made by services.reports)."""
    return sign(render_unsigned(snapshot, keys, look), snapshot, keys)


@dataclass
class PdfCheck:
    signed: bool = False
    intact: bool = False
    by_school: bool = False
    snapshot: dict | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Trust `snapshot` only when this is true."""
        return self.problem is None


def check_pdf(data: bytes, keys: SigningKeys, trusted=None) -> PdfCheck:
    """Check an uploaded report PDF; never raises, whatever `data` is. `trusted`: the
    school's certificates (current and retired, signing.trusted_certificates); by
    default only the certificate of `keys`."""
    result = PdfCheck()
    if not isinstance(data, (bytes, bytearray)) or b"%PDF-" not in data[:1024]:
        result.problem = NOT_PDF
        return result
    try:
        reader = PdfFileReader(io.BytesIO(bytes(data)), strict=False)
        # The school never encrypts its reports.
        if reader.encrypted:
            result.problem = NOT_OURS
            return result
        signatures = reader.embedded_signatures
    except Exception:
        result.problem = NOT_PDF
        return result
    if not signatures:
        result.problem = UNSIGNED
        return result
    result.signed = True
    embedded = next((sig for sig in signatures if sig.field_name == SIGNATURE_FIELD),
                    signatures[0])
    try:
        _check_signature(embedded, trusted or [keys.certificate], result)
    except Exception:  # malformed signature data: treat as not valid
        result.intact = result.by_school = False
    result.snapshot = _attached_snapshot(reader)
    if not result.intact:
        result.problem = TAMPERED
    elif not result.by_school:
        result.problem = NOT_OURS
    elif result.snapshot is None:
        result.problem = NO_DATA
    return result


def _check_signature(embedded, trusted: list, result: PdfCheck):
    context = ValidationContext(trust_roots=list(trusted), allow_fetching=False,
                                revocation_mode="soft-fail")
    status = validate_pdf_signature(embedded, signer_validation_context=context)
    result.intact = bool(status.intact and status.valid
                         and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
    signed_by = status.signing_cert.dump()
    result.by_school = bool(result.intact and status.trusted
                            and any(signed_by == cert.dump() for cert in trusted))


def _attached_snapshot(reader: PdfFileReader) -> dict | None:
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            spec = names[i + 1].get_object()
            if str(spec.get("/UF", spec.get("/F"))) == SNAPSHOT_NAME:
                snapshot = json.loads(spec["/EF"]["/F"].get_object().data.decode("utf-8"))
                return _with_photo(snapshot, reader) if isinstance(snapshot, dict) else None
    except Exception:
        return None
    return None


def _with_photo(snapshot: dict, reader: PdfFileReader) -> dict:
    """The snapshot with its photo's JPEG back in (`attached_form` in reverse): the
    page's image whose bytes have the SHA-256 that report.json names. Without
    such an image the photo stays as it is, and the snapshot matches no report."""
    photo = snapshot.get("photo")
    if not isinstance(photo, dict) or "jpeg_base64" in photo or "jpeg_sha256" not in photo:
        return snapshot
    wanted = str(photo["jpeg_sha256"])
    for image in _page_images(reader):
        if hashlib.sha256(image).hexdigest() == wanted:
            restored = {k: v for k, v in photo.items() if k != "jpeg_sha256"}
            restored["jpeg_base64"] = base64.b64encode(image).decode("ascii")
            return {**snapshot, "photo": restored}
    return snapshot


_MAX_PAGE_NODES = 64


def _page_images(reader: PdfFileReader):
    """The bytes of each JPEG image drawn on a page (as stored: DCTDecode only).
    An uploaded file's page tree may loop or be huge: a report has one page, so
    looking at a few nodes is enough."""
    pending = [reader.root["/Pages"]]
    for _ in range(_MAX_PAGE_NODES):
        if not pending:
            return
        node = pending.pop().get_object()
        if "/Kids" in node:
            pending.extend(node["/Kids"])
            continue
        resources = node.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources else None
        for ref in (xobjects.get_object().values() if xobjects else ()):
            image = ref.get_object()
            if image.get("/Subtype") == "/Image" and image.get("/Filter") == "/DCTDecode":
                yield image.encoded_data
