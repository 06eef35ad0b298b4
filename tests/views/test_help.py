"""帮助中心: public, every topic in Chinese and English, links from the dead ends."""
import pytest

from views.help import TOPICS

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


def test_help_index_answers_without_a_slash_redirect(client):
    for url in ("/help", "/help/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = text(response)
        assert "<html" in html and "帮助中心" in html
        for slug, title in TOPICS.items():
            assert f'href="/help/{slug}"' in html
            assert str(title) in html


def test_help_fragment_for_htmx(client):
    response = client.get("/help", headers=HX)
    assert response.status_code == 200
    assert "<html" not in text(response) and 'id="help"' in text(response)
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("slug", sorted(TOPICS))
def test_every_topic_in_chinese(client, slug):
    response = client.get(f"/help/{slug}")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="zh-CN">' in html
    assert f'<h1 id="help-title">{TOPICS[slug]}</h1>' in html


@pytest.mark.parametrize("slug", sorted(TOPICS))
def test_every_topic_in_english(client, slug):
    client.set_cookie("lang", "en")
    response = client.get(f"/help/{slug}")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="en">' in html
    assert "Contact the school's registrar's office" in html
    assert "联系学校学籍管理部门" not in html and "帮助中心" not in html


def test_topic_fragment_for_htmx(client):
    response = client.get("/help/binding", headers=HX)
    assert response.status_code == 200
    assert "<html" not in text(response) and "NO.00298959" in text(response)


def test_unknown_topic_is_404(client):
    assert client.get("/help/no-such-topic").status_code == 404


def test_contacts_come_from_the_config(app_factory):
    app = app_factory(SCHOOL_NAME="测试大学", SCHOOL_CONTACT="office@test.edu.cn")
    html = text(app.test_client().get("/help"))
    assert "联系学校学籍管理部门" in html
    assert "测试大学 学籍管理部门" in html
    assert 'href="mailto:office@test.edu.cn"' in html


def test_topics_use_the_config(app_factory):
    app = app_factory(ELIGIBLE_SINCE_YEAR=1995, REPORT_MAX_MONTHS=4)
    client = app.test_client()
    assert "1995 年及以后毕业" in text(client.get("/help/register"))
    assert "1 至 4 个月" in text(client.get("/help/reports"))
    assert "示范学院</span>（1985–2002 年）" in text(client.get("/help/binding"))


def test_links_to_the_pages_they_name(client):
    html = text(client.get("/help/id-taken"))
    for url in ('href="/recover/username"', 'href="/register/appeal"',
                'href="/register/appeal/status"'):
        assert url in html
    html = text(client.get("/help/verifying"))
    assert 'href="/verify/"' in html or 'href="/verify"' in html
    assert 'href="/verify/pdf"' in html and "/api/v1/reports/&lt;code&gt;" in html
    assert 'href="/records/bind"' in text(client.get("/help/binding"))


def test_header_and_footer_link_to_help(client):
    html = text(client.get("/"))
    assert '<a href="/help/" id="header-help">' in html
    assert '<a href="/help/" id="footer-help">' in html
    assert client.get("/help/").status_code == 200


def test_records_page_without_records_links_to_help(client, make_account, login):
    make_account(username="zhang@example.edu.cn", real_name="张三",
                 id_number="11010519491231002X")
    login("zhang@example.edu.cn")
    html = text(client.get("/records/"))
    assert 'id="records-empty-help"' in html
    assert 'href="/help/records"' in html


def test_records_page_with_records_has_no_empty_notice(client, make_account, make_record, login):
    make_account(username="zhang@example.edu.cn", real_name="张三",
                 id_number="11010519491231002X")
    make_record("diploma")
    login("zhang@example.edu.cn")
    assert 'id="records-empty-help"' not in text(client.get("/records/"))


def test_failed_binding_links_to_help(client, make_account, login):
    make_account(username="zhang@example.edu.cn", real_name="张三",
                 id_number="11010519491231002X")
    login("zhang@example.edu.cn")
    assert 'id="bind-help"' not in text(client.get("/records/bind"))
    response = client.post("/records/bind", data={"kind": "diploma", "certificate_number": "NO.12345",
                                                  "year": "1994", "school": "示范学院"})
    assert response.status_code == 422
    assert 'href="/help/binding"' in text(response)


def test_failed_login_links_to_help(client):
    assert 'id="login-help"' not in text(client.get("/login"))
    response = client.post("/login", data={"login": "nobody@example.edu.cn", "password": "Wrong-123"})
    assert 'href="/help/forgotten"' in text(response)
