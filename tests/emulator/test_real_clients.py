"""The emulators driven by the real third-party clients, unchanged but for their base URL.

``heroku3`` (Heroku's community Python client) and ``kubernetes`` (the official
client) run ordinary sessions against the loopback emulators. Every answer the
Heroku client receives is checked against the Platform API schema (the link its
method and path match); every object the Kubernetes client reads must survive a
round trip through the client's own typed models unchanged, so the emulator
sends no field a real API server would not, and misses none the models require.

How each client is pointed at the emulator:

* ``heroku3.api.Heroku`` keeps its base URL in the ``_heroku_url`` attribute (no
  public setter; ``heroku3.from_key`` would authenticate against
  api.heroku.com before one could be set), so the tests build
  ``Heroku(session=...)``, set the attribute, then ``authenticate``. The
  session refuses any other destination, so nothing can leave loopback.
* ``kubernetes.client.Configuration(host=...)`` is the supported way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

heroku3_api = pytest.importorskip("heroku3.api")
kubernetes = pytest.importorskip("kubernetes")

import requests  # noqa: E402 (after the skips: heroku3 brings requests)
from kubernetes import client as k8s_client  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402
from requests.adapters import BaseAdapter, HTTPAdapter  # noqa: E402

from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402
from autoscalebot.emulator.kubernetes import KubernetesEmulator  # noqa: E402
from tests.emulator.heroku_schema import SCHEMA_PATH, ResponseChecker  # noqa: E402

API_KEY = "real-client-key-5e2a"
TOKEN = "real-client-token-9c1d"
BOOT = 20.0


# -- Heroku: heroku3 ---------------------------------------------------------------


class _Refuse(BaseAdapter):
    """A transport that fails every request: the session may only talk to the emulator."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"request left the emulator: {request.url}")

    def close(self) -> None:
        pass


@pytest.fixture
def now() -> list[float]:
    """The emulators' clock, moved by hand."""
    return [0.0]


@pytest.fixture
def heroku(now: list[float]) -> Iterator[HerokuEmulator]:
    with HerokuEmulator(api_key=API_KEY, boot_seconds=BOOT, clock=lambda: now[0]) as emulator:
        emulator.add_app(
            "example-app",
            formation={"web": 3, "worker": 1},
            config_vars={"WEB_CONCURRENCY": "2", "LOG_LEVEL": "info"},
        )
        now[0] += BOOT  # the app has been up a while
        yield emulator


@pytest.fixture
def checker() -> Iterator[ResponseChecker]:
    """Every Heroku answer, checked against the schema; any problem fails the test."""
    if not SCHEMA_PATH.exists():
        pytest.skip(
            "the Heroku platform API schema (shared/heroku, beside the checkout) is not here"
        )
    found = ResponseChecker()
    yield found
    assert not found.failures, "\n".join(found.failures)


def connect(emulator: HerokuEmulator, checker: ResponseChecker, key: str = API_KEY) -> Any:
    """An authenticated ``heroku3.Heroku`` whose every answer goes through ``checker``."""
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", _Refuse())
    session.mount("https://", _Refuse())
    session.mount(emulator.url, HTTPAdapter())  # the longest prefix wins

    def check(response: requests.Response, **_: Any) -> None:
        method = response.request.method or "GET"
        checker.check(method, response.url, response.status_code, response.content)

    session.hooks["response"].append(check)
    client = heroku3_api.Heroku(session=session)
    client._heroku_url = emulator.url
    client.authenticate(key)
    return client


@pytest.fixture
def h(heroku: HerokuEmulator, checker: ResponseChecker) -> Any:
    client = connect(heroku, checker)
    assert client.is_authenticated
    return client


def test_a_session_reads_the_account_the_apps_and_one_app(
    h: Any, heroku: HerokuEmulator, checker: ResponseChecker
) -> None:
    assert h.account().email == "emulator@example.com"
    assert [app.name for app in h.apps()] == ["example-app"]
    app = h.app("example-app")
    assert app.name == "example-app" and app.web_url.endswith(".herokuapp.com/")
    assert app.info.id == app.id  # and by id as well as by name
    assert int(h.ratelimit_remaining()) > 0
    assert len(checker.checked) >= 5 and not checker.failures


