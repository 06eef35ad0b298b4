"""/records costs at most 3 SQL queries, whatever the number of records (issue 12)."""
import pytest

HX = {"HX-Request": "true"}
KIND_KEYS = ("enrollment", "diploma", "degree", "admission", "aid")


def queries_for(client, counted, headers=None):
    client.get("/records/", headers=headers)  # settings and the like warmed the same way
    counted.clear()
    response = client.get("/records/", headers=headers)
    assert response.status_code == 200
    return list(counted), response.get_data(as_text=True)


@pytest.mark.parametrize("headers", [None, HX])
def test_one_record(client, signed_in_zhang, make_record, counted, headers):
    make_record("diploma", account=signed_in_zhang.id)
    sql, page = queries_for(client, counted, headers)
    assert "汉语言文学" in page
    assert len(sql) <= 3, "\n".join(sql)


@pytest.mark.parametrize("headers", [None, HX])
def test_twelve_records_of_every_kind(client, signed_in_zhang, make_record, counted, headers):
    for n in range(12):
        key = KIND_KEYS[n % len(KIND_KEYS)]
        extra = dict(paid_on=f"2016-11-{n + 1:02d}") if key == "aid" else {}
        make_record(key, account=signed_in_zhang.id, **extra)
    sql, page = queries_for(client, counted, headers)
    assert page.count('href="/records/') >= 12
    assert len(sql) <= 3, "\n".join(sql)

