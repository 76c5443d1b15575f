"""A small Celery app using ferrodis as both broker and result backend.

The broker URL comes from FERRODIS_URL (db 0); results go to db 1.
"""

import os
import time

import redis
from celery import Celery

URL = os.environ.get("FERRODIS_URL", "redis://127.0.0.1:6379")

app = Celery("ferrodis_demo", broker=f"{URL}/0", backend=f"{URL}/1")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
    result_expires=600,
)


@app.task
def add(x, y):
    return x + y


@app.task(bind=True, max_retries=3, default_retry_delay=0.2)
def flaky(self, key):
    """Fails on its first attempt, succeeds on the retry."""
    attempts = redis.Redis.from_url(f"{URL}/2").incr(key)
    if attempts < 2:
        raise self.retry(exc=RuntimeError("first attempt fails"))
    return f"ok after {attempts} attempts (retries={self.request.retries})"


@app.task
def stamp():
    """Returns when it ran, to check an ETA task did not run early."""
    return time.time()
