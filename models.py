"""Database models. Imports without an app: the factory initialises `db`."""
import datetime
import secrets

from peewee import (
    BlobField, BooleanField, CharField, DatabaseProxy, DateField, DateTimeField, DecimalField,
    ForeignKeyField, IntegerField, Model, SqliteDatabase, TextField,
)

from flask_login import UserMixin

from fields import SealedBlobField, SensitiveField, SensitiveJSONField

db = DatabaseProxy()


def utcnow() -> datetime.datetime:
    """Naive UTC, the one time zone stored in the database."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def write_transaction():
    """A transaction for a read-then-write. On SQLite it takes the write lock at once
    (BEGIN IMMEDIATE): a second writer then waits (busy_timeout) instead of failing
    with "database is locked" when it tries to upgrade its read lock. PostgreSQL
    decides with its own row locks and unique indexes."""
    if isinstance(db.obj, SqliteDatabase):
        return db.atomic(lock_type="IMMEDIATE")
    return db.atomic()


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


class BaseModel(Model):
    class Meta:
        database = db


class Account(UserMixin, BaseModel):
    STUDENT = "student"
    # Staff roles: 管理员 may do everything (staff accounts, settings, the audit
    # log); 学籍管理员 keeps records, imports, queues and student accounts; 查询员
    # only looks people and records up (the front desk).
    ADMIN = "admin"
    REGISTRAR = "registrar"
    VIEWER = "viewer"
    STAFF_ROLES = (ADMIN, REGISTRAR, VIEWER)
    # Who may change records, decide queues and act on student accounts.
    KEEPER_ROLES = (ADMIN, REGISTRAR)

    username = CharField(max_length=254, unique=True)
    role = CharField(max_length=16, default=STUDENT)
    # Indexed: staff look people up by name (services.search).
    real_name = CharField(max_length=64, null=True, index=True)
    id_type = CharField(max_length=16, null=True)
    id_number = SensitiveField(unique=True, null=True)
    phone = SensitiveField(index=True, null=True)
    password_hash = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)
    # Unused since logins are throttled per account and address (LoginThrottle);
    # kept so that migration stays additive.
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    # When the owner was last told by SMS about repeated failed logins.
    failure_alert_at = DateTimeField(null=True)
    # Bumped to end every session of the account at once (password reset, appeal).
    session_version = IntegerField(default=1)
    last_login_at = DateTimeField(null=True)
    # Set by the registrar (student) or a 管理员 (staff): the account cannot log in,
    # and the login page tells its owner the reason.
    disabled_at = DateTimeField(null=True)
    disabled_reason = TextField(null=True)
    # 护照姓名拼写: how the person's name is spelled in their passport, set under
    # 账户; the English side of their reports uses it instead of pinyin.
    latin_name = CharField(max_length=64, null=True)
    # 公开查询: anyone holding a diploma's 证书编号 and the graduate's name may check
    # that the diploma exists (views.verify diploma); the student may switch it off.
    public_checks = BooleanField(default=True)
    # 注销账号: closed by its owner (services.closing); the personal data left on
    # the row is erased once `erase_after` has passed (the school's retention period).
    closed_at = DateTimeField(null=True)
    erase_after = DateTimeField(null=True, index=True)

    @property
    def is_admin(self):
        """管理员: every staff page, including staff accounts and settings."""
        return self.role == self.ADMIN

    @property
    def is_staff(self):
        return self.role in self.STAFF_ROLES

    @property
    def keeps_records(self):
        return self.role in self.KEEPER_ROLES

    @property
    def is_disabled(self):
        return self.disabled_at is not None

    # The token of the LoginSession this object was loaded for (set at login and
    # by the user loader); never stored in this table.
    login_token = ""  # nosec B105 # a login session token held in memory, not a password

    def get_id(self):
        # The version makes old session and remember-me cookies stop working
        # the moment it is bumped (every device); the login token ends one device.
        return f"{self.id}:{self.session_version}:{self.login_token}"


class LoginEvent(BaseModel):
    account = ForeignKeyField(Account, backref="login_events", null=True, on_delete="CASCADE")
    at = DateTimeField(default=utcnow, index=True)
    ip = CharField(max_length=64)
    user_agent = CharField(max_length=512)
    success = BooleanField()


class LoginSession(BaseModel):
    """One login on one device. The browser's cookies carry the random token;
    only its SHA-256 is stored. Logging out ends this row only."""

    token_hash = CharField(max_length=64, unique=True)
    account = ForeignKeyField(Account, backref="login_sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    ip = CharField(max_length=64, default="")
    user_agent = CharField(max_length=512, default="")


class LoginThrottle(BaseModel):
    """Failed logins counted per (who was typed, client address).

    `key` is a keyed hash of the account (or, when no account matched, of the
    login typed) and the address, so unknown logins are throttled exactly like
    real ones and a stranger elsewhere cannot lock the owner out.
    """

    key = CharField(max_length=64, unique=True)
    account = ForeignKeyField(Account, null=True, on_delete="CASCADE")
    failures = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)


class OneTimeCode(BaseModel):
    """A 6-digit 校验码, stored hashed, for one purpose and one destination."""

    purpose = CharField(max_length=32)
    subject = CharField(max_length=64, index=True)
    channel = CharField(max_length=8)
    destination_index = CharField(max_length=64, index=True)
    code_hash = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField()
    attempts = IntegerField(default=0)
    used_at = DateTimeField(null=True)
    ip = CharField(max_length=64, default="")


class Challenge(BaseModel):
    """A check in progress that someone can receive a 校验码: the registration
    wizard, account recovery, a phone change (services.challenges runs them).

    The browser holds only the random token. `payload` keeps what the person
    typed (an ID number, a new phone), encrypted; `step` is where a multi-step
    flow stands. `account` is empty while registering, and in recovery when the
    details typed matched nobody: that flow then runs exactly as for a real
    account, so the answers do not tell whether an account exists.
    """

    token = CharField(max_length=64, unique=True, default=new_token)
    purpose = CharField(max_length=32)
    account = ForeignKeyField(Account, backref="challenges", null=True, on_delete="CASCADE")
    step = CharField(max_length=16, default="code")
    payload = SensitiveJSONField(default=dict)
    # The password chosen in the wizard, hashed as on an account; a column of its
    # own lets migration 005 copy the old drafts in plain SQL.
    password_hash = CharField(max_length=255, null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    verified_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)


class Appeal(BaseModel):
    """申诉: someone says the ID number taken by an account is theirs."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    reference = CharField(max_length=32, unique=True)
    real_name = CharField(max_length=64)
    id_type = CharField(max_length=16)
    id_number = SensitiveField(index=True)
    contact_email = CharField(max_length=254)
    # A phone number for contact, if the appellant gave one: the acknowledgement
    # and the decision are texted to it as well as e-mailed.
    contact_phone = SensitiveField(null=True)
    photo_path = CharField(max_length=255)
    status = CharField(max_length=16, default=PENDING)
    decision_reason = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    ip = CharField(max_length=64, default="")
    # The ID holder's answer (their own words; may hold personal data).
    holder_answer = SensitiveField(null=True)
    holder_answered_at = DateTimeField(null=True)


