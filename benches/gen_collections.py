"""Writes a RESP stream that loads NKEYS collections of PER elements each (compare.sh).

usage: gen_collections.py list|hash|set|zset|intset NKEYS PER > load.resp
Elements are short strings ("element:N", "field:N" -> "value:N", "member:N" with score N),
or for intset the small integers 0..PER-1 (so the sets take the intset encoding), one
command per key, so both servers build each collection the same way.
"""

import sys

kind, nkeys, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = sys.stdout.buffer


def command(args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))


for k in range(nkeys):
    key = b"%s:%d" % (kind.encode(), k)
    if kind == "list":
        command([b"RPUSH", key] + [b"element:%d" % i for i in range(per)])
    elif kind == "set":
        command([b"SADD", key] + [b"element:%d" % i for i in range(per)])
    elif kind == "intset":
        command([b"SADD", key] + [b"%d" % i for i in range(per)])
    elif kind == "hash":
        args = [b"HSET", key]
        for i in range(per):
            args += [b"field:%d" % i, b"value:%d" % i]
        command(args)
    elif kind == "zset":
        args = [b"ZADD", key]
        for i in range(per):
            args += [b"%d" % i, b"member:%d" % i]
        command(args)
    else:
        sys.exit(f"unknown type {kind}")
