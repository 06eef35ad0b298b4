"""Look-ups over the records of the five kinds (services.columns): whose they
are, and how a stored value reads on a page or in a report.
"""
from models import Record
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
