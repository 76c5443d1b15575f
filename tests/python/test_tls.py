"""redis-py with ssl=True against ferrodis's tls-port: commands, pipelines, pub/sub, client
certificates and tls-protocols, with certificates made for the run by openssl."""

import socket
import ssl
import subprocess

import pytest
import redis

from conftest import start_server

CERTS = r"""
set -e
for ca in ca other-ca; do
  openssl genrsa -out $ca.key 2048
  openssl req -x509 -new -nodes -sha256 -key $ca.key -days 30 -subj "/O=ferrodis test/CN=$ca" -out $ca.crt
done
sign() {
  openssl genrsa -out $1.key 2048
  openssl req -new -sha256 -subj "/O=ferrodis test/CN=localhost" -key $1.key -out $1.csr
  printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n" > $1.ext
  openssl x509 -req -sha256 -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 30 -extfile $1.ext -out $1.crt
}
sign redis ca
sign stranger other-ca
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["sh", "-c", CERTS], cwd=d, check=True, capture_output=True)
    return d


@pytest.fixture(scope="module")
def tls_server(certs):
    # `--port 0` with a TLS port: TLS only; the port the server reports is the TLS one.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    proc, port = start_server(
        [
            "--tls-port", str(free),
            "--tls-cert-file", str(certs / "redis.crt"),
            "--tls-key-file", str(certs / "redis.key"),
            "--tls-ca-cert-file", str(certs / "ca.crt"),
        ]
    )
    yield port
    proc.kill()
    proc.wait(timeout=10)


def client(certs, port, cert="redis", **kw):
    extra = {}
    if cert:
        extra = dict(ssl_certfile=str(certs / f"{cert}.crt"), ssl_keyfile=str(certs / f"{cert}.key"))
    return redis.Redis(
        port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"), socket_timeout=10, **extra, **kw
    )


def test_commands_and_pipelines_over_tls(certs, tls_server):
    r = client(certs, tls_server)
    assert r.ping() is True
    assert r.set("k", b"\x00binary\xff") is True
    assert r.get("k") == b"\x00binary\xff"
    pipe = r.pipeline(transaction=False)
    for i in range(5000):
        pipe.incr("counter")
    assert pipe.execute()[-1] == 5000
    with r.pipeline() as tx:
        tx.rpush("list", *range(100)).lrange("list", 0, 2)
        assert tx.execute() == [100, [b"0", b"1", b"2"]]
    big = b"x" * (3 * 1024 * 1024)
    r.set("big", big)
    assert r.get("big") == big


def test_pubsub_over_tls(certs, tls_server):
    r = client(certs, tls_server)
    p = client(certs, tls_server).pubsub()
    p.subscribe("news")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert r.publish("news", "hello") == 1
    msg = p.get_message(timeout=5)
    assert (msg["type"], msg["data"]) == ("message", b"hello")


def test_client_certificate_required_and_checked(certs, tls_server):
    with pytest.raises(redis.exceptions.ConnectionError):
        client(certs, tls_server, cert=None).ping()
    with pytest.raises(redis.exceptions.ConnectionError):
        client(certs, tls_server, cert="stranger").ping()
    assert client(certs, tls_server).ping() is True


def test_tls_protocols_limits_the_versions(certs, tls_server):
    admin = client(certs, tls_server)
    assert admin.config_set("tls-protocols", "TLSv1.2") is True
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            client(certs, tls_server, ssl_min_version=ssl.TLSVersion.TLSv1_3).ping()
        r = client(certs, tls_server, ssl_min_version=ssl.TLSVersion.TLSv1_2)
        assert r.ping() is True
        version = r.connection_pool.get_connection()._sock.version()
        assert version == "TLSv1.2"
    finally:
        admin.config_set("tls-protocols", "")
