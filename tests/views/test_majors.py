"""/admin/majors: the majors' English names — list, search, pages, add, edit, delete,
the recorded majors without one; audited; 查询员 refused (and tests/views/test_roles.py)."""
import pytest

from models import AuditEntry, MajorName
from services import names
from tests.factories import create_record, signed_in_staff

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def desk(app, db):
    return signed_in_staff(app, "registrar-desk", "registrar")


def _add(major, english):
    return names.add_major(major, english, actor="seed-test")


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_list_page_and_fragment(desk, headers):
    _add("法学", "Law")
    create_record("diploma", 1, major="历史学")
    response = desk.get("/admin/majors", headers=headers)
    page = text(response)
    assert response.status_code == 200
    assert ("<html" in page) == (not headers)
    assert 'id="majors"' in page and "法学" in page and 'value="Law"' in page
    assert 'id="missing-majors"' in page and "历史学" in page
    for label in ("专业", "英文名称"):
        assert f">{label}</label>" in page
    for button in ("保存", "删除", "添加"):
        assert f">{button}</button>" in page


def test_the_nav_links_to_it_for_keepers_only(app, desk, db):
    assert 'id="nav-majors"' in text(desk.get("/admin/"))
    viewer = signed_in_staff(app, "viewer-desk", "viewer")
    assert 'id="nav-majors"' not in text(viewer.get("/admin/"))


def test_a_viewer_cannot_see_or_change(app, db):
    row = _add("法学", "Law")
    viewer = signed_in_staff(app, "viewer-desk", "viewer")
    assert viewer.get("/admin/majors").status_code == 403
    assert viewer.post("/admin/majors/add", data={"major": "史学", "english": "History"}).status_code == 403
    assert viewer.post(f"/admin/majors/{row.id}/edit", data={"english": "X"}).status_code == 403
    assert viewer.post(f"/admin/majors/{row.id}/delete").status_code == 403
    assert MajorName.select().count() == 1 and names.major_english("法学") == "Law"


def test_search_and_pages(desk):
    for n in range(55):
        _add(f"专业{n:02d}", f"Major {n:02d}")
    _add("法学", "Law")
    first = text(desk.get("/admin/majors"))
    assert first.count('<tr id="major-') == 50 and "第 1 / 2 页" in first
    assert 'href="/admin/majors?page=2"' in first
    second = text(desk.get("/admin/majors?page=2"))
    assert second.count('<tr id="major-') == 6 and "法学" in second
    found = text(desk.get("/admin/majors?q=law", headers=HX))
    assert found.count('<tr id="major-') == 1 and "法学" in found
    assert "没有找到" in text(desk.get("/admin/majors?q=nothing-like-it"))
    # Nonsense page numbers and characters are answered, not failed.
    assert desk.get("/admin/majors?page=-3&q=%25_").status_code == 200


@pytest.mark.parametrize("headers", [{}, HX])
def test_add(desk, headers):
    response = desk.post("/admin/majors/add?q=史", data={"major": "历史学", "english": "History"},
                         headers=headers)
    if headers:
        assert response.status_code == 200 and 'id="majors"' in text(response)
        assert "已添加「历史学」的英文名称" in text(response)
    else:
        assert response.status_code == 303
        assert response.headers["Location"] == "/admin/majors?q=%E5%8F%B2"
    assert names.major_english("历史学") == "History"
    entry = AuditEntry.get(AuditEntry.action == "major_name.added")
    assert entry.actor == "registrar-desk" and entry.changes == {
        "major": "历史学", "english": ["", "History"]}


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("data, field, message", [
    ({}, "major", "请填写专业名称"),
    ({"major": "历史学", "english": ""}, "english", "请填写英文名称"),
    ({"major": "历史学", "english": "历史"}, "english", "只能包含英文字母"),
    ({"major": "法学", "english": "Jurisprudence"}, "major", "已有英文名称"),
])
def test_add_refusals_beside_the_field(desk, headers, data, field, message):
    _add("法学", "Law")
    response = desk.post("/admin/majors/add", data=data, headers=headers)
    page = text(response)
    assert response.status_code == 422
    assert ("<html" in page) == (not headers)
    assert f'id="{field}-error"' in page and message in page
    assert MajorName.select().count() == 1 and names.major_english("法学") == "Law"


