"""查询: the staff search, one person, one record, and the exports of a search."""
import io
import re


import pytest
from openpyxl import load_workbook


from models import Account, AuditEntry, LoginEvent
from services import files, search
from tests.factories import EXAMPLE_ID, PASSWORD, png_bytes, resident_id, signed_in_staff

HX = {"HX-Request": "true"}
OTHER_ID = resident_id("19800506", 124, "420106")


def text(response):
    return response.get_data(as_text=True)


def rows(response) -> list:
    """The result table's rows as text, tags stripped."""
    body = text(response).split('<tbody>', 1)[-1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in body.split("<tr>")[1:]]


@pytest.fixture
def desk(app, db):
    return signed_in_staff(app, "office", Account.REGISTRAR)


@pytest.fixture
def viewer(app, db):
    return signed_in_staff(app, "front-desk", Account.VIEWER)


@pytest.fixture
def archive(make_account, make_record):
    """A student with an account and a record of every kind, and strangers' records."""
    student = make_account(username="wang@example.edu.cn", real_name="王𠮷", phone="13912345678")
    mine = {key: make_record(key, name="王𠮷", account=student.id)
            for key in ("enrollment", "diploma", "degree", "admission", "aid")}
    old = make_record("diploma", name="张伟", id_number=None, certificate_number="00298959",
                      school_number="982456", graduation_date="1994-07-01", birth_date="1972-05-08",
                      gender="男")
    other = make_record("enrollment", name="王五", id_number=OTHER_ID, gender="女",
                        birth_date="1980-05-06", student_number="2019001", level="专科",
                        status="休学", admission_date="2019-09-01", major="计算机科学与技术")
    return dict(student=student, mine=mine, old=old, other=other)


# --- reading what was typed ---------------------------------------------------------

def test_the_shape_of_the_text_decides_the_look_ups():
    assert search.lookups("王").name == "王"
    found = search.lookups("１１０１０５１９４９１２３１００２ｘ")
    assert EXAMPLE_ID in found.id_numbers and not found.name
    assert search.lookups("NO.00298959").certificate_key == "298959"
    assert search.lookups("Wang@Example.edu.cn").username == "wang@example.edu.cn"
    assert search.lookups("+86 139 1234 5678").phone == "+8613912345678"
    assert not search.lookups("!!!")


def test_wrong_values_are_named(app):
    with app.test_request_context():
        for args, field in (({"q": "%%%"}, "q"), ({"year": "19"}, "year"), ({"kind": "x"}, "kind"),
                            ({"level": "x"}, "level"), ({"status": "x"}, "status"),
                            ({"bound": "x"}, "bound"), ({"q": "王" * 101}, "q")):
            with pytest.raises(search.SearchError) as caught:
                search.criteria(**args)
            assert caught.value.field == field


# --- the search page ----------------------------------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("王", {"王𠮷", "王五"}),           # name prefix, and a name beyond the BMP
    ("王𠮷", {"王𠮷"}),                 # exact name
    ("张伟", {"张伟"}),
])
def test_search_by_name(desk, archive, typed, expected):
    found = rows(desk.get("/admin/search", query_string={"q": typed}))
    names = {row.split(" ")[1] for row in found}
    assert names == expected
    if typed == "王𠮷":  # the account and its five records
        assert len(found) == 6


def test_search_by_id_number_through_the_blind_index(desk, archive):
    found = rows(desk.get("/admin/search", query_string={"q": "110105 19491231 002x"}))
    assert len(found) == 6 and all("王𠮷" in row for row in found)
    table = " ".join(rows(desk.get("/admin/search", query_string={"q": EXAMPLE_ID})))
    assert EXAMPLE_ID not in table and "1101**********002X" in table


@pytest.mark.parametrize("typed", ["S0001", "2019001"])
def test_search_by_student_number(desk, archive, typed):
    found = rows(desk.get("/admin/search", query_string={"q": typed}))
    assert len(found) == 1 and found[0].startswith("学籍") and typed in found[0]


