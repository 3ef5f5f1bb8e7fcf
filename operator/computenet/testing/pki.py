"""Certificates for local control planes.

Each cluster gets its own CA, so a client configured for one member cannot silently talk to
another: TLS is verified everywhere, as it would be between real clusters. EC P-256 keys keep
generation fast enough that a fresh federation starts in seconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


class CertificateAuthority:
    """A throwaway CA that signs one cluster's serving and client certificates.

    ``rsa`` and ``dns_name`` make the CA that cert-controller's rotator (open-policy-agent/cert-controller
    v0.12.0 ``pkg/rotator/rotator.go``) accepts as its own: an RSA key (``buildArtifactsFromSecret``
    parses it as PKCS #1) and a certificate valid for the DNS name ``CAName`` (``validCACert``).
    """

    def __init__(self, common_name: str, *, rsa_key: bool = False, dns_name: str | None = None) -> None:
        self._key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key else _key()
        )
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
        )
        if dns_name:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        self._cert = (
            builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The CA's private key: PKCS #1 (``RSA PRIVATE KEY``) for an RSA CA, PKCS #8 otherwise."""
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        return _key_pem(self._key)

    def _issue(
        self,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
    ) -> KeyPair:
        key = _key()
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def serving(self, host: str = "127.0.0.1") -> KeyPair:
        """A serving certificate valid for loopback and the in-cluster service names."""
        sans: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address(host)),
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
        ]
        return self._issue(_name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans)

    def kubelet(self, host: str = "127.0.0.1", dns_names: tuple[str, ...] = ()) -> KeyPair:
        """A loopback serving certificate for `host`: kwok's kubelet (pod logs), a controller's webhooks.

        `dns_names` are further names it is valid for (a controller that checks its certificate
        against its in-cluster Service name).
        """
        sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
        sans.extend(x509.DNSName(n) for n in dns_names)
        return self._issue(_name("kwok-kubelet"), ExtendedKeyUsageOID.SERVER_AUTH, sans)

    def client(self, user: str, group: str | None = None) -> KeyPair:
        """A client certificate: CN is the user, O the group (system:masters for admins)."""
        return self._issue(_name(user, group), ExtendedKeyUsageOID.CLIENT_AUTH)


@dataclass(frozen=True)
class KubeletFiles:
    """Where a member's simulated kubelet keeps its serving pair and the CA the API server trusts it by."""

    ca: Path
    cert: Path
    key: Path


def write_kubelet_pki(directory: Path, host: str = "127.0.0.1") -> KubeletFiles:
    """A CA of its own and a serving certificate for kwok's kubelet server, written into `directory`.

    The member's API server gets `ca` as `--kubelet-certificate-authority`, so the logs it proxies
    from the node come over TLS it verifies, as between a real API server and its kubelets.
    """
    ca = CertificateAuthority("kubelet-ca")
    serving = ca.kubelet(host)
    files = KubeletFiles(directory / "kubelet-ca.crt", directory / "kubelet.crt", directory / "kubelet.key")
    directory.mkdir(parents=True, exist_ok=True)
    files.ca.write_bytes(ca.cert_pem)
    files.cert.write_bytes(serving.cert_pem)
    write_private(files.key, serving.key_pem)
    return files


@dataclass(frozen=True)
class WebhookPki:
    """What a controller that checks its own webhook certificate needs of it: the CA's name, the serving names."""

    ca_name: str
    dns_names: tuple[str, ...]


@dataclass(frozen=True)
class WebhookFiles:
    """A webhook server's CA (its `caBundle`) and the directory holding its tls.crt and tls.key."""

    ca: Path
    cert_dir: Path


def write_webhook_pki(directory: Path, host: str = "127.0.0.1", pki: WebhookPki | None = None) -> WebhookFiles:
    """A CA of its own and a serving pair for an admission webhook server on `host`, in `directory`.

    The pair is named as controller-runtime's webhook server reads it (tls.crt, tls.key in its
    cert dir); the API server trusts it through the webhook configuration's caBundle. With `pki`,
    the CA is made as it asks and its key is kept too (ca.key), for a controller that is handed
    its CA in a Secret.
    """
    ca = (
        CertificateAuthority("webhook-ca")
        if pki is None
        else CertificateAuthority(pki.ca_name, rsa_key=True, dns_name=pki.ca_name)
    )
    serving = ca.kubelet(host, pki.dns_names if pki is not None else ())
    files = WebhookFiles(directory / "ca.crt", directory)
    directory.mkdir(parents=True, exist_ok=True)
    files.ca.write_bytes(ca.cert_pem)
    if pki is not None:
        write_private(directory / "ca.key", ca.key_pem)
    (directory / "tls.crt").write_bytes(serving.cert_pem)
    write_private(directory / "tls.key", serving.key_pem)
    return files


def service_account_keys() -> KeyPair:
    """The key pair kube-apiserver signs service-account tokens with (cert_pem holds the public key)."""
    key = _key()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(public, _key_pem(key))


def write_private(path: Path, data: bytes) -> None:
    """Write key material readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)