@pytest.mark.parametrize("headers", [{}, HX])
def test_quick_add_from_the_missing_list(desk, headers):
    create_record("enrollment", 1, major="学科教学（英语）")
    create_record("degree", 2, discipline="世界史")
    page = text(desk.get("/admin/majors"))
    assert "学科教学（英语）" in page and "世界史" in page and "有 2 个专业" in page
    bad = desk.post("/admin/majors/add", data={"major": "世界史", "quick": "1", "english": "世界"},
                    headers=headers)
    assert bad.status_code == 422
    assert 'id="missing-english-1-error"' in text(bad) and 'value="世界"' in text(bad)
    assert 'id="english-error"' not in text(bad)
    done = desk.post("/admin/majors/add", data={"major": "世界史", "quick": "1",
                                                "english": "World History"}, headers=headers)
    assert done.status_code == (200 if headers else 303)
    assert names.major_english("世界史") == "World History"
    page = text(desk.get("/admin/majors"))
    assert "有 1 个专业" in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_edit(desk, headers):
    row = _add("法学", "Law")
    response = desk.post(f"/admin/majors/{row.id}/edit?page=1",
                         data={"english": "Jurisprudence"}, headers=headers)
    assert response.status_code == (200 if headers else 303)
    stored = MajorName.get_by_id(row.id)
    assert (stored.major, stored.english, stored.updated_by) == ("法学", "Jurisprudence",
                                                                 "registrar-desk")
    entry = AuditEntry.get(AuditEntry.action == "major_name.changed")
    assert entry.changes == {"major": "法学", "english": ["Law", "Jurisprudence"]}


@pytest.mark.parametrize("headers", [{}, HX])
def test_edit_refusal_beside_the_row(desk, headers):
    row = _add("法学", "Law")
    response = desk.post(f"/admin/majors/{row.id}/edit", data={"english": "法律"}, headers=headers)
    page = text(response)
    assert response.status_code == 422
    assert f'id="english-{row.id}-error"' in page and 'value="法律"' in page
    assert names.major_english("法学") == "Law"
    assert not AuditEntry.select().where(AuditEntry.action == "major_name.changed").exists()


@pytest.mark.parametrize("headers", [{}, HX])
def test_delete(desk, headers):
    row = _add("法学", "Law")
    create_record("diploma", 1, major="法学")
    response = desk.post(f"/admin/majors/{row.id}/delete", headers=headers)
    assert response.status_code == (200 if headers else 303)
    assert names.major_english("法学") is None
    if headers:
        # The major is recorded, so it is listed again as missing.
        assert 'id="missing-majors"' in text(response) and "已删除「法学」的英文名称" in text(response)
    entry = AuditEntry.get(AuditEntry.action == "major_name.deleted")
    assert entry.changes == {"major": "法学", "english": ["Law", ""]}
    assert desk.post(f"/admin/majors/{row.id}/delete").status_code == 404
    assert desk.post(f"/admin/majors/{row.id}/edit", data={"english": "Law"}).status_code == 404


def test_changes_read_well_in_the_audit_log(app, desk, db):
    row = _add("法学", "Law")
    desk.post(f"/admin/majors/{row.id}/edit", data={"english": "Jurisprudence"})
    admin = signed_in_staff(app, "admin-desk", "admin")
    page = text(admin.get("/admin/audit?action=major_name.changed"))
    assert "修改专业英文名称" in page and "英文名称" in page
    assert "Law" in page and "Jurisprudence" in page


def test_the_page_in_english(desk):
    _add("法学", "Law")
    create_record("diploma", 1, major="历史学")
    desk.set_cookie("lang", "en")
    page = text(desk.get("/admin/majors"))
    assert "Majors&#39; English names" in page or "Majors' English names" in page
    assert "Recorded majors without an English name" in page
    assert ">Save</button>" in page and ">Delete</button>" in page and ">Add</button>" in page