def test_formation_list_scale_and_batch(h: Any, heroku: HerokuEmulator) -> None:
    app = h.app("example-app")
    formation = app.process_formation()
    assert {f.type: f.quantity for f in formation} == {"web": 3, "worker": 1}
    assert formation["web"].size == "Standard-1X"

    assert formation["web"].scale(5).quantity == 5
    assert app.scale_formation_process("worker", 2).quantity == 2
    scaled = app.batch_scale_formation_processes({"web": 4, "worker": 0})
    assert {f.type: f.quantity for f in scaled} == {"web": 4, "worker": 0}
    assert (heroku.quantity("example-app"), heroku.quantity("example-app", "worker")) == (4, 0)


def test_dynos_boot_serve_crash_and_restart(
    h: Any, heroku: HerokuEmulator, now: list[float]
) -> None:
    app = h.app("example-app")
    dynos = app.dynos()
    assert sorted((d.name, d.state, d.type, d.size) for d in dynos) == [
        ("web.1", "up", "web", "Standard-1X"),
        ("web.2", "up", "web", "Standard-1X"),
        ("web.3", "up", "web", "Standard-1X"),
        ("worker.1", "up", "worker", "Standard-1X"),
    ]
    assert all(d.command and d.release.version == 1 for d in dynos)

    app.scale_formation_process("web", 4)
    now[0] += BOOT - 1
    states = {d.name: d.state for d in app.dynos() if d.type == "web"}
    assert states == {"web.1": "up", "web.2": "up", "web.3": "up", "web.4": "starting"}
    now[0] += 1
    assert {d.state for d in app.dynos()} == {"up"}

    heroku.crash_dyno("example-app", "web.2")
    assert heroku.dyno_states("example-app", "web")["web.2"] == "crashed"
    assert {d.name: d.state for d in app.dynos()}["web.2"] == "crashed"
    assert app.kill_dyno("web.2")  # Heroku's "restart dyno"
    assert heroku.dyno_states("example-app", "web")["web.2"] == "starting"

    app.scale_formation_process("web", 1)
    assert sorted(d.name for d in app.dynos()) == ["web.1", "worker.1"]


def test_resizing_restarts_the_dynos_of_that_type(
    h: Any, heroku: HerokuEmulator, now: list[float]
) -> None:
    app = h.app("example-app")
    resized = app.batch_resize_formation_processes({"worker": "Performance-M"})
    assert [f.size for f in resized] == ["Performance-M"]
    states = {d.name: (d.state, d.size) for d in app.dynos()}
    assert states["worker.1"] == ("starting", "Performance-M")
    assert states["web.1"] == ("up", "Standard-1X")


def test_config_vars_read_set_and_unset(h: Any, heroku: HerokuEmulator) -> None:
    app = h.app("example-app")
    config = app.config()
    assert config.to_dict() == {"WEB_CONCURRENCY": "2", "LOG_LEVEL": "info"}
    config["LOG_LEVEL"] = "debug"
    del config["WEB_CONCURRENCY"]
    assert heroku.config_vars("example-app") == {"LOG_LEVEL": "debug"}
    assert app.config()["LOG_LEVEL"] == "debug"
    # A config change is a new release, and every dyno restarts on it.
    assert set(heroku.dyno_states("example-app").values()) == {"starting"}
    assert {d.release.version for d in app.dynos()} == {3}


def test_a_long_app_list_comes_in_pages_the_client_follows(
    h: Any, heroku: HerokuEmulator, checker: ResponseChecker
) -> None:
    names = [f"app-{i:03d}" for i in range(450)]
    for name in names:
        heroku.add_app(name)
    every = h.apps()  # 200 + 200 + 51, following Next-Range
    assert sorted(app.name for app in every) == sorted([*names, "example-app"])
    ids = [app.id for app in every]
    assert ids == sorted(ids) and len(set(ids)) == 451
    pages = [what for what in checker.checked if what.startswith("GET /apps ")]
    assert pages[-3:] == ["GET /apps 206", "GET /apps 206", "GET /apps 200"]

    assert len(h.apps(limit=10)) == 10
    top = h.apps(order_by="name", sort="desc", limit=3)
    assert [app.name for app in top] == ["example-app", "app-449", "app-448"]


