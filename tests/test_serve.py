"""The HTTP service, over real HTTP on 127.0.0.1: a uvicorn server in a thread (and once as a subprocess via the CLI).

Every bad request must get a 4xx with a JSON ``{"error": ...}`` body, never a 500 and never a dropped connection.
"""
from __future__ import annotations

import http.client as httpclient
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.predict import Predictor, load
from pipeline.records import OUTCOMES
from pipeline.serve import MAX_BODY_BYTES, create_app

REPO = Path(__file__).resolve().parents[1]
COMPLAINT = {"complaint": "Mrs Aldous complained that the Council took eight months to assess her mother's care needs."}
SUMMARY_ONLY = {"summary": "The Council agreed to apologise and pay Mrs Aldous £300."}


class ServerThread:
    """uvicorn serving ``app`` on a socket bound to a free 127.0.0.1 port, in a daemon thread."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def triage_predictor(trained_model_dirs) -> Predictor:
    return load(trained_model_dirs["triage"])


@pytest.fixture(scope="module")
def server(triage_predictor):
    with ServerThread(create_app(triage_predictor)) as running:
        yield running


@pytest.fixture(scope="module")
def http(server):
    with requests.Session() as session:
        yield session


def post(http, server, body: bytes, content_type: str | None = "application/json") -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return http.post(f"{server.url}/predict", data=body, headers=headers, timeout=30)


# --- the happy path -----------------------------------------------------------------------------------------------
def test_health_names_the_model(http, server, trained_model_dirs):
    meta = json.loads((trained_model_dirs["triage"] / "metadata.json").read_text())
    response = http.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["model_version"] == meta["version"]
    assert body["view"] == "triage"
    assert body["classes"] == list(OUTCOMES)
    assert body["max_body_bytes"] == MAX_BODY_BYTES


def test_predict_one_record_equals_the_function(http, server, triage_predictor):
    response = http.post(f"{server.url}/predict", json=COMPLAINT, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads(json.dumps(triage_predictor.predict(COMPLAINT).to_dict()))


def test_predict_a_list_text_and_json_string(http, server, triage_predictor, corpus_records):
    records = [{"complaint": r["complaint"]} for r in corpus_records[:5] if r["complaint"].strip()]
    response = http.post(f"{server.url}/predict", json=records, timeout=30)
    assert response.status_code == 200
    expected = [triage_predictor.predict(r).to_dict() for r in records]
    assert response.json() == json.loads(json.dumps(expected))
    as_text = post(http, server, COMPLAINT["complaint"].encode(), "text/plain; charset=utf-8")
    as_string = http.post(f"{server.url}/predict", json=COMPLAINT["complaint"], timeout=30)
    assert as_text.status_code == as_string.status_code == 200
    assert as_text.json() == as_string.json() == http.post(f"{server.url}/predict", json=COMPLAINT).json()


def test_openapi_describes_the_service(http, server):
    spec = http.get(f"{server.url}/openapi.json", timeout=10).json()
    assert {"/predict", "/health"} <= set(spec["paths"])
    predict = spec["paths"]["/predict"]["post"]
    assert {"application/json", "text/plain"} <= set(predict["requestBody"]["content"])
    assert {"200", "400", "413", "415", "422"} <= set(predict["responses"])


# --- bad input: 4xx with a JSON message, never a 500 ----------------------------------------------------------------
BAD_REQUESTS = {
    "empty body": (b"", "application/json", 422, "empty"),
    "whitespace text": (b"   ", "text/plain", 422, "empty"),
    "json empty string": (b'"  "', "application/json", 422, "empty"),
    "null": (b"null", "application/json", 422, "null"),
    "number": (b"12.5", "application/json", 422, "float"),
    "boolean": (b"true", "application/json", 422, "bool"),
    "list of numbers": (b"[1, 2]", "application/json", 422, "item 0"),
    "list inside a list": (b'[["Mr X complained."]]', "application/json", 422, "item 0"),
    "invalid json": (b'{"complaint": ', "application/json", 400, "JSON"),
    "invalid utf-8": (b'{"complaint": "caf\xe9 \xff"}', "application/json", 400, "UTF-8"),
    "invalid utf-8 text": (b"caf\xe9", "text/plain", 400, "UTF-8"),
    "lone surrogate": (b'{"complaint": "Mr X \\ud800 complained"}', "application/json", 422, "Unicode"),
    "deep nesting": (b"[" * 100_000, "application/json", 400, "JSON"),
    "summary only for triage": (json.dumps(SUMMARY_ONLY).encode(), "application/json", 422, "complaint"),
    "wrong field type": (b'{"complaint": 5}', "application/json", 422, "complaint"),
    "unsupported type": (b"<xml/>", "application/xml", 415, "content type"),
    "missing content type": (json.dumps(COMPLAINT).encode(), None, 200, None),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_requests_get_a_json_4xx(http, server, name):
    body, content_type, status, fragment = BAD_REQUESTS[name]
    response = post(http, server, body, content_type)
    assert response.status_code == status, response.text
    if fragment is not None:
        assert fragment in response.json()["error"]


def test_a_10_mb_body_is_refused_with_413(server):
    body = json.dumps({"complaint": "word " * 2_000_000}).encode()
    response = requests.post(f"{server.url}/predict", data=body, headers={"Content-Type": "application/json"},
                             timeout=30)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_a_chunked_body_over_the_limit_is_refused_with_413(server):
    def chunks():
        for _ in range(30):
            yield b"a" * 100_000

    response = requests.post(f"{server.url}/predict", data=chunks(), headers={"Content-Type": "text/plain"},
                             timeout=30)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server):
    host, port = server.url.removeprefix("http://").split(":")
    connection = httpclient.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/predict")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * MAX_BODY_BYTES))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert "limit" in json.loads(response.read())["error"]
    connection.close()


def test_too_many_records_in_one_list(triage_predictor):
    with ServerThread(create_app(triage_predictor, max_batch=3)) as small:
        response = requests.post(f"{small.url}/predict", json=[COMPLAINT] * 4, timeout=30)
        assert response.status_code == 422
        assert "at most 3" in response.json()["error"]


def test_unknown_paths_and_methods_are_json_errors(http, server):
    missing = http.get(f"{server.url}/nothing-here", timeout=10)
    wrong_method = http.get(f"{server.url}/predict", timeout=10)
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    assert missing.json()["error"] and wrong_method.json()["error"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["complaint", "summary", "text", "x"]), inner,
                                            max_size=3)),
    max_leaves=8).map(lambda value: json.dumps(value).encode())),
    content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_no_body_makes_a_server_error(http, server, body, content_type):
    response = post(http, server, body, content_type)
    assert response.status_code in (200, 400, 413, 415, 422), response.text
    assert isinstance(response.json(), (dict, list))


# --- concurrency ----------------------------------------------------------------------------------------------------
def test_concurrent_clients_get_the_sequential_answers(server, corpus_records):
    records = [{"complaint": r["complaint"]} for r in corpus_records[:300:10] if r["complaint"].strip()]
    with requests.Session() as session:
        sequential = [session.post(f"{server.url}/predict", json=r, timeout=30).json() for r in records]

    def client(offset: int) -> list[tuple[int, int, dict]]:
        with requests.Session() as session:
            order = records[offset:] + records[:offset]
            return [(records.index(r), *_status_json(session.post(f"{server.url}/predict", json=r, timeout=30)))
                    for r in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [item for batch in pool.map(client, range(8)) for item in batch]
    assert len(results) == 8 * len(records)
    assert all(status == 200 for _, status, _ in results)
    assert all(body == sequential[i] for i, _, body in results)


def _status_json(response: requests.Response) -> tuple[int, dict]:
    return response.status_code, response.json()


# --- run(): the real entry point, through the CLI ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_serve_command_runs_the_service(trained_model_dirs):
    port = _free_port()
    command = [sys.executable, "-m", "pipeline", "serve", "--model", str(trained_model_dirs["triage"]),
               "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                health = requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the service did not start within 60 s"
                time.sleep(0.2)
        assert health.json()["view"] == "triage"
        response = requests.post(f"http://127.0.0.1:{port}/predict", json=COMPLAINT, timeout=30)
        assert response.status_code == 200 and response.json()["outcome"] in OUTCOMES
    finally:
        process.terminate()
        process.wait(timeout=20)