class AuditEntry(BaseModel):
    account = ForeignKeyField(Account, backref="audit_entries", null=True, on_delete="SET NULL")
    actor = CharField(max_length=254)
    action = CharField(max_length=64)
    # Encrypted: a correction's detail names the old and new value (an ID number).
    detail = SensitiveField(default="")
    ip = CharField(max_length=64, default="")
    at = DateTimeField(default=utcnow, index=True)
    # What changed, for the viewer to show with readable names in its language:
    # {"kind": "enrollment", "record": 12, "fields": {"major": ["old", "new"]}}.
    # Encrypted like `detail`: old and new values may be ID or phone numbers.
    changes = SensitiveJSONField(null=True)

    class Meta:
        # The audit log viewer filters by who and by action, newest first: each
        # index gives the matching entries already in time order.
        indexes = ((("actor", "at"), False), (("action", "at"), False))


# --- records (学籍 学历 学位 录取 资助) ----------------------------------------

class Record(BaseModel):
    """What every record kind has: the person, the binding, the update date.

    Field names are English; services.columns maps them to the Chinese column
    names of the import files and the pages.
    """

    # How a record was bound (bound_by): by name + ID number, by certificate number
    # (手动绑定), after a 学号 or 证书编号 check, on the registrar's approval, or by
    # the registrar directly.
    AUTO = "auto"
    CERTIFICATE = "certificate"
    NUMBER = "number"
    APPROVAL = "approval"
    REGISTRAR = "registrar"

    # Indexed like the filter columns of the kinds below: the registrar's search
    # (services.search) looks records up by name prefix, level, major, status, year.
    name = CharField(max_length=64, index=True)
    id_type = CharField(max_length=16, default="居民身份证")
    id_number = SensitiveField(index=True, null=True)
    account = ForeignKeyField(Account, null=True, on_delete="SET NULL")
    bound_by = CharField(max_length=16, null=True)
    bound_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # 撤销: withdrawn by the school with a reason. The owner no longer sees the
    # record and its reports verify as "withdrawn by the school"; restore clears it.
    withdrawn_at = DateTimeField(null=True)
    withdrawn_reason = TextField(null=True)