@pytest.mark.parametrize("typed", ["NO.00298959", "00298959", "298959", "No 298959", "982456"])
def test_search_by_certificate_number_with_or_without_no_and_zeros(desk, archive, typed):
    found = rows(desk.get("/admin/search", query_string={"q": typed}))
    assert len(found) == 1 and "张伟" in found[0] and found[0].startswith("学历")


def test_search_by_degree_certificate_and_candidate_number(desk, archive):
    degree = archive["mine"]["degree"].certificate_number
    assert [row[:2] for row in rows(desk.get("/admin/search", query_string={"q": degree}))] == ["学位"]
    candidate = archive["mine"]["admission"].candidate_number
    assert [row[:2] for row in rows(desk.get("/admin/search", query_string={"q": candidate}))] == ["录取"]


@pytest.mark.parametrize("typed", ["wang@example.edu.cn", "WANG@example.edu.cn", "139 1234 5678",
                                   "+8613912345678"])
def test_search_by_username_or_phone(desk, archive, typed):
    found = rows(desk.get("/admin/search", query_string={"q": typed}))
    assert len(found) == 1 and found[0].startswith("学生账户")
    assert "139****5678" not in found[0]  # the phone is not shown in the list at all


def test_filters(desk, archive):
    def kinds(**args):
        return sorted(row.split(" ")[0] for row in rows(desk.get("/admin/search", query_string=args)))

    assert kinds(q="王", kind="enrollment") == ["学籍", "学籍"]
    assert kinds(status="休学") == ["学籍"]
    assert kinds(level="专科") == ["学籍"]
    assert kinds(kind="enrollment", year="2019") == ["学籍"]
    assert kinds(year="1994") == ["学历"]
    assert kinds(major="计算机") == ["学籍"]
    assert kinds(bound="no") == ["学历", "学籍"]
    assert kinds(bound="yes", kind="aid") == ["资助"]
    assert kinds(q="王𠮷", kind="account") == ["学生账户"]
    # A filter a kind does not have leaves that kind out (and accounts).
    assert kinds(q="王𠮷", level="本科") == ["学历", "学籍", "录取"]


def test_withdrawn_records_are_marked(desk, archive, db):
    model = type(archive["old"])
    model.update(withdrawn_at=model.created_at).where(model.id == archive["old"].id).execute()
    assert "已撤销" in rows(desk.get("/admin/search", query_string={"q": "张伟"}))[0]


def test_pagination(desk, make_record):
    for n in range(120):
        make_record("admission", name=f"李{chr(0x4e00 + n)}", id_number=None)
    first = desk.get("/admin/search", query_string={"q": "李"})
    assert len(rows(first)) == search.PER_PAGE and 'rel="next"' in text(first)
    assert 'rel="prev"' not in text(first)
    third = desk.get("/admin/search", query_string={"q": "李", "page": 3})
    assert len(rows(third)) == 20 and 'rel="next"' not in text(third) and 'rel="prev"' in text(third)
    seen = rows(first) + rows(desk.get("/admin/search", query_string={"q": "李", "page": 2})) + rows(third)
    assert len(set(seen)) == 120
    # Newest first without a name; still every row once across the pages.
    pages = [rows(desk.get("/admin/search", query_string={"kind": "admission", "page": p}))
             for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 20] and len({r for p in pages for r in p}) == 120
    assert rows(desk.get("/admin/search", query_string={"kind": "admission", "page": 99})) == []
    assert desk.get("/admin/search", query_string={"q": "李", "page": "x"}).status_code == 200


def test_pages_across_kinds(desk, make_record, make_account):
    for n in range(30):
        make_account(username=f"s{n}@example.edu.cn", real_name="赵六", id_number=None,
                     phone=f"1390000{n:04d}")
        make_record("enrollment", name="赵六", id_number=None)
        make_record("aid", name="赵六", paid_on=f"2016-11-{n + 1:02d}")
    seen, links = [], []
    for page in (1, 2):
        response = desk.get("/admin/search", query_string={"q": "赵六", "page": page})
        seen += rows(response)
        links += re.findall(r'<td><a href="(/admin/(?:people|records)/[^"]+)">赵六', text(response))
    assert len(links) == 90 and len(set(links)) == 90
    assert [row.split(" ")[0] for row in seen] == ["学生账户"] * 30 + ["学籍"] * 30 + ["资助"] * 30


