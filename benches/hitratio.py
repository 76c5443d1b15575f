"""The cache workload of benches/hitratio.sh: a Zipf-distributed GET / SET-on-miss trace.

usage: hitratio.py measure PORT   load every key once; print the bytes of used_memory they took
       hitratio.py replay PORT    replay the trace; print "hits requests"

The trace is the same on every run (fixed seed): REQUESTS reads of NKEYS keys, key of rank r
(1-based) drawn with probability proportional to 1 / r**SKEW, each value VALUE bytes. A read
that misses is followed by a SET of that key, as an application filling its cache would.

Batching: one request at a time would take minutes per run, so the trace goes in batches of
BATCH requests: the batch's GETs in one pipeline, then one SET per distinct key that missed,
in a second pipeline. Compared with strict request order this differs only inside a batch: a
key read twice in one batch whose first read missed also misses the second time (in strict
order it would hit). The batches are the same for both servers, so the approximation is too.
"""

import itertools
import os
import random
import sys

import redis

NKEYS = int(os.environ.get("NKEYS", 200_000))
REQUESTS = int(os.environ.get("REQUESTS", 1_000_000))
SKEW = float(os.environ.get("SKEW", 0.99))
VALUE = int(os.environ.get("VALUE", 300))
BATCH = int(os.environ.get("BATCH", 100))
SEED = int(os.environ.get("SEED", 42))


def key(k):
    return b"key:%d" % k


def value(k):
    return (b"%d:" % k).ljust(VALUE, b"v")


def trace():
    """The key numbers of the trace, rank 0 the hottest."""
    rng = random.Random(SEED)
    weights = [1 / (r + 1) ** SKEW for r in range(NKEYS)]
    return rng.choices(range(NKEYS), cum_weights=list(itertools.accumulate(weights)), k=REQUESTS)


def used_memory(r):
    return r.info("memory")["used_memory"]


def measure(r):
    before = used_memory(r)
    for start in range(0, NKEYS, 1000):
        p = r.pipeline(transaction=False)
        for k in range(start, min(start + 1000, NKEYS)):
            p.set(key(k), value(k))
        p.execute()
    print(used_memory(r) - before)


def replay(r):
    keys = trace()
    hits = 0
    for start in range(0, REQUESTS, BATCH):
        batch = keys[start : start + BATCH]
        p = r.pipeline(transaction=False)
        for k in batch:
            p.get(key(k))
        missed = set()
        for k, reply in zip(batch, p.execute()):
            if reply is None:
                missed.add(k)
            else:
                hits += 1
        p = r.pipeline(transaction=False)
        for k in missed:
            p.set(key(k), value(k))
        p.execute()
    print(hits, REQUESTS)


if __name__ == "__main__":
    action, port = sys.argv[1], int(sys.argv[2])
    conn = redis.Redis(port=port)
    {"measure": measure, "replay": replay}[action](conn)