class Enrollment(Record):
    """学籍."""

    gender = CharField(max_length=4, null=True)
    birth_date = DateField(null=True)
    ethnicity = CharField(max_length=32, null=True)
    school_name = CharField(max_length=128)
    level = CharField(max_length=16, index=True)
    department = CharField(max_length=128, null=True)
    class_name = CharField(max_length=64, null=True)
    major = CharField(max_length=128, index=True)
    student_number = CharField(max_length=32, unique=True)
    study_mode = CharField(max_length=16, null=True)
    admission_date = DateField(null=True, index=True)
    duration = CharField(max_length=16, null=True)
    education_category = CharField(max_length=16, null=True)
    status = CharField(max_length=16, index=True)
    expected_graduation = DateField(null=True)
    photo = CharField(max_length=255, null=True)


class Diploma(Record):
    """学历. Before 2001 a diploma may carry a school number, a printed serial, or both."""

    gender = CharField(max_length=4, null=True)
    birth_date = DateField(null=True)
    school_name = CharField(max_length=128)
    level = CharField(max_length=16, index=True)
    major = CharField(max_length=128, index=True)
    duration = CharField(max_length=16, null=True)
    study_mode = CharField(max_length=16, null=True)
    education_category = CharField(max_length=16, null=True)
    admission_date = DateField(null=True)
    graduation_date = DateField(index=True)
    completion = CharField(max_length=8)
    certificate_number = CharField(max_length=32, null=True, unique=True)
    school_number = CharField(max_length=32, null=True)
    president = CharField(max_length=64, null=True)
    photo = CharField(max_length=255, null=True)
    # Normalised forms (no NO., no leading zeros) that manual binding matches.
    certificate_key = CharField(max_length=32, null=True, index=True)
    school_number_key = CharField(max_length=32, null=True, index=True)


class Degree(Record):
    """学位."""

    gender = CharField(max_length=4, null=True)
    birth_date = DateField(null=True)
    awarding_unit = CharField(max_length=128)
    degree = CharField(max_length=64)
    discipline = CharField(max_length=128, index=True)
    award_date = DateField(index=True)
    certificate_number = CharField(max_length=32, unique=True)
    certificate_key = CharField(max_length=32, index=True)


class Admission(Record):
    """录取."""

    candidate_number = CharField(max_length=32, unique=True)
    year = IntegerField(index=True)
    batch = CharField(max_length=64, null=True)
    major = CharField(max_length=128, index=True)
    level = CharField(max_length=16, index=True)


class Aid(Record):
    """资助."""

    school_year = CharField(max_length=16)
    program = CharField(max_length=128)
    amount = DecimalField(max_digits=12, decimal_places=2)
    paid_on = DateField(index=True)

    class Meta:
        indexes = ((("id_number_index", "school_year", "program", "paid_on"), True),)


