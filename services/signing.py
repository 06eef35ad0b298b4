"""The school's document-signing key and certificate.

Report PDFs are signed with this key so that a verifier can check them offline
against the school's certificate. On first run an RSA 3072 key and a self-signed
certificate are created in the instance folder; a school that has its own pair
(e.g. issued by a CA) puts `school-signing.key` and `school-signing.crt` there.
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
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

import crypto

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
    same = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*same) != cert.public_key().public_bytes(*same):
        raise ValueError(f"{KEY_FILE} and {CERT_FILE} do not belong together")
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
