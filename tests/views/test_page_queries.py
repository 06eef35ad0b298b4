"""How many SQL queries /reports, /verify/<code> and /login cost (issue 12, per-request
cost; /records has tests/views/test_records_queries.py): a fixed number, whatever
the number of reports."""
import pytest

import models
from models import Verification
from tests.factories import issue_report, minimal_pdf

HX = {"HX-Request": "true"}
KINDS = ("diploma", "degree", "enrollment")


@pytest.fixture
def issued(app, db, signed_in_zhang, make_record):
    """Reports of three kinds, two of them on records the school withdrew since."""
    made = []
    for n in range(6):
        kind = KINDS[n % len(KINDS)]
        record = make_record(kind, account=signed_in_zhang.id)
        made.append(issue_report(app, signed_in_zhang, record, kind=kind,
                                 render=lambda snapshot: minimal_pdf()))
        if n in (1, 2):
            kind_model = record.__class__
            kind_model.update(withdrawn_at=models.utcnow(), withdrawn_reason="测试撤销").where(
                kind_model.id == record.id).execute()
    return made


def queries_for(client, counted, path, headers=None, status=200):
    client.get(path, headers=headers)  # the same warm-up for every page
    counted.clear()
    response = client.get(path, headers=headers)
    assert response.status_code == status
    return list(counted), response.get_data(as_text=True)


@pytest.mark.parametrize("headers", [None, HX])
def test_reports_of_three_kinds(client, issued, counted, headers):
    sql, page = queries_for(client, counted, "/reports/", headers)
    assert page.count('href="/reports/') >= 6
    assert page.count("state state-withdrawn") == 2  # withdrawn records show so, read in bulk
    assert page.count("state state-valid") == 4
    # The account with its login session, the reports, one per kind of record (withdrawn
    # or not), the settings.
    assert len(sql) <= 2 + len(KINDS) + 1, "\n".join(sql)


@pytest.mark.parametrize("headers", [None, HX])
def test_verify_code_of_a_valid_report(client, issued, counted, headers):
    client.post("/logout")
    code = issued[0].code
    sql, page = queries_for(client, counted, f"/verify/{code}", headers)
    assert "汉语言文学" in page or "示范大学" in page
    # The report by its code's blind index, its record, the check's log entry, the
    # settings, the signing certificate in use.
    assert len(sql) <= 5, "\n".join(sql)
    assert sum("INSERT" in q for q in sql) == 1
    assert Verification.select().count() >= 2


def test_verify_code_of_a_withdrawn_record(client, issued, counted):
    client.post("/logout")
    sql, page = queries_for(client, counted, f"/verify/{issued[1].code}", status=410)
    assert len(sql) <= 5, "\n".join(sql)


@pytest.mark.parametrize("path", ["/login", "/verify"])
@pytest.mark.parametrize("headers", [None, HX])
def test_public_forms_cost_one_query(client, counted, path, headers):
    sql, _page = queries_for(client, counted, path, headers)
    assert len(sql) <= 1, "\n".join(sql)  # the settings
