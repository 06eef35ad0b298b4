"""概览 (/admin/): the counts every staff role sees; links only where the role may go."""
import datetime
import re

import pytest

from models import Account, Appeal, CorrectionRequest, Report, Verification, utcnow
from tests.factories import create_account, create_record, signed_in_staff

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


def value(page, dom_id):
    match = re.search(rf'id="{dom_id}">(.*?)</', page, re.S)
    assert match, dom_id
    return match.group(1).strip()


@pytest.fixture
def data(app, db):
    now = utcnow()
    zhang = create_account(app, 1, id_number=None)
    create_account(app, 2, id_number=None)
    Account.update(created_at=now - datetime.timedelta(days=31)).where(Account.id == zhang.id).execute()
    create_record("diploma", 1, account=zhang.id)
    create_record("diploma", 2)
    create_record("degree", 1)
    CorrectionRequest.create(account=zhang, kind="diploma", record_id=1, field="major",
                             proposed_value="数学", reason="x",
                             created_at=now - datetime.timedelta(days=2, hours=1))
    Appeal.create(reference="A1", real_name="张三", id_type="居民身份证",
                  id_number="11010519491231002X", contact_email="a@example.com", photo_path="p.png",
                  created_at=now - datetime.timedelta(hours=3, minutes=5))
    report = Report.create(account=zhang, kind="diploma", record_id=1, code="CODE1", snapshot="{}",
                           expires_at=now + datetime.timedelta(days=30))
    for channel in ("web", "web", "api"):
        Verification.create(report=report, channel=channel)


def test_the_numbers_for_a_keeper(app, data):
    client = signed_in_staff(app, "office", Account.REGISTRAR)
    page = text(client.get("/admin/"))
    assert value(page, "stats-students") == "2" and value(page, "stats-new-students") == "1"
    assert "待处理的更正申请：1" in page and "最早的已等待 2 天" in page
    assert "待处理的申诉：1" in page and "最早的已等待 3 小时" in page
    assert re.search(r'id="stats-records-diploma"><th scope="row">学历</th><td>2</td><td>1</td><td>1</td>', page)
    assert re.search(r'id="stats-records-degree"><th scope="row">学位</th><td>1</td><td>0</td><td>1</td>', page)
    assert value(page, "stats-reports-issued") == "1"
    assert value(page, "stats-verifications") == "3"
    assert (value(page, "stats-verifications-web"), value(page, "stats-verifications-pdf"),
            value(page, "stats-verifications-api")) == ("2", "0", "1")
    assert 'href="/admin/corrections"' in page and 'href="/admin/appeals"' in page
    client.set_cookie("lang", "en")
    english = text(client.get("/admin/"))
    assert "oldest waiting 2 days" in english and "oldest waiting 3 hours" in english


def test_a_viewer_sees_the_counts_without_links(app, data):
    client = signed_in_staff(app, "frontdesk", Account.VIEWER)
    page = text(client.get("/admin/"))
    assert "待处理的更正申请：1" in page and value(page, "stats-students") == "2"
    assert 'href="/admin/corrections"' not in page and 'href="/admin/appeals"' not in page
    assert 'href="/admin/audit"' not in page


def test_with_and_without_htmx(app, db):
    client = signed_in_staff(app, "root", Account.ADMIN)
    whole = client.get("/admin/")
    assert "<html" in text(whole) and 'id="admin-index"' in text(whole)
    fragment = client.get("/admin/", headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert text(fragment).startswith('<div id="admin-index"') and "<html" not in text(fragment)
    assert value(text(fragment), "stats-students") == "0"
