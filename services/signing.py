"""The school's document-signing key and certificate.

Report PDFs are signed with this key so that a verifier can check them offline
against the school's certificate. On first run an RSA 3072 key and a self-signed
certificate are created in the instance folder; a school that has its own pair
(e.g. issued by a CA) puts `school-signing.key` and `school-signing.crt` there.

A 管理员 rotates the pair in the portal (`rotate`): the new certificate and its
key (encrypted with the data key) go into the `SigningCertificate` table, the
previous certificate stays there as retired, so PDFs signed before still verify
(`trusted_certificates`). `active` finds the current pair with one small query
per use, so every app server signs with the new key at once.
"""
import datetime
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from flask_babel import lazy_gettext as _l
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

import crypto
from models import SigningCertificate, utcnow, write_transaction
from services import audit
from services.errors import ServiceError

KEY_FILE = "school-signing.key"
CERT_FILE = "school-signing.crt"
VALIDITY = datetime.timedelta(days=3653)
# A second worker that loses the O_EXCL race waits this long for the winner's
# certificate to appear.
_WAIT_FOR_CERT_SECONDS = 10.0


class _LoadedKeySigner(SimpleSigner):
    """SimpleSigner that keeps the parsed RSA key.

    SimpleSigner parses the private key on every signature, and parsing an
    RSA 3072 key (with its consistency checks) costs ~0.1 s; a report is signed
    twice (a dry run sizes the signature field).
    """

    def __init__(self, private_key, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key

    @property
    def fixed_size_signatures(self) -> bool:
        """RSA signatures always have the key's length; ECDSA ones vary by a few bytes."""
        return isinstance(self._private_key, rsa.RSAPrivateKey)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        if (isinstance(self._private_key, rsa.RSAPrivateKey)
                and mechanism.signature_algo == "rsassa_pkcs1v15"):
            return self._private_key.sign(data, PKCS1v15(),
                                          get_pyca_cryptography_hash(digest_algorithm))
        return super().sign_raw(data, digest_algorithm)


@dataclass(frozen=True)
class SigningKeys:
    cert_pem: bytes
    cert_der: bytes
    fingerprint_sha256: str
    certificate: asn1_x509.Certificate = field(repr=False)
    signer: SimpleSigner = field(repr=False)


def load_or_create(key_dir, school_name: str, school_name_en: str) -> SigningKeys:
    """Load the signing key pair from `key_dir`, creating it on first run.

    A file that is there but cannot be read or parsed is a RuntimeError naming
    it, never a reason to make a new pair: reports already issued are checked
    against this certificate.
    """
    key_dir = Path(key_dir)
    key_path, cert_path = key_dir / KEY_FILE, key_dir / CERT_FILE
    if not key_path.exists():
        if cert_path.exists():
            # Never put a new key beside a certificate the school supplied.
            raise RuntimeError(f"{cert_path} exists but {key_path} does not: "
                               "put the key that belongs to the certificate there")
        _create(key_path, cert_path, school_name, school_name_en)
    _wait_for(cert_path)
    return _load(key_path, cert_path)


def _create(key_path: Path, cert_path: Path, school_name: str, school_name_en: str):
    crypto.private_dir(key_path.parent)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # O_EXCL: two workers starting at once must not write two different keys.
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    cert = _self_signed_certificate(key, school_name, school_name_en)
    # Write-then-rename, so a reader never sees half a certificate.
    crypto.write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), sealed=False)


def _self_signed_certificate(key, school_name: str, school_name_en: str) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, school_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, school_name),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, school_name_en or school_name),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # A little slack for verifiers whose clocks run behind.
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _wait_for(cert_path: Path):
    deadline = time.monotonic() + _WAIT_FOR_CERT_SECONDS
    while not cert_path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{cert_path.with_name(KEY_FILE)} exists but {cert_path} does not: "
                "put the certificate that belongs to the key there, or remove the key")
        time.sleep(0.05)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise RuntimeError(f"cannot read {path} ({error.strerror}): "
                           "make it readable by the user the portal runs as") from None


