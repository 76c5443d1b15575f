"""Shared fixtures: start the real ferrodis-server binary on a free port for each test module."""

import os
import re
import subprocess
import threading

import pytest


def start_server(extra=()):
    binary = os.environ.get("FERRODIS_BIN")
    assert binary, "FERRODIS_BIN must point at the ferrodis-server binary"
    proc = subprocess.Popen(
        [binary, "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    port = None
    for line in proc.stdout:
        m = re.search(r"port=(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    assert port, "server did not report its port"
    # Keep draining the log so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, port


@pytest.fixture(scope="module")
def server_port():
    proc, port = start_server()
    yield port
    proc.kill()
    proc.wait(timeout=10)
