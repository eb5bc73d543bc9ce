"""The Heroku emulator, exercised over real loopback HTTP and checked against Heroku's schema."""

from __future__ import annotations

import json
import os
import select
import signal
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from autoscalebot.emulator.heroku import HerokuEmulator
from tests.emulator import heroku_schema
from tests.emulator.heroku_schema import ERROR_SCHEMA, REPO_ROOT, SCHEMA_PATH

API_KEY = "test-key-3f1c9a7e"
ACCEPT = "application/vnd.heroku+json; version=3"
HEADERS = {"Accept": ACCEPT, "Authorization": f"Bearer {API_KEY}"}
# Loopback only: ignore proxy settings, and share one TLS context (httpx would
# otherwise load the CA bundle for every client, ~50 ms each).
HTTPX_OPTIONS: dict[str, Any] = {"trust_env": False, "verify": ssl.create_default_context()}


# -- schema validation --------------------------------------------------------


@pytest.fixture(scope="module")
def validator_for() -> Any:
    """Return a function making a Draft 4 validator for ``#/definitions/<name>``."""
    if not SCHEMA_PATH.exists():
        pytest.skip(
            "the Heroku platform API schema (shared/heroku, beside the checkout) is not here"
        )
    return heroku_schema.validator_for


def assert_valid(validator: jsonschema.Validator, instance: Any) -> None:
    errors = heroku_schema.errors_of(validator, instance)
    assert not errors, "\n".join(errors)


def assert_heroku_error(response: httpx.Response, status: int, error_id: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    jsonschema.validate(body, ERROR_SCHEMA)
    assert body["id"] == error_id
    return body


# -- fixtures -----------------------------------------------------------------


@pytest.fixture
def heroku() -> Iterator[HerokuEmulator]:
    with HerokuEmulator(api_key=API_KEY) as emulator:
        emulator.add_app("example-app", formation={"web": 2, "worker": 1})
        yield emulator


@pytest.fixture
def client(heroku: HerokuEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=heroku.url, headers=HEADERS, **HTTPX_OPTIONS, timeout=5) as c:
        yield c


# -- resources against the schema ----------------------------------------------


def test_app_info_matches_schema(client: httpx.Client, validator_for: Any) -> None:
    response = client.get("/apps/example-app")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    app = response.json()
    assert_valid(validator_for("app"), app)
    assert app["name"] == "example-app"
    # Apps are addressable by id as well as by name.
    assert client.get(f"/apps/{app['id']}").json() == app


def test_loopback_web_url_only_breaks_the_herokuapp_pattern(
    heroku: HerokuEmulator, client: httpx.Client, validator_for: Any
) -> None:
    web_url = "http://127.0.0.1:8123/"
    heroku.add_app("local-app", web_url=web_url)
    app = client.get("/apps/local-app").json()
    assert app["web_url"] == web_url
    relaxed = validator_for("app", patch={"web_url": {"pattern": "^https?://"}})
    assert_valid(relaxed, app)


def test_account_matches_schema(client: httpx.Client, validator_for: Any) -> None:
    response = client.get("/account")
    assert response.status_code == 200
    assert_valid(validator_for("account"), response.json())


def test_formation_list_and_info_match_schema(client: httpx.Client, validator_for: Any) -> None:
    validator = validator_for("formation")
    listing = client.get("/apps/example-app/formation").json()
    assert {f["type"]: f["quantity"] for f in listing} == {"web": 2, "worker": 1}
    for formation in listing:
        assert_valid(validator, formation)
    web = client.get("/apps/example-app/formation/web").json()
    assert_valid(validator, web)
    # Process types are addressable by id as well as by type.
    assert client.get(f"/apps/example-app/formation/{web['id']}").json() == web


# -- protocol conventions -------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key", f"Token {API_KEY}", "Bearer", "Basic !!not-base64!!"],
)
def test_bad_or_missing_credentials_are_401(
    heroku: HerokuEmulator, authorization: str | None
) -> None:
    headers = {"Accept": ACCEPT}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.get(f"{heroku.url}/apps/example-app", headers=headers, **HTTPX_OPTIONS)
    assert_heroku_error(response, 401, "unauthorized")
    assert "Request-Id" in response.headers


