"""bgremover.client against a real local HTTP server that speaks the contract (tests/contract_server.py)."""
from __future__ import annotations

import base64
import io
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_server import API_KEY, ContractServer, png_bytes
from PIL import Image

from bgremover.client import Client, ClientError

PNG = png_bytes((12, 8))


@pytest.fixture
def server() -> Iterator[ContractServer]:
    s = ContractServer(process_s=0.15)
    yield s
    s.close()


@pytest.fixture
def client(server: ContractServer) -> Iterator[Client]:
    with Client(server.base_url, API_KEY, timeout=10) as c:
        yield c


def _rgba_size(data: bytes) -> tuple[str, tuple[int, int]]:
    with Image.open(io.BytesIO(data)) as im:
        return im.mode, im.size


def test_remove_asks_the_server_to_hold_the_answer_so_no_polling_is_needed(
        client: Client, server: ContractServer, tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    assert _rgba_size(client.remove(path)) == ("RGBA", (12, 8))
    assert server.statuses("/api/v1/images/tools/remove-bg") == [200]  # the finished task, thanks to `wait`
    assert server.statuses("/api/v1/tasks/") == [200]  # only the result download, no polls


def test_remove_without_wait_submits_polls_and_downloads(client: Client, server: ContractServer,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    assert _rgba_size(client.remove(path, wait=0)) == ("RGBA", (12, 8))
    assert server.statuses("/api/v1/images/tools/remove-bg") == [202]
    assert set(server.statuses("/api/v1/tasks/")) == {200}


@pytest.mark.parametrize("kind", ["bytes", "str path", "data uri", "url"])
def test_every_image_source_round_trips(kind: str, client: Client, server: ContractServer, tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(PNG)
    server.images_by_url["https://img.example/cat.png"] = PNG
    source = {"bytes": PNG, "str path": str(tmp_path / "in.png"),
              "data uri": "data:image/png;base64," + base64.b64encode(PNG).decode(),
              "url": "https://img.example/cat.png"}[kind]
    assert _rgba_size(client.remove(source, output_format="webp")) == ("RGBA", (12, 8))


def test_submit_answers_the_accepted_task_and_wait_its_final_state(client: Client, server: ContractServer) -> None:
    accepted = client.submit(PNG, model="bg-remover")
    assert accepted["status"] == "queued" and accepted["credits_reserved"] == 1
    final = client.wait(accepted["task_id"], timeout=10)
    assert final["status"] == "succeeded" and final["result"]["url"].endswith(f"sig=sig-{accepted['task_id']}")
    assert client.get(accepted["task_id"])["status"] == "succeeded"


def test_wait_backs_off_exponentially(server: ContractServer) -> None:
    server.process_s = 0.8
    with Client(server.base_url, API_KEY) as client:
        task_id = client.submit(PNG)["task_id"]
        client.wait(task_id, timeout=10, poll_interval=0.05)
    polls = [t for t, method, path, _ in server.log if method == "GET" and path.endswith(task_id)]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert 4 <= len(polls) <= 7  # 0, .05, .15, .35, .75, 1.55 s: not a poll every 0.05 s (16 polls)
    assert gaps[-1] > 3 * gaps[0]  # the interval grows (load can jitter single gaps, not the trend)


def test_a_429_is_retried_after_its_retry_after(client: Client, server: ContractServer, monkeypatch) -> None:
    """The client sleeps what Retry-After asks for (the sleeps of this thread are recorded) before the retry."""
    import threading

    import bgremover.client

    waits: list[float] = []
    real_sleep, caller = time.sleep, threading.current_thread()

    def recorded_sleep(seconds: float) -> None:
        if threading.current_thread() is caller:
            waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(bgremover.client.time, "sleep", recorded_sleep)
    server.throttle_next, server.retry_after = 1, "1"
    task = client.submit(PNG)
    assert waits == [1.0]
    assert task["status"] == "queued"
    assert server.statuses("/api/v1/images/tools/remove-bg") == [429, 202]


def test_a_429_that_persists_becomes_a_rate_limited_error(server: ContractServer) -> None:
    server.throttle_next, server.retry_after = 10, "0"
    with Client(server.base_url, API_KEY, max_retries=2) as client, pytest.raises(ClientError) as err:
        client.submit(PNG)
    assert (err.value.code, err.value.status, err.value.retry_after) == ("rate_limited", 429, 0.0)
    assert server.statuses("/api/v1/images/tools/remove-bg") == [429, 429, 429]


def test_api_errors_keep_the_envelopes_code_and_never_show_the_key(server: ContractServer) -> None:
    wrong_key = "aio_" + "w" * 40
    with Client(server.base_url, wrong_key) as client, pytest.raises(ClientError) as err:
        client.submit(PNG)
    assert (err.value.code, err.value.status) == ("unauthorized", 401)
    assert wrong_key not in str(err.value) and wrong_key not in repr(client)


def test_a_failed_task_raises_its_error_code(client: Client, server: ContractServer) -> None:
    with pytest.raises(ClientError) as err:
        client.remove("https://img.example/missing.png")
    assert err.value.code == "image_fetch_failed" and err.value.status is None
    assert err.value.task is not None and err.value.task["status"] == "failed"
    with pytest.raises(ClientError, match="unsupported_image"):
        client.remove(b"this is not an image")


def test_unknown_task_and_wait_timeout(client: Client, server: ContractServer) -> None:
    with pytest.raises(ClientError) as err:
        client.get("nope")
    assert (err.value.code, err.value.status) == ("task_not_found", 404)
    server.process_s = 30
    task_id = client.submit(PNG)["task_id"]
    with pytest.raises(ClientError) as err:
        client.wait(task_id, timeout=0.3)
    assert err.value.code == "wait_timeout" and "queued" in err.value.message


def test_cancel_a_queued_task(client: Client, server: ContractServer) -> None:
    server.process_s = 30
    task_id = client.submit(PNG)["task_id"]
    assert client.cancel(task_id)["status"] == "canceled"
    assert client.wait(task_id, timeout=1)["status"] == "canceled"  # final: no more polling
    with pytest.raises(ClientError) as err:
        client.cancel(task_id)
    assert (err.value.code, err.value.status) == ("task_not_cancelable", 409)


def test_server_side_wait_answers_the_final_task_at_once(client: Client, server: ContractServer) -> None:
    task = client.submit(PNG, wait=5)
    assert task["status"] == "succeeded"
    assert not [p for _, m, p, _ in server.log if m == "GET" and p.startswith("/api/v1/tasks/")]


def test_idempotency_key_gives_the_same_task(client: Client) -> None:
    first = client.submit(PNG, idempotency_key="order-42")
    assert client.submit(PNG, idempotency_key="order-42")["task_id"] == first["task_id"]
    assert client.submit(PNG)["task_id"] != first["task_id"]


def test_options_are_sent_as_form_fields_with_uploads(client: Client, server: ContractServer) -> None:
    client.submit(PNG, output_format="webp", crop=True, crop_margin=4, channels="rgba")
    assert server.submissions[-1] == {"output_format": "webp", "crop": "true", "crop_margin": "4", "channels": "rgba"}


def test_the_key_goes_to_the_endpoint_origin_only(server: ContractServer) -> None:
    with Client(server.base_url, API_KEY) as client:
        client.remove(PNG)
        server.host_for_results = "localhost"  # a result URL on another origin (say, a CDN)
        client.remove(PNG)
    assert server.result_auth == [f"Bearer {API_KEY}", None]


def test_an_unreachable_endpoint_is_a_connection_error() -> None:
    server = ContractServer()
    server.close()
    with Client(server.base_url, API_KEY, timeout=2) as client, pytest.raises(ClientError) as err:
        client.models()
    assert err.value.code == "connection_error"


def test_a_missing_file_is_a_validation_error_before_any_request(client: Client, server: ContractServer) -> None:
    with pytest.raises(ClientError, match="not an http\\(s\\) URL, a data: URI or a file") as err:
        client.submit("no/such/file.png")
    assert err.value.code == "validation_error" and server.log == []


def test_models_and_credits(client: Client) -> None:
    assert client.models()[0]["id"] == "bg-remover"
    assert client.credits()["credits"] == 10