def test_the_form_swaps_only_the_results_with_htmx(desk, archive):
    page = text(desk.get("/admin/search"))
    assert 'id="search-form"' in page and 'hx-target="#search-results"' in page
    assert 'hx-push-url="true"' in page and '<label for="q">' in page and "<html" in page
    fragment = desk.get("/admin/search", query_string={"q": "王"}, headers=HX)
    assert "<html" not in text(fragment) and 'id="search-table"' in text(fragment)
    assert 'hx-swap-oob="true"' in text(fragment)
    assert fragment.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_wrong_value_is_422_beside_its_field(desk, headers):
    response = desk.get("/admin/search", query_string={"year": "abc"}, headers=headers)
    assert response.status_code == 422
    assert 'id="year-error"' in text(response) and "四位数字" in text(response)
    unreadable = desk.get("/admin/search", query_string={"q": "%%%"}, headers=headers)
    assert unreadable.status_code == 422 and 'id="q-error"' in text(unreadable)


def test_english_page(desk, archive):
    desk.set_cookie("lang", "en")
    page = text(desk.get("/admin/search", query_string={"q": "王"}))
    assert "Student account" in page and "Enrollment" in page and "Search" in page


# --- one person ---------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_person_page(app, desk, archive, db, headers):
    student = archive["student"]
    assert app.test_client().post("/login", data={"login": "wang@example.edu.cn",
                                                  "password": PASSWORD}).status_code == 303
    response = desk.get(f"/admin/people/{student.id}", headers=headers)
    page = text(response)
    assert response.status_code == 200 and ("<html" in page) == (not headers)
    assert "wang@example.edu.cn" in page and "1101**********002X" in page and "139****5678" in page
    assert EXAMPLE_ID not in page and "13912345678" not in page
    for key in ("enrollment", "diploma", "degree", "admission", "aid"):
        assert f'id="person-{key}"' in page
    assert 'id="person-login-list"' in page and LoginEvent.select().count() >= 1
    entry = AuditEntry.select().where(AuditEntry.action == "person.viewed").get()
    assert entry.account_id == student.id and entry.actor == "office"


def test_person_page_is_for_student_accounts(desk, viewer):
    staff = Account.get(Account.username == "office")
    assert desk.get(f"/admin/people/{staff.id}").status_code == 404
    assert desk.get("/admin/people/999").status_code == 404
    assert not AuditEntry.select().where(AuditEntry.action == "person.viewed").count()


def test_viewer_may_look_but_not_export(viewer, archive):
    assert viewer.get(f"/admin/people/{archive['student'].id}").status_code == 200
    assert rows(viewer.get("/admin/search", query_string={"q": "王𠮷"}))
    assert "search-export" not in text(viewer.get("/admin/search", query_string={"q": "王𠮷"}))
    assert viewer.get("/admin/search/export.csv", query_string={"q": "王𠮷"}).status_code == 403


# --- one record ---------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_record_page(desk, archive, app, db, headers):
    record = archive["mine"]["enrollment"]
    photo = png_bytes()
    files.put("photos/s1.png", photo)
    type(record).update(photo="photos/s1.png").where(type(record).id == record.id).execute()
    response = desk.get(f"/admin/records/enrollment/{record.id}", headers=headers)
    page = text(response)
    assert response.status_code == 200 and ("<html" in page) == (not headers)
    assert "学号" in page and record.student_number in page and "示范大学" in page
    assert EXAMPLE_ID in page  # the full number for those who keep records
    assert "wang@example.edu.cn" in page and f"/admin/people/{archive['student'].id}" in page
    assert f"/admin/records/enrollment/{record.id}/photo" in page
    assert desk.get(f"/admin/records/enrollment/{record.id}/photo").data == photo
    others = page.split('id="record-other-list"', 1)[1].split("</ul>", 1)[0]
    assert others.count("<li>") == 4  # the other four kinds of the same person
    entry = AuditEntry.select().where(AuditEntry.action == "record.viewed").get()
    assert entry.account_id == archive["student"].id and entry.detail == f"enrollment #{record.id}"


