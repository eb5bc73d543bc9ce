"""The Kubernetes emulator's wire formats, over real loopback HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

from autoscalebot.emulator.kubernetes import KubernetesEmulator
from tests.backends.conftest import TOKEN

SCALE = "/apis/apps/v1/namespaces/shop/deployments/web/scale"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MERGE = {**AUTH, "Content-Type": "application/merge-patch+json"}
STATUS_KEYS = ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]


@pytest.fixture
def api(k8s):
    with httpx.Client(base_url=k8s.url, trust_env=False) as client:
        yield client


def assert_status(response, code, reason, message=None):
    body = response.json()
    assert response.status_code == code
    assert response.headers["content-type"] == "application/json"
    assert [k for k in body if k != "details"] == [k for k in STATUS_KEYS if k != "details"]
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["metadata"] == {}
    assert body["status"] == "Failure" and body["reason"] == reason and body["code"] == code
    if message is not None:
        assert body["message"] == message
    return body


def test_get_scale_is_an_autoscaling_v1_scale(api):
    response = api.get(SCALE, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["audit-id"]
    body = response.json()
    assert body["kind"] == "Scale" and body["apiVersion"] == "autoscaling/v1"
    meta = body["metadata"]
    assert sorted(meta) == ["creationTimestamp", "name", "namespace", "resourceVersion", "uid"]
    assert (meta["name"], meta["namespace"]) == ("web", "shop")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["resourceVersion"].isdigit()
    assert body["spec"] == {"replicas": 2}
    assert body["status"] == {"replicas": 2, "selector": "app=web"}


def test_merge_patch_scales_and_bumps_the_resource_version(api, k8s):
    before = api.get(SCALE, headers=AUTH).json()["metadata"]
    response = api.patch(SCALE, headers=MERGE, content=b'{"spec":{"replicas":5}}')
    assert response.status_code == 200
    after = response.json()
    assert after["spec"] == {"replicas": 5}
    assert int(after["metadata"]["resourceVersion"]) > int(before["resourceVersion"])
    assert after["metadata"]["uid"] == before["uid"]
    assert k8s.replicas("shop", "web") == 5
    assert k8s.patches() == [{"spec": {"replicas": 5}}]


def test_zero_replicas_leave_an_empty_spec_like_go_omitempty(api, k8s):
    k8s.set_replicas("shop", "web", 0)
    body = api.get(SCALE, headers=AUTH).json()
    assert body["spec"] == {} and body["status"]["replicas"] == 0


def test_strategic_merge_and_json_patch_are_accepted(api, k8s):
    strategic = {**AUTH, "Content-Type": "application/strategic-merge-patch+json"}
    assert (
        api.patch(SCALE, headers=strategic, content=b'{"spec":{"replicas":3}}').status_code == 200
    )
    json_patch = {**AUTH, "Content-Type": "application/json-patch+json"}
    ops = b'[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":4}]'
    assert api.patch(SCALE, headers=json_patch, content=ops).status_code == 200
    assert k8s.replicas("shop", "web") == 4
    failing = b'[{"op":"test","path":"/spec/replicas","value":9}]'
    assert_status(api.patch(SCALE, headers=json_patch, content=failing), 422, "Invalid")


def test_wrong_content_type_is_415(api):
    response = api.patch(SCALE, headers={**AUTH, "Content-Type": "application/json"}, content=b"{}")
    body = assert_status(response, 415, "UnsupportedMediaType")
    assert body["message"].startswith(
        "the body of the request was in an unknown format - accepted media types include: "
    )
    assert "application/merge-patch+json" in body["message"]


def test_missing_or_wrong_token_is_401(api):
    assert_status(api.get(SCALE), 401, "Unauthorized", "Unauthorized")
    assert_status(api.get(SCALE, headers={"Authorization": "Bearer nope"}), 401, "Unauthorized")
    assert_status(api.get(SCALE, headers={"Authorization": f"Basic {TOKEN}"}), 401, "Unauthorized")


def test_rbac_knob_is_403_with_the_api_servers_message(api, k8s):
    k8s.forbid("patch")
    assert api.get(SCALE, headers=AUTH).status_code == 200
    body = assert_status(
        api.patch(SCALE, headers=MERGE, content=b'{"spec":{"replicas":3}}'),
        403,
        "Forbidden",
        'deployments.apps "web" is forbidden: User "system:serviceaccount:default:autoscalebot" cannot patch '
        'resource "deployments/scale" in API group "apps" in the namespace "shop"',
    )
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert k8s.replicas("shop", "web") == 2


def test_unknown_deployment_and_unknown_path_are_404(api):
    body = assert_status(
        api.get("/apis/apps/v1/namespaces/shop/deployments/nope/scale", headers=AUTH),
        404,
        "NotFound",
        'deployments.apps "nope" not found',
    )
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    assert_status(
        api.get("/apis/apps/v1/nothing", headers=AUTH),
        404,
        "NotFound",
        "the server could not find the requested resource",
    )


def test_conflicts_from_the_knob_and_from_a_stale_resource_version(api, k8s):
    k8s.inject_conflict()
    body = assert_status(
        api.patch(SCALE, headers=MERGE, content=b'{"spec":{"replicas":3}}'), 409, "Conflict"
    )
    assert body["message"].startswith(
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified'
    )
    assert k8s.replicas("shop", "web") == 2
    stale = b'{"metadata":{"resourceVersion":"1"},"spec":{"replicas":3}}'
    assert_status(api.patch(SCALE, headers=MERGE, content=stale), 409, "Conflict")
    scale = api.get(SCALE, headers=AUTH).json()
    scale["spec"]["replicas"] = 6
    assert api.put(SCALE, headers=AUTH, json=scale).status_code == 200  # current version: accepted
    assert_status(api.put(SCALE, headers=AUTH, json=scale), 409, "Conflict")  # now stale
    assert k8s.replicas("shop", "web") == 6


def test_invalid_and_malformed_bodies(api, k8s):
    body = assert_status(
        api.patch(SCALE, headers=MERGE, content=b'{"spec":{"replicas":-1}}'), 422, "Invalid"
    )
    assert body["message"] == (
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    )
    assert body["details"]["causes"][0]["field"] == "spec.replicas"
    assert_status(api.patch(SCALE, headers=MERGE, content=b"{nope"), 400, "BadRequest")
    assert_status(api.delete(SCALE, headers=AUTH), 405, "MethodNotAllowed")
    assert k8s.replicas("shop", "web") == 2


def test_injected_faults(api, k8s):
    k8s.inject_fault(429, retry_after=7)
    response = api.get(SCALE, headers=AUTH)
    body = assert_status(response, 429, "TooManyRequests")
    assert response.headers["retry-after"] == "7" and body["details"] == {"retryAfterSeconds": 7}
    k8s.inject_fault(500, method="PATCH", raw=b"<html>oops")
    assert api.get(SCALE, headers=AUTH).status_code == 200  # only PATCH was meant
    assert api.patch(SCALE, headers=MERGE, content=b"{}").text == "<html>oops"


def test_pods_exist_at_once_and_are_ready_after_the_rollout_time():
    now = [0.0]
    with KubernetesEmulator(token=TOKEN, rollout_seconds=5, clock=lambda: now[0]) as k8s:
        k8s.add_deployment("shop", "web", replicas=1)
        k8s.set_replicas("shop", "web", 3)
        assert (k8s.replicas("shop", "web"), k8s.observed_replicas("shop", "web")) == (3, 1)
        status = k8s.deployment("shop", "web")["status"]
        assert (status["replicas"], status["readyReplicas"], status["unavailableReplicas"]) == (
            3,
            1,
            2,
        )
        now[0] = 5.0
        assert k8s.observed_replicas("shop", "web") == 3
        assert "unavailableReplicas" not in k8s.deployment("shop", "web")["status"]


def test_scaling_down_mid_rollout_removes_the_pods_not_yet_ready_first():
    now = [0.0]
    with KubernetesEmulator(token=TOKEN, rollout_seconds=5, clock=lambda: now[0]) as k8s:
        k8s.add_deployment("shop", "web", replicas=2)
        k8s.set_replicas("shop", "web", 4)
        k8s.set_replicas("shop", "web", 3)
        assert k8s.observed_replicas("shop", "web") == 2
        k8s.set_replicas("shop", "web", 2)
        status = k8s.deployment("shop", "web")["status"]
        assert (status["readyReplicas"], status["availableReplicas"]) == (2, 2)
        assert k8s.deployment("shop", "web")["metadata"]["generation"] == 4


def test_the_token_is_redacted_from_the_request_log(api, k8s):
    api.patch(SCALE, headers={**MERGE, "X-Echo": TOKEN}, content=f'{{"note":"{TOKEN}"}}'.encode())
    record = k8s.requests[-1]
    assert record.headers["Authorization"] == "Bearer [REDACTED]"
    assert TOKEN not in repr(k8s.requests) and TOKEN not in repr(k8s)


def test_main_serves_until_sigterm(tmp_path):
    token = tmp_path / "token"
    token.write_text("cli-token")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoscalebot.emulator.kubernetes",
            "--deployment",
            "api=3",
            "--token-file",
            str(token),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert line.startswith("kubernetes emulator listening on http://127.0.0.1:")
        response = httpx.get(
            url + "/apis/apps/v1/namespaces/default/deployments/api/scale",
            headers={"Authorization": "Bearer cli-token"},
            trust_env=False,
        )
        assert response.json()["spec"] == {"replicas": 3}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