def test_basic_auth_with_key_as_password_is_accepted(heroku: HerokuEmulator) -> None:
    response = httpx.get(
        f"{heroku.url}/account",
        headers={"Accept": ACCEPT},
        auth=("someone@example.com", API_KEY),
        **HTTPX_OPTIONS,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "accept", ["", "*/*", "application/json", "application/vnd.heroku+json", "*/*; version=3"]
)
def test_accept_without_version_3_is_406(heroku: HerokuEmulator, accept: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Accept": accept}
    response = httpx.get(f"{heroku.url}/apps/example-app", headers=headers, **HTTPX_OPTIONS)
    body = assert_heroku_error(response, 406, "not_acceptable")
    assert "version=3" in body["message"]


def test_unknown_app_formation_and_route_are_404(client: httpx.Client) -> None:
    body = assert_heroku_error(client.get("/apps/no-such-app"), 404, "not_found")
    assert body["message"] == "Couldn't find that app."
    assert_heroku_error(client.get("/apps/no-such-app/formation"), 404, "not_found")
    assert_heroku_error(client.get("/apps/example-app/formation/clock"), 404, "not_found")
    assert_heroku_error(client.get("/addons"), 404, "not_found")
    assert_heroku_error(client.delete("/apps/example-app"), 404, "not_found")


def test_request_ids_are_fresh_uuids(client: httpx.Client) -> None:
    ids = [client.get("/apps/example-app").headers["Request-Id"] for _ in range(5)]
    ids.append(client.get("/apps/nope").headers["Request-Id"])
    assert len(set(ids)) == len(ids)
    for request_id in ids:
        uuid.UUID(request_id)


def test_invalid_json_body_is_400(client: httpx.Client) -> None:
    response = client.patch(
        "/apps/example-app/formation/web",
        content=b"{quantity: 3",
        headers={"Content-Type": "application/json"},
    )
    assert_heroku_error(response, 400, "bad_request")


# -- scaling --------------------------------------------------------------------


def test_patch_changes_quantity_and_get_sees_it(
    heroku: HerokuEmulator, client: httpx.Client, validator_for: Any
) -> None:
    response = client.patch("/apps/example-app/formation/web", json={"quantity": 5})
    assert response.status_code == 200
    assert_valid(validator_for("formation"), response.json())
    assert response.json()["quantity"] == 5
    assert client.get("/apps/example-app/formation/web").json()["quantity"] == 5
    assert heroku.quantity("example-app", "web") == 5
    assert heroku.patches("example-app") == [{"quantity": 5}]
    assert heroku.patches("other-app") == []


def test_batch_patch_updates_several_types(
    heroku: HerokuEmulator, client: httpx.Client, validator_for: Any
) -> None:
    updates = [{"type": "web", "quantity": 3}, {"type": "worker", "quantity": 0, "size": "basic"}]
    response = client.patch("/apps/example-app/formation", json={"updates": updates})
    assert response.status_code == 200
    for formation in response.json():
        assert_valid(validator_for("formation"), formation)
    assert heroku.quantity("example-app", "web") == 3
    assert heroku.quantity("example-app", "worker") == 0
    worker = client.get("/apps/example-app/formation/worker").json()
    assert worker["dyno_size"]["name"] == "Basic"
    assert heroku.patches() == [{"updates": updates}]


def test_batch_patch_is_all_or_nothing(heroku: HerokuEmulator, client: httpx.Client) -> None:
    updates = [{"type": "web", "quantity": 4}, {"type": "worker", "quantity": -1}]
    response = client.patch("/apps/example-app/formation", json={"updates": updates})
    assert_heroku_error(response, 422, "invalid_params")
    assert heroku.quantity("example-app", "web") == 2
    assert heroku.patches() == []


@pytest.mark.parametrize("size", ["Basic", "Eco", "eco"])
def test_basic_and_eco_refuse_more_than_one_dyno(size: str) -> None:
    with HerokuEmulator(api_key=API_KEY) as heroku:
        heroku.add_app("small-app", formation={"web": 1}, size=size)
        with httpx.Client(base_url=heroku.url, headers=HEADERS, **HTTPX_OPTIONS) as client:
            response = client.patch("/apps/small-app/formation/web", json={"quantity": 2})
            body = assert_heroku_error(response, 422, "invalid_params")
            assert "Cannot update to more than 1" in body["message"]
            assert heroku.quantity("small-app") == 1
            assert client.patch("/apps/small-app/formation/web", json={"quantity": 0}).is_success
            # Moving to a production size lifts the limit, as on Heroku.
            response = client.patch(
                "/apps/small-app/formation/web",
                json={"quantity": 3, "dyno_size": {"name": "Standard-2X"}},
            )
            assert response.status_code == 200
            assert heroku.quantity("small-app") == 3


@pytest.mark.parametrize("quantity", [-1, 1.5, "2", True, None])
def test_invalid_quantity_is_422(
    heroku: HerokuEmulator, client: httpx.Client, quantity: Any
) -> None:
    response = client.patch("/apps/example-app/formation/web", json={"quantity": quantity})
    assert_heroku_error(response, 422, "invalid_params")
    assert heroku.quantity("example-app") == 2


def test_unknown_size_is_422(client: httpx.Client) -> None:
    response = client.patch("/apps/example-app/formation/web", json={"size": "Hobby"})
    body = assert_heroku_error(response, 422, "invalid_params")
    assert "No such size as Hobby" in body["message"]


def test_set_quantity_is_seen_by_clients(heroku: HerokuEmulator, client: httpx.Client) -> None:
    heroku.set_quantity("example-app", "web", 7)
    assert client.get("/apps/example-app/formation/web").json()["quantity"] == 7
    with pytest.raises(KeyError):
        heroku.set_quantity("example-app", "clock", 1)


# -- rate limits ----------------------------------------------------------------


def test_rate_limit_counts_down_per_request(client: httpx.Client) -> None:
    first = int(client.get("/apps/example-app").headers["RateLimit-Remaining"])
    second = int(client.get("/apps/example-app").headers["RateLimit-Remaining"])
    assert first == 4499
    assert second == first - 1
    # /account/rate-limits is documented as free.
    assert client.get("/account/rate-limits").json() == {"remaining": second}
    assert client.get("/account/rate-limits").json() == {"remaining": second}


def test_empty_rate_limit_answers_429(heroku: HerokuEmulator, client: httpx.Client) -> None:
    heroku.set_rate_limit_remaining(1)
    assert client.get("/apps/example-app").status_code == 200
    response = client.get("/apps/example-app")
    body = assert_heroku_error(response, 429, "rate_limit")
    assert response.headers["RateLimit-Remaining"] == "0"
    assert "rate limit" in body["message"]
    assert_heroku_error(
        client.patch("/apps/example-app/formation/web", json={"quantity": 9}), 429, "rate_limit"
    )
    assert heroku.quantity("example-app") == 2


def test_tokens_are_regained_over_time() -> None:
    now = [1000.0]
    with HerokuEmulator(api_key=API_KEY, rate_limit=100, clock=lambda: now[0]) as heroku:
        heroku.add_app("example-app")
        with httpx.Client(base_url=heroku.url, headers=HEADERS, **HTTPX_OPTIONS) as client:
            heroku.set_rate_limit_remaining(0)
            assert client.get("/apps/example-app").status_code == 429
            now[0] += 2.0  # 75/min regains 2.5 tokens in 2 s
            response = client.get("/apps/example-app")
            assert response.status_code == 200
            assert response.headers["RateLimit-Remaining"] == "1"
            now[0] += 3600.0  # never beyond the bucket size
            assert client.get("/apps/example-app").headers["RateLimit-Remaining"] == "99"


def test_regain_can_be_disabled() -> None:
    now = [0.0]
    with HerokuEmulator(api_key=API_KEY, regain_per_minute=0, clock=lambda: now[0]) as heroku:
        heroku.add_app("example-app")
        heroku.set_rate_limit_remaining(0)
        now[0] += 3600.0
        response = httpx.get(f"{heroku.url}/apps/example-app", headers=HEADERS, **HTTPX_OPTIONS)
        assert response.status_code == 429


# -- injected faults ------------------------------------------------------------


def test_fault_fails_the_next_n_requests(heroku: HerokuEmulator, client: httpx.Client) -> None:
    heroku.inject_fault(status=503, times=2)
    assert_heroku_error(client.get("/apps/example-app"), 503, "service_unavailable")
    response = client.get("/apps/example-app")
    assert_heroku_error(response, 503, "service_unavailable")
    assert "Request-Id" in response.headers
    assert client.get("/apps/example-app").status_code == 200


def test_fault_filters_by_method_and_path(heroku: HerokuEmulator, client: httpx.Client) -> None:
    heroku.inject_fault(status=500, method="PATCH", path_contains="/formation/web", message="Boom.")
    assert client.get("/apps/example-app/formation/web").status_code == 200
    assert client.patch("/apps/example-app/formation/worker", json={"quantity": 2}).is_success
    response = client.patch("/apps/example-app/formation/web", json={"quantity": 4})
    body = assert_heroku_error(response, 500, "internal_server_error")
    assert body["message"] == "Boom."
    assert heroku.quantity("example-app") == 2
    assert heroku.patches() == [{"quantity": 2}]  # failed PATCHes are not scale changes


def test_fault_with_custom_id_and_rate_limit_header(
    heroku: HerokuEmulator, client: httpx.Client
) -> None:
    heroku.inject_fault(status=403, error_id="suspended", message="App suspended.")
    assert_heroku_error(client.get("/apps/example-app"), 403, "suspended")
    heroku.inject_fault(status=429)
    response = client.get("/apps/example-app")
    assert_heroku_error(response, 429, "rate_limit")
    assert response.headers["RateLimit-Remaining"] == "0"


def test_fault_can_send_malformed_json(heroku: HerokuEmulator, client: httpx.Client) -> None:
    heroku.inject_fault(status=200, body=b'{"quantity": ', path_contains="/formation")
    response = client.get("/apps/example-app/formation/web")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_fault_delay_and_latency_make_clients_time_out(
    heroku: HerokuEmulator, client: httpx.Client
) -> None:
    heroku.inject_fault(status=503, delay=5.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/apps/example-app", timeout=0.2)
    heroku.set_latency(5.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/apps/example-app", timeout=0.2)
    heroku.set_latency(0)
    assert client.get("/apps/example-app").status_code == 200
    # The abandoned slow answers do not hold stop() up (the fixture stops it).


def test_inject_fault_validates_arguments(heroku: HerokuEmulator) -> None:
    with pytest.raises(ValueError):
        heroku.inject_fault(status=200)  # a non-error status needs an explicit body
    with pytest.raises(ValueError):
        heroku.inject_fault(status=503, times=0)
    with pytest.raises(ValueError):
        heroku.inject_fault(status=99)


# -- records and secrecy ----------------------------------------------------------


def test_api_key_never_appears_in_records(heroku: HerokuEmulator, client: httpx.Client) -> None:
    client.get("/apps/example-app")
    client.patch("/apps/example-app/formation/web", json={"quantity": 3, "note": API_KEY})
    httpx.get(
        f"{heroku.url}/account",
        headers={"Accept": ACCEPT, "X-Echo": API_KEY},
        auth=("me@example.com", API_KEY),
        **HTTPX_OPTIONS,
    )
    records = heroku.requests
    assert len(records) == 3
    assert records[0].headers["Authorization"] == "Bearer [REDACTED]"
    assert records[1].json == {"quantity": 3, "note": "[REDACTED]"}
    assert records[2].headers["Authorization"] == "Basic [REDACTED]"
    assert API_KEY not in repr(records)
    assert API_KEY not in repr(heroku)
    over_http = httpx.get(f"{heroku.url}/__emulator__/requests", **HTTPX_OPTIONS).text
    assert API_KEY not in over_http


def test_records_capture_method_path_body_and_status(
    heroku: HerokuEmulator, client: httpx.Client
) -> None:
    client.patch("/apps/example-app/formation/web", json={"quantity": 3})
    client.get("/apps/missing-app")
    patch, missing = heroku.requests
    assert (patch.method, patch.path, patch.json, patch.status) == (
        "PATCH",
        "/apps/example-app/formation/web",
        {"quantity": 3},
        200,
    )
    assert patch.app == "example-app"
    assert (missing.method, missing.status, missing.app) == ("GET", 404, "missing-app")
    heroku.reset_requests()
    assert heroku.requests == []


# -- control surface --------------------------------------------------------------


def test_control_endpoints(heroku: HerokuEmulator, client: httpx.Client) -> None:
    control = httpx.Client(base_url=f"{heroku.url}/__emulator__", **HTTPX_OPTIONS, timeout=5)
    with control:
        assert control.post("/quantity", json={"app": "example-app", "quantity": 4}).is_success
        assert client.get("/apps/example-app/formation/web").json()["quantity"] == 4
        got = control.get("/quantity", params={"app": "example-app", "type": "web"}).json()
        assert got["quantity"] == 4

        fault = {"status": 503, "times": 1, "path_contains": "/formation"}
        assert control.post("/faults", json=fault).is_success
        assert client.get("/apps/example-app/formation").status_code == 503
        assert control.post("/faults", json={"status": 200, "body": "{oops"}).is_success
        with pytest.raises(json.JSONDecodeError):
            client.get("/apps/example-app").json()
        assert control.post("/faults", json={"status": 500, "times": 5}).is_success
        assert control.delete("/faults").is_success
        assert client.get("/apps/example-app").status_code == 200

        assert control.post("/rate-limit", json={"remaining": 0}).json() == {"remaining": 0}
        assert client.get("/apps/example-app").status_code == 429
        assert control.post("/rate-limit", json={"remaining": 10}).is_success
        assert client.get("/apps/example-app").headers["RateLimit-Remaining"] == "9"

        assert control.post("/latency", json={"seconds": 5}).is_success
        with pytest.raises(httpx.ReadTimeout):
            client.get("/apps/example-app", timeout=0.2)
        assert control.post("/latency", json={"seconds": 0}).is_success

        client.patch("/apps/example-app/formation/web", json={"quantity": 2})
        assert control.get("/patches", params={"app": "example-app"}).json() == [{"quantity": 2}]
        records = control.get("/requests").json()
        assert records and all("/__emulator__" not in r["path"] for r in records)
        assert records[-1]["method"] == "PATCH"
        assert control.post("/reset-requests").is_success
        assert control.get("/requests").json() == []

        assert control.post("/quantity", json={"app": "nope", "quantity": 1}).status_code == 404
        assert control.post("/faults", json={"status": "x"}).status_code == 400
        assert control.post("/faults", json={"colour": "red"}).status_code == 400
        assert control.post("/rate-limit", json={}).status_code == 400
        assert control.get("/nothing-here").status_code == 404


# -- dynos, config vars, ranges ---------------------------------------------------------


def test_dynos_boot_on_the_injected_clock_and_crash_through_the_control_surface(
    validator_for: Any,
) -> None:
    now = [0.0]
    with HerokuEmulator(api_key=API_KEY, boot_seconds=10, clock=lambda: now[0]) as heroku:
        heroku.add_app("example-app", formation={"web": 2})
        with httpx.Client(base_url=heroku.url, headers=HEADERS, **HTTPX_OPTIONS) as client:
            listing = client.get("/apps/example-app/dynos").json()
            for dyno in listing:
                assert_valid(validator_for("dyno"), dyno)
            assert {d["name"]: d["state"] for d in listing} == {
                "web.1": "starting",
                "web.2": "starting",
            }
            now[0] = 10.0
            assert client.get("/apps/example-app/dynos/web.2").json()["state"] == "up"
            control = f"{heroku.url}/__emulator__"
            crash = {"app": "example-app", "dyno": "web.2"}
            assert httpx.post(f"{control}/crash", json=crash, **HTTPX_OPTIONS).is_success
            states = httpx.get(f"{control}/dynos?app=example-app", **HTTPX_OPTIONS).json()
            assert states == {"web.1": "up", "web.2": "crashed"}
            crashed = client.get("/apps/example-app/dynos/web.2").json()
            assert client.get(f"/apps/example-app/dynos/{crashed['id']}").json() == crashed

            httpx.post(f"{control}/boot-seconds", json={"seconds": 0}, **HTTPX_OPTIONS)
            assert client.delete("/apps/example-app/dynos").status_code == 202
            assert heroku.dyno_states("example-app") == {"web.1": "up", "web.2": "up"}
            restarted = client.get("/apps/example-app/dynos/web.2").json()
            assert restarted["id"] != crashed["id"]  # a restart is a new process
            assert_heroku_error(client.get("/apps/example-app/dynos/web.9"), 404, "not_found")
            assert (
                httpx.post(f"{control}/crash", json={"app": "x"}, **HTTPX_OPTIONS).status_code
                == 400
            )


def test_config_vars_patch_rejects_what_heroku_rejects(
    heroku: HerokuEmulator, client: httpx.Client
) -> None:
    for bad in ([], {"BAD-NAME": "x"}, {"N": 3}):
        response = client.patch("/apps/example-app/config-vars", json=bad)
        assert_heroku_error(response, 422, "invalid_params")
    assert heroku.config_vars("example-app") == {}
    with pytest.raises(ValueError, match="config var"):
        heroku.add_app("other-app", config_vars={"A B": "x"})


@pytest.mark.parametrize(
    ("wanted", "names", "status"),
    [
        ("name ..; order=desc, max=2", ["example-app", "app-d"], 206),
        ("name app-b..app-c", ["app-b", "app-c"], 200),
        ("name ]app-b..app-d[", ["app-c"], 200),
        ("name app-c..; order=desc", ["app-c", "app-b", "app-a"], 200),
    ],
)
def test_range_bounds_and_order(
    heroku: HerokuEmulator, client: httpx.Client, wanted: str, names: list[str], status: int
) -> None:
    for name in ("app-a", "app-b", "app-c", "app-d"):
        heroku.add_app(name)
    response = client.get("/apps", headers={"Range": wanted})
    assert response.status_code == status
    assert [app["name"] for app in response.json()] == names


def test_if_none_match_star_and_list_of_tags(client: httpx.Client) -> None:
    etag = client.get("/apps/example-app").headers["ETag"]
    for header in ("*", f'"other", W/{etag}'):
        response = client.get("/apps/example-app", headers={"If-None-Match": header})
        assert response.status_code == 304 and response.content == b""
    assert client.get("/apps/example-app", headers={"If-None-Match": '"x"'}).status_code == 200


# -- construction -------------------------------------------------------------------


def test_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        HerokuEmulator(host="0.0.0.0")


@pytest.mark.parametrize("name", ["Example", "a", "ends-with-dash-", "under_score"])
def test_add_app_rejects_names_heroku_rejects(heroku: HerokuEmulator, name: str) -> None:
    with pytest.raises(ValueError, match="app name"):
        heroku.add_app(name)


def test_add_app_rejects_unknown_size_and_duplicates(heroku: HerokuEmulator) -> None:
    with pytest.raises(ValueError, match="dyno size"):
        heroku.add_app("other-app", size="Hobby")
    with pytest.raises(ValueError, match="already exists"):
        heroku.add_app("example-app")


def test_url_is_known_before_start_and_stop_is_idempotent() -> None:
    emulator = HerokuEmulator()
    assert emulator.url.startswith("http://127.0.0.1:")
    assert not emulator.url.endswith("/")
    emulator.stop()  # never started: just releases the socket
    emulator.stop()


# -- command line -------------------------------------------------------------------


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "emulator did not print its address in time"
    return proc.stdout.readline()


def test_main_serves_until_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoscalebot.emulator.heroku",
            "--port",
            "0",
            "--app",
            "first-app",
            "--app",
            "second-app",
            "--api-key",
            API_KEY,
            "--web-url",
            "http://127.0.0.1:9/",
            "--quantity",
            "3",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            line = _read_line(proc, timeout=10)
            prefix = "heroku emulator listening on "
            assert line.startswith(prefix), line
            url = line[len(prefix) :].strip()
            with httpx.Client(base_url=url, headers=HEADERS, timeout=5, **HTTPX_OPTIONS) as client:
                assert client.get("/apps/second-app/formation/web").json()["quantity"] == 3
                assert client.get("/apps/first-app").json()["web_url"] == "http://127.0.0.1:9/"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=2) == 0
            stdout, stderr = proc.communicate(timeout=2)
            assert API_KEY not in line + stdout + stderr
        finally:
            if proc.poll() is None:
                proc.kill()
