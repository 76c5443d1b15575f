"""Failover by Redis's own Sentinel: three Debian redis-sentinel processes watch a ferrodis
master with two ferrodis replicas. redis-py's Sentinel client writes through whichever server
Sentinel names master, each write followed by WAIT 1; the master is killed with SIGKILL in the
middle. A replica must be promoted, the other must follow it, the client must go on writing
through the new master, the old master must come back as a replica of the new one, and every
write that WAIT confirmed must be on every server at the end."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis
from redis.sentinel import Sentinel

SENTINEL = shutil.which("redis-sentinel")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Cluster:
    """The processes of one test, killed at the end whatever happens."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}

    def start_ferrodis(self, port, replicaof=None):
        d = self.tmp / f"ferrodis-{port}"
        d.mkdir(exist_ok=True)
        args = [os.environ["FERRODIS_BIN"], "--port", str(port), "--dir", str(d), "--save", "",
                "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]
        if replicaof:
            args += ["--replicaof", "127.0.0.1", str(replicaof)]
        log = open(d / "log", "a")
        self.procs[port] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for(f"ferrodis on {port}", lambda: redis.Redis(port=port).ping())

    def start_sentinel(self, port, master_port):
        conf = self.tmp / f"sentinel-{port}.conf"
        conf.write_text(
            f"port {port}\n"
            f"dir {self.tmp}\n"
            f"sentinel monitor mymaster 127.0.0.1 {master_port} 2\n"
            "sentinel down-after-milliseconds mymaster 1000\n"
            "sentinel failover-timeout mymaster 10000\n"
            "sentinel parallel-syncs mymaster 1\n"
        )
        log = open(self.tmp / f"sentinel-{port}.log", "a")
        self.procs[port] = subprocess.Popen(
            [SENTINEL, str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_for(f"sentinel on {port}", lambda: redis.Redis(port=port).ping())

    def kill(self, port):
        proc = self.procs.pop(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def close(self):
        for proc in self.procs.values():
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


def role(port):
    return redis.Redis(port=port, socket_timeout=2).execute_command("ROLE")


@pytest.mark.skipif(
    SENTINEL is None and not os.environ.get("CI"),
    reason="redis-sentinel not installed (Debian package redis-sentinel)",
)
def test_sentinel_fails_ferrodis_over_and_keeps_every_acknowledged_write(cluster):
    assert SENTINEL, "CI must install redis-sentinel"
    master, r1, r2 = free_port(), free_port(), free_port()
    cluster.start_ferrodis(master)
    cluster.start_ferrodis(r1, replicaof=master)
    cluster.start_ferrodis(r2, replicaof=master)
    sentinels = [free_port() for _ in range(3)]
    for port in sentinels:
        cluster.start_sentinel(port, master)
    sentinel = Sentinel(
        [("127.0.0.1", p) for p in sentinels], socket_timeout=2, sentinel_kwargs={"socket_timeout": 2}
    )
    # Every sentinel knows both replicas and the two other sentinels.
    for port in sentinels:
        s = redis.Redis(port=port, decode_responses=True)
        wait_for(
            "sentinel discovery",
            lambda: len(s.sentinel_slaves("mymaster")) == 2 and len(s.sentinel_sentinels("mymaster")) == 2,
        )

    acknowledged = []
    failed_writes = 0
    killed_at = None
    new_master = None
    deadline = time.time() + 90
    i = 0
    while time.time() < deadline:
        client = sentinel.master_for("mymaster", socket_timeout=2, retry_on_timeout=False)
        try:
            client.set(f"key:{i}", i)
            if client.execute_command("WAIT", 1, 2000) >= 1:
                acknowledged.append(i)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                redis.exceptions.ReadOnlyError):
            failed_writes += 1
            time.sleep(0.2)
        i += 1
        if killed_at is None and len(acknowledged) == 200:
            cluster.kill(master)
            killed_at = time.time()
        if killed_at is not None and new_master is None:
            try:
                _, port = sentinel.discover_master("mymaster")
                if port != master:
                    new_master = port
            except redis.sentinel.MasterNotFoundError:
                pass  # the sentinels see the master down and have not promoted anyone yet
        # Go on writing through the new master for a while after the switch.
        if new_master is not None and len(acknowledged) >= 600:
            break
    assert killed_at is not None
    assert new_master in (r1, r2), f"no failover: master still {master}"
    assert len(acknowledged) >= 600, f"writes stalled after the failover ({failed_writes} failed)"
    other = r2 if new_master == r1 else r1
    assert role(new_master)[0] == b"master"
    wait_for("the other replica to follow the new master",
             lambda: role(other)[:3] == [b"slave", b"127.0.0.1", new_master] and role(other)[3] == b"connected")

    # The old master comes back and Sentinel makes it a replica of the new one.
    cluster.start_ferrodis(master)
    wait_for("the old master to become a replica",
             lambda: role(master)[:3] == [b"slave", b"127.0.0.1", new_master] and role(master)[3] == b"connected",
             timeout=60)

    # Every write WAIT confirmed is everywhere; the three servers hold the same data.
    wait_for("replicas to catch up", lambda: len({
        redis.Redis(port=p).execute_command("DEBUG", "DIGEST") for p in (new_master, other, master)
    }) == 1, timeout=30)
    primary = redis.Redis(port=new_master)
    values = primary.mget([f"key:{n}" for n in acknowledged])
    missing = [n for n, v in zip(acknowledged, values) if v != str(n).encode()]
    assert missing == [], f"acknowledged writes lost: {missing[:10]}"
