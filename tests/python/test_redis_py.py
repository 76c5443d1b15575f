"""redis-py (latest release) against ferrodis, over RESP2 and RESP3."""

import threading
import time

import pytest
import redis
from redis.exceptions import LockError, ResponseError, WatchError


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, server_port):
    client = redis.Redis(port=server_port, protocol=request.param, decode_responses=True)
    client.flushall()
    yield client
    client.close()


def test_server_identifies_as_redis_7(r):
    info = r.info("server")
    assert info["redis_version"] == "7.0.15"
    assert info["redis_mode"] == "standalone"
    assert "ferrodis_version" in info


def test_strings_and_expiry(r):
    assert r.set("k", "v", ex=100) is True
    assert r.get("k") == "v"
    assert 0 < r.ttl("k") <= 100
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    assert r.mget("k", "n", "missing") == ["v", "42", None]


def test_pipeline_without_transaction(r):
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"key:{i}", i)
    pipe.get("key:42")
    results = pipe.execute()
    assert results[:100] == [True] * 100
    assert results[100] == "42"


def test_pipeline_with_transaction(r):
    pipe = r.pipeline(transaction=True)
    pipe.incr("counter").incr("counter").get("counter")
    assert pipe.execute() == [1, 2, "2"]


def test_transaction_fails_when_watched_key_changes(r, server_port):
    other = redis.Redis(port=server_port, decode_responses=True)
    r.set("balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        other.set("balance", 99)  # another client changes the key after WATCH
        pipe.multi()
        pipe.set("balance", 0)
        with pytest.raises(WatchError):
            pipe.execute()
    assert r.get("balance") == "99"
    other.close()


def test_transaction_helper_retries_until_success(r):
    r.set("x", 1)

    def double(pipe):
        value = int(pipe.get("x"))
        pipe.multi()
        pipe.set("x", value * 2)

    r.transaction(double, "x")
    assert r.get("x") == "2"


def test_pubsub_messages_arrive_in_order(r, server_port):
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("sport.*")
    assert p.get_message(timeout=2)["type"] == "subscribe"
    assert p.get_message(timeout=2)["type"] == "psubscribe"
    publisher = redis.Redis(port=server_port, decode_responses=True)
    assert publisher.publish("news", "one") == 1
    assert publisher.publish("sport.tennis", "two") == 1
    assert publisher.publish("news", "three") == 1
    got = []
    deadline = time.time() + 5
    while len(got) < 3 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    assert got == [
        ("message", "news", "one"),
        ("pmessage", "sport.tennis", "two"),
        ("message", "news", "three"),
    ]
    assert publisher.pubsub_numsub("news") == [("news", 1)]
    p.close()
    publisher.close()


def test_scan_iter_returns_every_key_once(r):
    for i in range(500):
        r.set(f"user:{i}", i)
    for i in range(100):
        r.set(f"other:{i}", i)
    keys = list(r.scan_iter(match="user:*", count=50))
    assert sorted(keys) == sorted(f"user:{i}" for i in range(500))


def test_collections(r):
    r.rpush("l", "a", "b", "c")
    assert r.lrange("l", 0, -1) == ["a", "b", "c"]
    r.hset("h", mapping={"f1": "v1", "f2": "v2"})
    assert r.hgetall("h") == {"f1": "v1", "f2": "v2"}
    r.sadd("s", "x", "y")
    assert r.smembers("s") == {"x", "y"}
    r.zadd("z", {"a": 1, "b": 2.5})
    # redis-py returns pairs as tuples over RESP2 and as lists over RESP3 (same with Redis).
    pairs = [tuple(p) for p in r.zrange("z", 0, -1, withscores=True)]
    assert pairs == [("a", 1.0), ("b", 2.5)]
    assert r.zscore("z", "b") == 2.5


def test_register_script(r):
    script = r.register_script("return {KEYS[1], ARGV[1], tonumber(ARGV[2]) * 2}")
    assert script(keys=["k"], args=["a", 21]) == ["k", "a", 42]
    r.script_flush()
    # redis-py reloads the script after NOSCRIPT.
    assert script(keys=["k"], args=["b", 1]) == ["k", "b", 2]


def test_lock_excludes_other_holders(r, server_port):
    lock = r.lock("resource", timeout=5, blocking_timeout=0.1)
    assert lock.acquire()
    other = redis.Redis(port=server_port, decode_responses=True)
    assert other.lock("resource", blocking_timeout=0.1).acquire() is False
    assert lock.extend(5)
    lock.release()
    with pytest.raises(LockError):
        lock.release()
    assert other.lock("resource", blocking_timeout=0.5).acquire() is True
    other.close()


def test_lock_serialises_increments(r, server_port):
    r.set("counter", 0)

    def worker():
        c = redis.Redis(port=server_port, decode_responses=True)
        for _ in range(25):
            with c.lock("counter-lock", timeout=5, sleep=0.001):
                n = int(c.get("counter"))
                c.set("counter", n + 1)
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get("counter") == "100"


def test_errors_are_redis_errors(r):
    r.set("s", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        r.lpush("s", "a")
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        r.execute_command("GET")


def test_acl_users_with_redis_py(r, server_port):
    """ACL through redis-py's helpers: acl_setuser, acl_getuser, AUTH with a username
    (the `username=` connection argument, sent as HELLO ... AUTH over RESP3), NOPERM errors."""
    from redis.exceptions import AuthenticationError, NoPermissionError

    try:
        assert r.acl_setuser(
            "py-app",
            enabled=True,
            passwords=["+py-secret"],
            keys=["app:*"],
            channels=["app:*"],
            commands=["+@read", "+@write", "-@dangerous", "+acl|whoami"],
        )
        user = r.acl_getuser("py-app")
        assert user["enabled"] is True
        assert "app:*" in " ".join(user["keys"])
        assert r.acl_whoami() == "default"
        assert "py-app" in r.acl_users()
        app = redis.Redis(
            port=server_port,
            protocol=r.connection_pool.connection_kwargs.get("protocol", 2),
            username="py-app",
            password="py-secret",
            decode_responses=True,
        )
        assert app.acl_whoami() == "py-app"
        assert app.set("app:1", "v")
        assert app.get("app:1") == "v"
        with pytest.raises(NoPermissionError, match="keys used as arguments"):
            app.set("other", "v")
        with pytest.raises(NoPermissionError, match="'flushall' command"):
            app.flushall()
        app.close()
        with pytest.raises(AuthenticationError):
            redis.Redis(port=server_port, username="py-app", password="wrong").ping()
        log = r.acl_log()
        assert log[0]["reason"] == "auth" and log[0]["username"] == "py-app"
        assert r.acl_dryrun("py-app", "get", "app:2") == "OK"
    finally:
        r.acl_deluser("py-app")
        r.acl_log_reset()