def test_range_headers_as_the_platform_api_sends_them(
    h: Any, heroku: HerokuEmulator, checker: ResponseChecker
) -> None:
    for i in range(25):
        heroku.add_app(f"app-{i:03d}")
    session, url = h._session, f"{heroku.url}/apps"
    seen, statuses, wanted = [], [], "name ..; max=10"
    while wanted:
        response = session.get(url, headers={"Range": wanted})
        statuses.append(response.status_code)
        page = [app["name"] for app in response.json()]
        assert response.headers["Content-Range"] == f"name {page[0]}..{page[-1]}"
        assert response.headers["Accept-Ranges"] == "id, name"
        seen += page
        wanted = response.headers.get("Next-Range", "")
    assert statuses == [206, 206, 200]
    assert seen == sorted(seen) and len(seen) == 26

    for bad in ("name ..; max=1001", "colour ..;", "name ..; order=sideways", "nonsense"):
        response = session.get(url, headers={"Range": bad})
        assert response.status_code == 416, bad
        assert response.json()["id"] == "requested_range_not_satisfiable"
    assert len(session.get(url, headers={"Range": "id ..; max=1000"}).json()) == 26


def test_etag_if_none_match_and_head(h: Any, heroku: HerokuEmulator) -> None:
    session, url = h._session, f"{heroku.url}/apps/example-app/formation/web"
    first = session.get(url)
    etag = first.headers["ETag"]
    again = session.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag

    heroku.set_quantity("example-app", "web", 7)
    changed = session.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["quantity"] == 7
    assert changed.headers["ETag"] != etag

    head = session.head(f"{heroku.url}/apps/example-app/dynos")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(session.get(head.url).content)


def test_errors_for_an_unknown_app_and_a_bad_key(
    h: Any, heroku: HerokuEmulator, checker: ResponseChecker
) -> None:
    with pytest.raises(requests.HTTPError) as info:
        h.app("no-such-app")
    assert info.value.response.status_code == 404
    assert info.value.response.json()["id"] == "not_found"

    stranger = connect(heroku, checker, key="wrong-key")
    assert stranger.is_authenticated is False
    with pytest.raises(requests.HTTPError) as info:
        stranger.apps()
    assert info.value.response.status_code == 401
    assert info.value.response.json()["id"] == "unauthorized"
    assert "wrong-key" not in json.dumps([r.to_dict() for r in heroku.requests])


# -- Kubernetes: the official client -------------------------------------------------

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.0+)?(?:Z|\+00:00)$")


