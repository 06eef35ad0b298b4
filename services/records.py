"""Look-ups over the records of the five kinds (services.columns): whose they
are, and how a stored value reads on a page or in a report.
"""
from peewee import SQL, Cast, Value

from models import Record, db
from services.columns import KINDS, Column, Kind

# Diplomas hide the ID number in their report (docs/domain.md).
REPORT_HIDDEN = {"diploma": {"id_number"}}


def kind_of(record: Record) -> Kind:
    return next(kind for kind in KINDS.values() if isinstance(record, kind.model))


def visible_to(kind: Kind, account_id: int):
    """The condition every owner look-up uses: bound to the account and not withdrawn
    (撤销) by the school. Anything else answers 404, like a record that does not exist."""
    model = kind.model
    return (model.account == account_id) & model.withdrawn_at.is_null()


def records_of(account_id: int, kind: Kind):
    model = kind.model
    order = {
        "enrollment": model.admission_date.desc(nulls="last") if hasattr(model, "admission_date") else model.id,
    }
    return list(model.select().where(visible_to(kind, account_id))
                .order_by(order.get(kind.key, model.id.desc()), model.id.desc()))


_ARCHIVE_SQL = {}  # database class -> (sql, params with _ANY_ACCOUNT), built once
_ANY_ACCOUNT = -7310  # no account has it: marks where the account's id goes in the params


def archive_of(account_id: int) -> list[tuple[Kind, list]]:
    """Every kind's visible records of one account, for the list on /records, in ONE
    query (a UNION ALL over the five tables) instead of one per kind (issue 12).

    Each record carries only what the list shows: its id, update date and summary
    fields (SUMMARY_FIELDS). A column another kind lacks is a typed NULL, so
    PostgreSQL can resolve the union's column types. The SQL is built once per
    database (building it cost more than running it). Ordered like records_of."""
    names = _archive_names()
    key = type(db.obj)  # the SQL depends only on the dialect (quoting, types, "?" or "%s")
    if key not in _ARCHIVE_SQL:
        _ARCHIVE_SQL[key] = _archive_query(names, _ANY_ACCOUNT).sql()
    sql, params = _ARCHIVE_SQL[key]
    cursor = db.execute_sql(sql, [account_id if p == _ANY_ACCOUNT else p for p in params])
    found = {key: [] for key in KINDS}
    for row in cursor.fetchall():
        kind = KINDS[row[0]]
        fields = kind.model._meta.fields
        found[kind.key].append(kind.model(**{
            name: fields[name].python_value(value)
            for name, value in zip(names, row[1:]) if name in fields}))
    for key, items in found.items():
        items.sort(key=lambda record: record.id, reverse=True)
        if key == "enrollment":
            # admission_date DESC NULLS LAST, then id DESC (the sort above is stable).
            items.sort(key=lambda record: (record.admission_date is not None,
                                           record.admission_date or 0), reverse=True)
    return [(kind, found[kind.key]) for kind in KINDS.values()]


def _archive_names() -> list[str]:
    names = ["id", "updated_at", "admission_date"]
    for fields in SUMMARY_FIELDS.values():
        names.extend(name for name in fields if name not in names)
    return names


def _archive_query(names: list[str], account_id: int):
    types = {}
    for kind in KINDS.values():
        for name in names:
            field = kind.model._meta.fields.get(name)
            if field is not None:
                types.setdefault(name, field.field_type)
    field_types = db.obj.field_types

    def column(model, name):
        if name in model._meta.fields:
            return getattr(model, name).alias(name)
        return Cast(SQL("NULL"), field_types.get(types[name], types[name])).alias(name)

    query = None
    for kind in KINDS.values():
        model = kind.model
        part = model.select(Cast(Value(kind.key), "VARCHAR").alias("kind"),
                            *(column(model, name) for name in names)
                            ).where(visible_to(kind, account_id))
        query = part if query is None else query + part
    return query


def display_value(record: Record, column: Column) -> str:
    return format_value(column, getattr(record, column.attr))


def format_value(column: Column, value) -> str:
    """A stored value (as `columns.clean` returns it) as a page shows it."""
    if value is None or value == "":
        return ""
    if column.type == "date":
        return value.strftime("%Y-%m-%d")
    if column.type == "money":
        return f"{value:,.2f}"
    return str(value)


SUMMARY_FIELDS = {
    "enrollment": ("school_name", "level", "major", "status"),
    "diploma": ("school_name", "level", "major", "completion", "graduation_date"),
    "degree": ("awarding_unit", "degree", "discipline", "award_date"),
    "admission": ("year", "level", "major"),
    "aid": ("school_year", "program", "amount"),
}


def summary(record: Record) -> str:
    """One line that tells a student which record this is."""
    kind = kind_of(record)
    parts = (display_value(record, kind.column(attr)) for attr in SUMMARY_FIELDS[kind.key])
    return " · ".join(part for part in parts if part)
