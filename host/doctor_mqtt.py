"""`empathy doctor`'s checks of an MQTT link before a show: the files its URL names (the
password file; for mqtts://, the cinema default, the CA file and the client certificate
and its key), each readable by the service user, then the broker's own certificate in a
real TLS handshake. The handshake logs nobody in, so a running host or unit keeps its
place on the broker. One finding for each thing wrong, with what to do."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509

from empathy.host.doctor import Finding
from empathy.host.doctor_files import service_user_can_read
from empathy.transports.mqtt_url import MqttUrl

RENEW_DAYS = 30  # a certificate that ends sooner is said: renewed now, not mid-show
HANDSHAKE_S = 5.0
RESTART = "then `systemctl restart mosquitto`"


def _days(cert: x509.Certificate) -> float:
    return (cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400


def _date(cert: x509.Certificate) -> str:
    return cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")


def _names(cert: x509.Certificate) -> list[str]:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in alt]


def _read_certs(item: str, what: str, path: str) -> tuple[list, list[Finding]]:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except OSError as e:
        return [], [Finding(item, "fail", f"{what}={path} cannot be read: {e.strerror}",
                            f"put the {what} file there, readable by the service user")]
    except ValueError:
        return [], [Finding(item, "fail", f"{what}={path} holds no PEM certificate",
                            "give the certificate file itself (-----BEGIN CERTIFICATE-----)")]
    first = min(certs, key=_days)  # the one that ends first
    if _days(first) < 0:
        return certs, [Finding(item, "fail", f"the certificate in {what}={path} expired on "
                               f"{_date(first)}", f"renew it ({what}=), {RESTART}")]
    soon = [Finding(item, "warn", f"the certificate in {what}={path} expires in "
                    f"{_days(first):.1f} days ({_date(first)})", "renew it before then "
                    "(every unit and host that names it needs the new one)")] \
        if _days(first) < RENEW_DAYS else []
    return certs, soon + service_user_can_read(Path(path), f"{item} {what}")


def link_files(item: str, url: str) -> list[Finding]:
    """The files the URL names: readable (by the service user too); the CA file and the
    client certificate and key dated and a pair. Read as MqttUrl reads the URL, which
    would stop at the first it cannot read."""
    u = urlsplit(url)
    q = {k: v[-1] for k, v in parse_qs(u.query).items()}
    out, secret = [], q.get("password_file")
    if secret:
        try:
            Path(secret).read_bytes()
            out += service_user_can_read(Path(secret), f"{item} password_file")
        except OSError as e:
            out.append(Finding(item, "fail", f"password_file={secret} cannot be read: "
                               f"{e.strerror}", "`empathy keys new ... --broker-dir DIR` "
                               "writes each broker user's USER.mqtt: copy this one's there "
                               "(mode 0600, owned by the service user)"))
    if u.scheme == "mqtts":
        out += _tls_files(f"{item} tls", q.get("ca"), q.get("cert"), q.get("key"))
    return out


def _tls_files(item: str, ca: str | None, cert: str | None, key: str | None) -> list[Finding]:
    """The CA file and the client certificate and key: readable, dated, a pair."""
    out = []
    if ca:
        out += _read_certs(item, "ca", ca)[1]
    if cert:
        out += _read_certs(item, "cert", cert)[1]
        try:
            ssl.create_default_context().load_cert_chain(cert, key)
        except ssl.SSLError as e:
            if "KEY_VALUES_MISMATCH" in str(e):
                out.append(Finding(item, "fail", f"cert={cert} and key={key} are not a "
                                   "pair (the key was not made with this certificate)",
                                   "give key= the key its certificate request was made with"))
            else:
                out.append(Finding(item, "fail", f"cert={cert}, key={key}: {e.reason}",
                                   "give a PEM certificate and its unencrypted key"))
        except OSError as e:
            out.append(Finding(item, "fail", f"key={key} cannot be read: {e.strerror}",
                               "put the client key there, readable by the service user"))
    return out


def _peer(cfg: MqttUrl, ctx: ssl.SSLContext) -> bytes:
    with socket.create_connection((cfg.host, cfg.port), HANDSHAKE_S) as raw, \
            ctx.wrap_socket(raw, server_hostname=cfg.host) as tls:
        return tls.getpeercert(binary_form=True)


def _unverified(cfg: MqttUrl) -> x509.Certificate | None:
    """The broker's certificate as it is, to say what is wrong with it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        return x509.load_der_x509_certificate(_peer(cfg, ctx))
    except (OSError, ValueError):
        return None


def _refused(item: str, cfg: MqttUrl, e: ssl.SSLCertVerificationError) -> Finding:
    where, cert = f"{cfg.host}:{cfg.port}", _unverified(cfg)
    ca = f"the CA in ca={cfg.ca}" if cfg.ca else "any CA this machine trusts (no ca= given)"
    if e.verify_code == 10 and cert:
        return Finding(item, "fail", f"the broker's certificate at {where} expired on "
                       f"{_date(cert)}: no unit or host can connect", f"renew it from the same "
                       f"CA (subjectAltName naming {cfg.host}), {RESTART}")
    if e.verify_code == 9:
        return Finding(item, "fail", f"the broker's certificate at {where} is not valid yet",
                       "check this machine's clock (`timedatectl`), then the certificate's dates")
    if e.verify_code in (62, 64) and cert:  # a host name, an IP address
        return Finding(item, "fail", f"the broker's certificate at {where} names "
                       f"{', '.join(_names(cert)) or 'nothing'}, not {cfg.host}",
                       f"connect by a name it holds, or reissue it with subjectAltName naming "
                       f"{cfg.host}, {RESTART}")
    if e.verify_code in (2, 18, 19, 20, 21):
        return Finding(item, "fail", f"the broker's certificate at {where} is not signed by "
                       f"{ca}", "ca= must be the CA file that signed the broker's "
                       "certificate (the cinema's ca.crt)")
    return Finding(item, "fail", f"the broker's certificate at {where}: {e.verify_message}",
                   f"check it against {ca}")


def check_tls(item: str, url: str) -> list[Finding]:
    """The broker's certificate as an mqtts:// URL meets it (its files checked first:
    `link_files`), a fail when no login can work."""
    cfg = MqttUrl(url)
    where, item = f"{cfg.host}:{cfg.port}", f"{item} tls"
    try:
        cert = x509.load_der_x509_certificate(_peer(cfg, cfg.ssl_context()))
    except ssl.SSLCertVerificationError as e:
        return [_refused(item, cfg, e)]
    except ssl.SSLError as e:
        return [Finding(item, "fail", f"the TLS handshake with {where} failed: "
                        f"{e.reason or e}", "is it the broker's TLS listener (8883, "
                        "with certfile and keyfile in mosquitto.conf)?")]
    except ConnectionRefusedError:
        return [Finding(item, "fail", f"nothing listens at {where}", "start the broker "
                        "(`systemctl status mosquitto`), check the port")]
    except OSError as e:
        return [Finding(item, "fail", f"cannot reach {where}: {e.strerror or e}",
                        "check the host name, the network and the firewall")]
    days = _days(cert)
    said = (f"TLS to {where}: the broker's certificate names {cfg.host} and is signed by "
            f"{'ca=' + cfg.ca if cfg.ca else 'a CA this machine trusts'}; it ends "
            f"{_date(cert)}")
    if days < RENEW_DAYS:
        return [Finding(item, "warn", f"{said}: expires in {days:.1f} days",
                        f"renew it before then (the same CA), {RESTART}")]
    return [Finding(item, "ok", f"{said} ({days:.0f} days)")]