def test_record_page_masks_for_the_front_desk_and_marks_withdrawn(viewer, archive, db):
    record = archive["mine"]["diploma"]
    type(record).update(withdrawn_at=record.created_at, withdrawn_reason="重复导入").where(
        type(record).id == record.id).execute()
    page = text(viewer.get(f"/admin/records/diploma/{record.id}"))
    assert EXAMPLE_ID not in page and "1101**********002X" in page
    assert 'id="record-withdrawn"' in page and "重复导入" in page


def test_unknown_records_are_404(desk):
    for url in ("/admin/records/x/1", "/admin/records/enrollment/999",
                "/admin/records/enrollment/999/photo", "/admin/records/degree/1/photo"):
        assert desk.get(url).status_code == 404, url


# --- exports ------------------------------------------------------------------------

def test_csv_export_masks_neutralises_and_is_audited(desk, make_record, archive):
    make_record("enrollment", name="王五", id_number=None, major="=HYPERLINK(\"x\")",
                student_number="S9999")
    response = desk.get("/admin/search/export.csv", query_string={"q": "王"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8-sig")
    assert EXAMPLE_ID not in body and "1101**********002X" in body
    assert "'示范大学 · =HYPERLINK" not in body  # the cell starts with the school, not "="
    lines = body.splitlines()
    assert lines[0].startswith("类型,姓名,证件号码") and len(lines) == 1 + 8
    entry = AuditEntry.select().where(AuditEntry.action == "records.exported").get()
    assert entry.actor == "office" and "csv, 8 rows" in entry.detail and "q=" in entry.detail


def test_formula_cells_are_neutralised(desk, make_record):
    make_record("aid", name="孙七", program="=1+2", paid_on="2016-11-02")
    body = desk.get("/admin/search/export.csv", query_string={"q": "孙七"}).data.decode("utf-8-sig")
    assert ",'=1+2," in body
    workbook = load_workbook(io.BytesIO(desk.get("/admin/search/export.xlsx",
                                                 query_string={"q": "孙七"}).data))
    cells = [cell.value for cell in list(workbook.active.iter_rows())[1]]
    assert "'=1+2" in cells and "孙七" in cells


def test_xlsx_export(desk, archive):
    response = desk.get("/admin/search/export.xlsx", query_string={"kind": "enrollment"})
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["类型", "姓名", "证件号码"] and len(values) == 3
    assert AuditEntry.select().where(AuditEntry.action == "records.exported").count() == 1


def test_an_export_over_the_limit_says_it_was_cut(desk, make_record, monkeypatch):
    for _ in range(3):
        make_record("admission", name="周八", id_number=None)
    monkeypatch.setattr(search, "EXPORT_LIMIT", 2)
    response = desk.get("/admin/search/export.csv", query_string={"q": "周八"})
    lines = response.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 2 + 1 and "只导出了前 2 条" in lines[-1]
    assert response.headers["X-Export-Cut"] == "2"
    assert "cut" in AuditEntry.select().where(AuditEntry.action == "records.exported").get().detail


@pytest.mark.parametrize("headers", [{}, HX])
def test_an_export_needs_a_search(desk, headers):
    response = desk.get("/admin/search/export.csv", headers=headers)
    assert response.status_code == 422 and "请先输入查询内容" in text(response)
    bad = desk.get("/admin/search/export.xlsx", query_string={"year": "x"}, headers=headers)
    assert bad.status_code == 422 and 'id="year-error"' in text(bad)
    assert not AuditEntry.select().where(AuditEntry.action == "records.exported").count()
