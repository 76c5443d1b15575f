"""A real Celery worker using ferrodis as broker and result backend."""

import os
import subprocess
import sys
import time

import pytest


@pytest.fixture(scope="module")
def celery_worker(server_port):
    env = dict(os.environ, FERRODIS_URL=f"redis://127.0.0.1:{server_port}")
    os.environ["FERRODIS_URL"] = env["FERRODIS_URL"]
    here = os.path.dirname(os.path.abspath(__file__))
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "celery_app", "worker",
            "--pool=solo", "--concurrency=1", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=here,
        env=env,
    )
    sys.path.insert(0, here)
    import celery_app  # noqa: E402  (imported after FERRODIS_URL is set)

    celery_app.app.conf.broker_url = f"{env['FERRODIS_URL']}/0"
    celery_app.app.conf.result_backend = f"{env['FERRODIS_URL']}/1"
    yield celery_app
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.mark.timeout(180)
def test_fifty_tasks_return_correct_results(celery_worker):
    results = [celery_worker.add.delay(i, i) for i in range(50)]
    assert [r.get(timeout=60) for r in results] == [2 * i for i in range(50)]


@pytest.mark.timeout(120)
def test_retried_task_succeeds_on_second_attempt(celery_worker):
    key = f"flaky:{time.time()}"
    result = celery_worker.flaky.delay(key)
    assert result.get(timeout=60) == "ok after 2 attempts (retries=1)"


@pytest.mark.timeout(120)
def test_eta_task_runs_after_its_eta(celery_worker):
    sent = time.time()
    result = celery_worker.stamp.apply_async(countdown=2)
    ran_at = result.get(timeout=60)
    assert ran_at >= sent + 1.9