def _normal(value: Any) -> Any:
    """JSON with every UTC time spelled one way (the client writes ``+00:00``)."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if isinstance(value, str) and (match := _TIME.match(value)):
        return match[1] + "Z"
    return value


class CheckingApiClient(k8s_client.ApiClient):
    """The official ApiClient, plus a check that each object round-trips unchanged.

    The client's models forbid no extra field on the way in (they drop it), so
    a field a real API server would not send (or a misspelt one) shows up as a
    difference between the JSON received and the model serialised back.
    """

    checked: list[str]

    def deserialize(self, response_text: str, response_type: str, content_type: Any) -> Any:
        result = super().deserialize(response_text, response_type, content_type)
        if result is not None and not isinstance(result, str | bytes):
            sent = _normal(json.loads(response_text))
            read = _normal(json.loads(json.dumps(self.sanitize_for_serialization(result))))
            assert read == sent, f"{response_type} lost or changed fields on the way"
            self.checked.append(response_type)
        return result


@pytest.fixture
def k8s(now: list[float]) -> Iterator[KubernetesEmulator]:
    with KubernetesEmulator(token=TOKEN, rollout_seconds=30, clock=lambda: now[0]) as emulator:
        emulator.add_deployment("shop", "web", replicas=3)
        emulator.add_deployment("shop", "worker", replicas=1, labels={"app": "worker"})
        emulator.add_deployment("other", "web", replicas=2)
        yield emulator


def apps_api(emulator: KubernetesEmulator, token: str = TOKEN) -> Any:
    config = k8s_client.Configuration(host=emulator.url)
    config.api_key = {"authorization": token}
    config.api_key_prefix = {"authorization": "Bearer"}
    api_client = CheckingApiClient(config)
    api_client.checked = []
    return k8s_client.AppsV1Api(api_client)


@pytest.fixture
def apps(k8s: KubernetesEmulator) -> Iterator[Any]:
    api = apps_api(k8s)
    yield api
    assert api.api_client.checked, "no object was checked"
    api.api_client.close()


def test_read_patch_and_replace_the_scale(apps: Any, k8s: KubernetesEmulator) -> None:
    scale = apps.read_namespaced_deployment_scale("web", "shop")
    assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (3, 3, "app=web")

    patched = apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 5}})
    assert patched.spec.replicas == 5 and k8s.replicas("shop", "web") == 5

    patched.spec.replicas = 2
    replaced = apps.replace_namespaced_deployment_scale("web", "shop", patched)
    assert replaced.spec.replicas == 2 and k8s.replicas("shop", "web") == 2

    # The scale read before the PATCH is stale now: the API server says Conflict.
    with pytest.raises(ApiException) as info:
        apps.replace_namespaced_deployment_scale("web", "shop", scale)
    assert info.value.status == 409
    assert json.loads(info.value.body)["reason"] == "Conflict"
    assert apps.api_client.checked.count("V1Scale") == 3


def test_read_and_list_deployments_with_the_server_defaults(apps: Any) -> None:
    web = apps.read_namespaced_deployment("web", "shop")
    assert web.metadata.generation == 1 and web.status.observed_generation == 1
    assert web.spec.strategy.type == "RollingUpdate"
    assert web.spec.strategy.rolling_update.max_unavailable == "25%"
    assert (web.spec.revision_history_limit, web.spec.progress_deadline_seconds) == (10, 600)
    assert {c.type: c.status for c in web.status.conditions} == {
        "Available": "True",
        "Progressing": "True",
    }

    listing = apps.list_namespaced_deployment("shop")
    assert listing.kind == "DeploymentList"
    assert [d.metadata.name for d in listing.items] == ["web", "worker"]
    assert [d.metadata.namespace for d in apps.list_deployment_for_all_namespaces().items] == [
        "other",
        "shop",
        "shop",
    ]
    selected = apps.list_namespaced_deployment("shop", label_selector="app=worker")
    assert [d.metadata.name for d in selected.items] == ["worker"]


def test_a_scale_bumps_the_generation_and_the_status_follows_the_rollout(
    apps: Any, now: list[float]
) -> None:
    apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 8}})
    web = apps.read_namespaced_deployment("web", "shop")
    assert (web.metadata.generation, web.status.observed_generation) == (2, 2)
    status = web.status
    assert (status.replicas, status.updated_replicas) == (8, 8)
    assert (status.ready_replicas, status.available_replicas, status.unavailable_replicas) == (
        3,
        3,
        5,
    )
    available = next(c for c in status.conditions if c.type == "Available")
    assert (available.status, available.reason) == ("False", "MinimumReplicasUnavailable")

    now[0] += 30
    status = apps.read_namespaced_deployment_status("web", "shop").status
    assert (status.ready_replicas, status.available_replicas) == (8, 8)
    assert status.unavailable_replicas is None  # omitempty, as the API server writes it
    available = next(c for c in status.conditions if c.type == "Available")
    assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")

    # Scaling to the same count changes no spec: no new generation.
    apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 8}})
    assert apps.read_namespaced_deployment("web", "shop").metadata.generation == 2


def test_a_list_comes_in_limit_and_continue_pages(apps: Any) -> None:
    first = apps.list_deployment_for_all_namespaces(limit=2)
    assert [d.metadata.name for d in first.items] == ["web", "web"]
    assert first.metadata.remaining_item_count == 1 and first.metadata.var_continue
    rest = apps.list_deployment_for_all_namespaces(limit=2, _continue=first.metadata.var_continue)
    assert [d.metadata.name for d in rest.items] == ["worker"]
    assert rest.metadata.var_continue is None

    with pytest.raises(ApiException) as info:
        apps.list_namespaced_deployment("shop", _continue="not-a-token")
    assert info.value.status == 410
    with pytest.raises(ApiException) as info:
        apps.list_namespaced_deployment("shop", watch=True, _preload_content=False)
    assert info.value.status == 400  # watches are not emulated, and say so


def test_not_found_and_unauthorized_are_statuses(k8s: KubernetesEmulator) -> None:
    apps = apps_api(k8s)
    with pytest.raises(ApiException) as info:
        apps.read_namespaced_deployment_scale("nope", "shop")
    assert info.value.status == 404
    status = k8s_client.V1Status.from_dict(json.loads(info.value.body))
    assert (status.reason, status.code) == ("NotFound", 404)
    assert status.details.name == "nope"

    intruder = apps_api(k8s, token="not-the-token")
    with pytest.raises(ApiException) as info:
        intruder.list_namespaced_deployment("shop")
    assert info.value.status == 401
    assert json.loads(info.value.body)["reason"] == "Unauthorized"
    assert all("not-the-token" not in json.dumps(r.headers) for r in k8s.requests)
    apps.api_client.close()
    intruder.api_client.close()