class CorrectionRequest(BaseModel):
    """校对 / 更正申请: a student says one field of one record is wrong."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    account = ForeignKeyField(Account, backref="corrections", on_delete="CASCADE")
    kind = CharField(max_length=16)
    record_id = IntegerField()
    field = CharField(max_length=32)
    # Encrypted: the field corrected may be the ID number.
    current_value = SensitiveField(default="")
    proposed_value = SensitiveField()
    # What the registrar adopted: the proposed value, or their amended one.
    adopted_value = SensitiveField(null=True)
    reason = TextField()
    evidence_path = CharField(max_length=255, null=True)
    status = CharField(max_length=16, default=PENDING)
    reply = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    decided_by = CharField(max_length=254, null=True)
    # Equal to "kind:record_id:field" while pending, empty afterwards: a unique
    # index on it allows one pending request per field (the database decides races).
    pending_key = CharField(max_length=64, null=True, unique=True)


class BindAttempt(BaseModel):
    """A manual binding try, counted to stop enumeration of certificate numbers."""

    account = ForeignKeyField(Account, on_delete="CASCADE")
    at = DateTimeField(default=utcnow, index=True)
    success = BooleanField()
    ip = CharField(max_length=64, default="")


class BindRequest(BaseModel):
    """绑定确认: records match an account by name and ID number, but the school asks
    for more before they bind (services.binding, setting BIND_MODE).

    Pending: held for the registrar ("approval"). Approved: the registrar agreed, or
    the student typed a 学号 or 证书编号 of one of the records ("number", which
    writes an approved row at once); from then on the account's matching records
    bind automatically again. Rejected: declined with a reason the student sees.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    account = ForeignKeyField(Account, backref="bind_requests", on_delete="CASCADE")
    status = CharField(max_length=16, default=PENDING)
    # How it was settled: "approval" (the registrar) or "number" (the student's check).
    settled_by = CharField(max_length=16, null=True)
    created_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    decided_by = CharField(max_length=254, null=True)
    reason = TextField(null=True)
    # The account's id while pending, empty afterwards: a unique index allows one
    # pending request per account (the database decides races).
    pending_key = CharField(max_length=32, null=True, unique=True)


RECORD_MODELS = [Enrollment, Diploma, Degree, Admission, Aid]


# --- online verification reports (在线验证报告) ------------------------------

class Report(BaseModel):
    """A snapshot of one record with a verification code, issued by its owner."""

    account = ForeignKeyField(Account, backref="reports", on_delete="CASCADE")
    kind = CharField(max_length=16)
    record_id = IntegerField()
    # The code is a bearer secret: kept encrypted (the owner can see it again)
    # and looked up through the keyed hash in `code_index`.
    code = SensitiveField(unique=True)
    # JSON text, encrypted: it holds the code and, on 学籍 and 学位 reports, the ID number.
    snapshot = SensitiveField()
    issued_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)
    closed_at = DateTimeField(null=True)
    # Withdrawn by the school (an approved appeal moved the ID number away, or the
    # record was withdrawn): verifies as "withdrawn by the school", not as closed.
    withdrawn_at = DateTimeField(null=True)
    reminded_at = DateTimeField(null=True)
    pdf_path = CharField(max_length=255, null=True)
    pdf_sha256 = CharField(max_length=64, null=True)
    # The owner's choice when issuing: the report shows the full ID number, or a
    # masked one (the default) that a verifier can match without seeing it.
    full_id = BooleanField(default=False)
    # 查验提醒: tell the owner (SMS or e-mail) when the report is checked, at most
    # one message an hour; checks in between are counted and summed up in the next.
    alert_checks = BooleanField(default=False)
    alerted_at = DateTimeField(null=True)
    alerts_pending = IntegerField(default=0)


class Verification(BaseModel):
    """查验记录: every time someone checked a report, shown to its owner."""

    WEB = "web"
    PDF = "pdf"
    API = "api"
    # One code of a batch (the batch page or the batch API).
    BATCH = "batch"
    # An ID number matched against the report (outcome: match or mismatch).
    MATCH = "match"
    MATCHED = "match"
    MISMATCHED = "mismatch"

    report = ForeignKeyField(Report, backref="verifications", on_delete="CASCADE")
    at = DateTimeField(default=utcnow, index=True)
    channel = CharField(max_length=8)
    organisation = CharField(max_length=100, default="")
    purpose = CharField(max_length=100, default="")
    ip = CharField(max_length=64, default="")
    # What the check saw: the report's status (reports.VALID, …) or, for MATCH,
    # MATCHED / MISMATCHED. Empty on checks logged before migration 020.
    outcome = CharField(max_length=16, null=True)


class PublicCheck(BaseModel):
    """公开查询 of a diploma by 证书编号 and name that found it; shown to the
    diploma's owner beside the checks of their reports."""

    diploma = ForeignKeyField(Diploma, backref="public_checks", on_delete="CASCADE")
    at = DateTimeField(default=utcnow, index=True)
    ip = CharField(max_length=64, default="")


# --- settings the 管理员 keeps in the portal (services.settings) ---------------

class Setting(BaseModel):
    """One setting changed in the portal; config.py and PORTAL_* give the rest."""

    key = CharField(max_length=64, unique=True)
    value = TextField()  # JSON
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=254, default="")


class MajorName(BaseModel):
    """专业英文名: the English name of a major as recorded (in Chinese), for the
    English side of reports. Seeded with common majors; the registrar extends it."""

    major = CharField(max_length=128, unique=True)
    english = CharField(max_length=200)
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=254, default="")