@functools.lru_cache(maxsize=8)
def _parse_key(key_pem: bytes):
    """The key as cryptography and as pyHanko want it. Each parse of an RSA 3072
    key (with its consistency checks) costs ~0.2 s; cached by content, apps built
    from the same files (the tests build hundreds) pay once."""
    return (serialization.load_pem_private_key(key_pem, password=None),
            load_private_key_from_pemder_data(key_pem, passphrase=None))


def _load(key_path: Path, cert_path: Path) -> SigningKeys:
    key_pem, cert_pem = _read(key_path), _read(cert_path)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise RuntimeError(f"{cert_path} is not a PEM certificate: "
                           "put the school's signing certificate there") from None
    try:
        key, key_info = _parse_key(key_pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise RuntimeError(f"{key_path} is not an unencrypted PEM private key: "
                           f"put the key that belongs to {cert_path.name} there") from None
    if not _same_public_key(key, cert):
        raise ValueError(f"{KEY_FILE} and {CERT_FILE} do not belong together")
    return _signing_keys(key, key_info, cert)


def _same_public_key(key, cert: x509.Certificate) -> bool:
    same = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        return key.public_key().public_bytes(*same) == cert.public_key().public_bytes(*same)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


def _signing_keys(key, key_info, cert: x509.Certificate) -> SigningKeys:
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    asn1_cert = asn1_x509.Certificate.load(cert_der)
    signer = _LoadedKeySigner(
        key,
        signing_cert=asn1_cert,
        signing_key=key_info,
        # Empty: the signer's certificate is embedded anyway; listing it here
        # would put it into every signature twice.
        cert_registry=SimpleCertificateStore(),
    )
    return SigningKeys(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        cert_der=cert_der,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        certificate=asn1_cert,
        signer=signer,
    )


# --- rotation in the portal -----------------------------------------------------

class SigningError(ServiceError):
    pass


# Keys that pyHanko signs with (and a verifier's software checks).
_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


def check_pair(key_pem: bytes, cert_pem: bytes, *, now=None) -> SigningKeys:
    """The pair a 管理员 uploaded, as SigningKeys; SigningError beside the field at fault."""
    try:
        cert = x509.load_pem_x509_certificate(bytes(cert_pem).strip())
    except (ValueError, TypeError):
        raise SigningError(_l("证书不是 PEM 格式的 X.509 证书（以 -----BEGIN CERTIFICATE----- 开头）。"),
                           field="certificate") from None
    moment = (now or utcnow()).replace(tzinfo=datetime.timezone.utc)
    if cert.not_valid_after_utc <= moment:
        raise SigningError(_l("这张证书已经过期，不能用来签名。"), field="certificate")
    if cert.not_valid_before_utc > moment + datetime.timedelta(days=1):
        raise SigningError(_l("这张证书还没有生效。"), field="certificate")
    try:
        key, key_info = _parse_key(bytes(key_pem).strip())
    except TypeError:  # a passphrase is needed
        raise SigningError(_l("私钥有密码保护，请上传未加密的私钥（PEM）。"), field="private_key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SigningError(_l("私钥不是 PEM 格式的私钥（以 -----BEGIN PRIVATE KEY----- 开头）。"),
                           field="private_key") from None
    if not isinstance(key, _KEY_TYPES):
        raise SigningError(_l("只支持 RSA、ECDSA 或 Ed25519 私钥。"), field="private_key")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        raise SigningError(_l("RSA 私钥至少要 2048 位。"), field="private_key")
    if not _same_public_key(key, cert):
        raise SigningError(_l("私钥与证书不匹配：请上传这张证书对应的私钥。"), field="private_key")
    return _signing_keys(key, key_info, cert)


def generate(school_name: str, school_name_en: str) -> tuple[bytes, bytes]:
    """A new RSA 3072 key and a self-signed certificate for it: (key PEM, certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    cert = _self_signed_certificate(key, school_name, school_name_en)
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM))


def _row_values(cert_pem: bytes) -> dict:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return dict(fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
                subject=cert.subject.rfc4514_string()[:512],
                serial=format(cert.serial_number, "x")[:80],
                not_before=cert.not_valid_before_utc.replace(tzinfo=None),
                not_after=cert.not_valid_after_utc.replace(tzinfo=None),
                cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))


def rotate(key_pem: bytes, cert_pem: bytes, *, current: SigningKeys, actor: str,
           ip: str = "") -> SigningCertificate:
    """Sign with the uploaded pair from now on. The certificate in use until now is
    kept as retired (without its key): PDFs it signed still verify. One audit
    entry ("signing.rotated") names both fingerprints."""
    new = check_pair(key_pem, cert_pem)
    with write_transaction():
        in_use = active(current)
        if new.fingerprint_sha256 == in_use.fingerprint_sha256:
            raise SigningError(_l("这张证书就是现在使用的证书。"), field="certificate")
        if (SigningCertificate.select()
                .where(SigningCertificate.fingerprint == new.fingerprint_sha256).exists()):
            raise SigningError(_l("这张证书以前用过，已经停用，不能再启用。"), field="certificate")
        now = utcnow()
        retired = (SigningCertificate.update(retired_at=now, private_key=None)
                   .where(SigningCertificate.retired_at.is_null()).execute())
        if not retired:
            # The first rotation: the pair from the instance folder becomes the first retired row.
            SigningCertificate.create(**_row_values(in_use.cert_pem), retired_at=now,
                                      created_by="", created_at=now)
        row = SigningCertificate.create(**_row_values(new.cert_pem),
                                        private_key=bytes(key_pem).strip().decode("ascii"),
                                        created_by=actor, created_at=now)
        audit.log("signing.rotated", actor=actor, ip=ip,
                  detail=f"{in_use.fingerprint_sha256} -> {new.fingerprint_sha256}",
                  changes={"settings": {"SIGNING_CERTIFICATE": [in_use.fingerprint_sha256,
                                                                new.fingerprint_sha256]}})
    return row


_active: dict[str, SigningKeys] = {}


def active(fallback: SigningKeys) -> SigningKeys:
    """The pair that signs now: the current row of SigningCertificate, else `fallback`
    (the pair in the instance folder). One indexed query; parsed once per process."""
    row = (SigningCertificate.select(SigningCertificate.id, SigningCertificate.fingerprint)
           .where(SigningCertificate.retired_at.is_null())
           .order_by(SigningCertificate.id.desc()).first())
    if row is None:
        return fallback
    keys = _active.get(row.fingerprint)
    if keys is None:
        full = SigningCertificate.get_by_id(row.id)
        if not full.private_key:
            return fallback
        keys = check_pair(full.private_key.encode("ascii"), full.cert_pem.encode("ascii"),
                          now=full.not_before)
        if len(_active) > 16:
            _active.clear()
        _active[row.fingerprint] = keys
    return keys


def history() -> list[SigningCertificate]:
    """Every certificate used since the first rotation, current first (empty before it)."""
    return list(SigningCertificate.select(
        SigningCertificate.id, SigningCertificate.fingerprint, SigningCertificate.subject,
        SigningCertificate.serial, SigningCertificate.not_before, SigningCertificate.not_after,
        SigningCertificate.created_at, SigningCertificate.created_by,
        SigningCertificate.retired_at, SigningCertificate.cert_pem)
        .order_by(SigningCertificate.id.desc()))


def describe(keys: SigningKeys) -> dict:
    """What the certificate page shows of the pair in the instance folder."""
    values = _row_values(keys.cert_pem)
    values.pop("cert_pem")
    return values


def trusted_certificates(current: SigningKeys) -> list:
    """The school's certificates a report PDF may be signed with: the current one
    and every retired one (asn1crypto certificates, for services.pdf)."""
    pems = {current.fingerprint_sha256: current.certificate}
    for row in SigningCertificate.select(SigningCertificate.fingerprint, SigningCertificate.cert_pem):
        if row.fingerprint not in pems:
            der = x509.load_pem_x509_certificate(row.cert_pem.encode("ascii")).public_bytes(
                serialization.Encoding.DER)
            pems[row.fingerprint] = asn1_x509.Certificate.load(der)
    return list(pems.values())


def certificate_pem(fingerprint: str) -> bytes | None:
    """A current or retired certificate by its SHA-256 fingerprint (hex), or None."""
    row = (SigningCertificate.select(SigningCertificate.cert_pem)
           .where(SigningCertificate.fingerprint == fingerprint.lower()).first())
    return row.cert_pem.encode("ascii") if row else None
