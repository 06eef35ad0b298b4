"""Demo data for a new installation (`flask --app app seed-demo`)."""
from models import Account

DEMO_ADMIN = ("registrar", "Demo-2026-office")


def seed(if_empty: bool = False) -> str:
    """Idempotent: each part is added only when missing."""
    from services import accounts
    if if_empty and Account.select().exists():
        return "demo data skipped: the database already has accounts"
    done = []
    if not Account.select().where(Account.username == DEMO_ADMIN[0]).exists():
        accounts.create_or_reset_admin(*DEMO_ADMIN)
        done.append(f"admin {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
    return "demo data: " + (", ".join(done) if done else "already present")