class SchoolLogo(BaseModel):
    """An uploaded school logo, kept in the database so every app server has it;
    the Setting SCHOOL_LOGO names the current one by its SHA-256."""

    sha256 = CharField(max_length=64, unique=True)
    content_type = CharField(max_length=32)
    data = BlobField()
    created_at = DateTimeField(default=utcnow)


class SigningCertificate(BaseModel):
    """A signing certificate the school has used for report PDFs (services.signing).

    The row without `retired_at` is the current one: its private key is stored
    here encrypted with the data key, so every app server signs with it at once.
    A retired row keeps its certificate (PDFs signed before still verify) and
    loses its key. Before the first rotation this table is empty and the pair in
    the instance folder signs."""

    fingerprint = CharField(max_length=64, unique=True)  # SHA-256 of the DER certificate, hex
    subject = CharField(max_length=512)
    serial = CharField(max_length=80)
    not_before = DateTimeField()
    not_after = DateTimeField()
    cert_pem = TextField()
    private_key = SensitiveField(null=True)
    created_at = DateTimeField(default=utcnow)
    created_by = CharField(max_length=254, default="")
    retired_at = DateTimeField(null=True, index=True)


# --- the registrar's second factor (TOTP, RFC 6238) ---------------------------

class StaffTotp(BaseModel):
    """A staff account's authenticator secret. `enrolled_at` is empty until the
    person has typed a right code once; `last_counter` is the time step of the last
    code used (a code works once); `failed` counts wrong codes in a row and
    `generation` is bumped after too many, which voids every pending login."""

    account = ForeignKeyField(Account, unique=True, on_delete="CASCADE")
    secret = SensitiveField()
    enrolled_at = DateTimeField(null=True)
    last_counter = IntegerField(null=True)
    failed = IntegerField(default=0)
    generation = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class StaffRecoveryCode(BaseModel):
    """A one-time recovery code, stored as a keyed hash (crypto.blind_index)."""

    account = ForeignKeyField(Account, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64, index=True)
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class ImportBatch(BaseModel):
    """An uploaded import between its preview and the registrar's 导入 or 取消.

    The file (and photo ZIP) are kept sealed in the database, so any app server
    can commit the batch; they are dropped (NULL) once the batch is committed,
    cancelled or expired, leaving the history. `status` moves pending ->
    committing -> committed by conditional UPDATEs: a batch commits once.
    """

    PENDING = "pending"
    COMMITTING = "committing"
    COMMITTED = "committed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    token = CharField(max_length=64, unique=True, default=new_token)
    kind = CharField(max_length=16)
    filename = CharField(max_length=255)
    uploaded_by = CharField(max_length=254)
    uploaded_at = DateTimeField(default=utcnow, index=True)
    status = CharField(max_length=16, default=PENDING, index=True)
    # The preview's counts while pending; what was written once committed.
    rows = IntegerField(default=0)
    created = IntegerField(default=0)
    updated = IntegerField(default=0)
    unchanged = IntegerField(default=0)
    photos = IntegerField(default=0)
    committed_at = DateTimeField(null=True)
    # Who committed or cancelled it, and when (committed_at is set on commit only).
    finished_by = CharField(max_length=254, null=True)
    finished_at = DateTimeField(null=True)
    file_data = SealedBlobField(null=True)
    photos_data = SealedBlobField(null=True)


class StoredFile(BaseModel):
    """A file the portal keeps: record photos, appeal (ID card) photos, correction
    evidence and the signed report PDFs (migration 019), in the database so every
    app server can serve it. `name` is what the row that refers to it holds
    (Enrollment.photo, Appeal.photo_path, CorrectionRequest.evidence_path,
    Report.pdf_path); the bytes are sealed with the data key (services.files)."""

    name = CharField(max_length=255, unique=True)
    data = SealedBlobField()
    size = IntegerField()
    # Of the plain bytes: an import skips a photo that has not changed without unsealing it.
    sha256 = CharField(max_length=64)
    content_type = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)


ALL_MODELS = [Account, LoginEvent, LoginSession, LoginThrottle, OneTimeCode, Challenge, Appeal,
              AuditEntry, *RECORD_MODELS, CorrectionRequest, BindAttempt, BindRequest, Report,
              Verification, PublicCheck, StaffTotp, StaffRecoveryCode, Setting, MajorName, ImportBatch,
              StoredFile]
