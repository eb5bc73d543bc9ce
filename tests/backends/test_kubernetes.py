"""KubernetesScaler against the loopback Kubernetes emulator, over real HTTP (and TLS)."""

from __future__ import annotations

import os

import pytest

from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.kubernetes import KubernetesScaler
from autoscalebot.config import ConfigError, build_settings
from autoscalebot.emulator.kubernetes import KubernetesEmulator
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from tests.backends.conftest import TOKEN, make_certificate
from tests.conftest import ScriptedProbe


def settings(k8s_url, token_file, **extra):
    raw = {
        "SCALING_BACKEND": "kubernetes",
        "KUBERNETES_API_URL": k8s_url,
        "KUBERNETES_NAMESPACE": "shop",
        "KUBERNETES_DEPLOYMENT": "web",
        "KUBERNETES_TOKEN_FILE": str(token_file),
        "HEARTBEAT_URL": "http://127.0.0.1:9/health",
        "TIME_ZONE": "UTC",
    }
    return build_settings(raw | extra)


@pytest.fixture
def scaler(k8s, token_file):
    s = KubernetesScaler(settings(k8s.url, token_file))
    yield s
    s.close()


def test_reads_and_scales_spec_replicas_with_a_merge_patch(scaler, k8s):
    assert scaler.current() == 2
    assert scaler.scale_to(4) == 4
    assert k8s.replicas("shop", "web") == 4
    patch = k8s.requests[-1]
    assert patch.method == "PATCH"
    assert patch.path == "/apis/apps/v1/namespaces/shop/deployments/web/scale"
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert patch.headers["Authorization"] == "Bearer [REDACTED]"
    assert patch.json == {"spec": {"replicas": 4}}
    assert scaler.app_url() is None


def test_the_count_is_the_spec_not_the_pods_still_starting(token_file):
    now = [0.0]
    with KubernetesEmulator(token=TOKEN, rollout_seconds=30, clock=lambda: now[0]) as k8s:
        k8s.add_deployment("shop", "web", replicas=1)
        scaler = KubernetesScaler(settings(k8s.url, token_file))
        assert scaler.scale_to(3) == 3
        assert scaler.current() == 3
        assert k8s.observed_replicas("shop", "web") == 1  # pods not up yet: not a failed scale
        scaler.close()


def test_zero_replicas_read_as_zero(scaler, k8s):
    k8s.set_replicas("shop", "web", 0)  # the API omits spec.replicas then
    assert scaler.current() == 0


def failure(call):
    with pytest.raises(ScalerError) as info:
        call()
    assert TOKEN not in str(info.value)
    return info.value


def test_rbac_denial_is_forbidden_with_a_fix(scaler, k8s):
    k8s.forbid("patch")
    error = failure(lambda: scaler.scale_to(3))
    assert error.kind == "forbidden"
    assert "Kubernetes 403 Forbidden on PATCH deployments/web/scale in namespace shop" in str(error)
    assert 'cannot patch resource "deployments/scale"' in str(error)
    assert "grant the service account get and patch on deployments/scale" in str(error)
    assert scaler.current() == 2


def test_unknown_deployment_is_not_found(k8s, token_file):
    scaler = KubernetesScaler(settings(k8s.url, token_file, KUBERNETES_DEPLOYMENT="nope"))
    error = failure(scaler.current)
    assert error.kind == "not_found"
    assert 'deployments.apps "nope" not found' in str(error) and "KUBERNETES_DEPLOYMENT" in str(
        error
    )


def test_conflict_is_reported_for_a_retry(scaler, k8s):
    k8s.inject_conflict()
    error = failure(lambda: scaler.scale_to(3))
    assert (
        error.kind == "server"
        and "409 Conflict" in str(error)
        and "retrying next beat" in str(error)
    )
    assert scaler.scale_to(3) == 3


def test_refused_token_and_rotation(k8s, token_file):
    token_file.write_text("an-old-token")
    scaler = KubernetesScaler(settings(k8s.url, token_file))
    error = failure(scaler.current)
    assert (
        error.kind == "auth"
        and "401 Unauthorized" in str(error)
        and "an-old-token" not in str(error)
    )
    token_file.write_text(TOKEN)  # kubelet rotated the projected token
    os.utime(token_file, (1, 1))
    assert scaler.current() == 2


def test_rate_limit_backs_off_for_retry_after(scaler, k8s):
    k8s.inject_fault(429, message="too many requests, please try again later", retry_after=7)
    error = failure(scaler.current)
    assert (error.kind, error.retry_after) == ("rate_limited", 7.0)


def test_server_errors_and_garbage(scaler, k8s):
    k8s.inject_fault(503, message="etcdserver: leader changed")
    error = failure(scaler.current)
    assert error.kind == "server" and "etcdserver: leader changed" in str(error)
    k8s.inject_fault(200, raw=b"not json")
    assert failure(scaler.current).kind == "protocol"
    k8s.inject_fault(200, raw=b'{"kind":"Status"}')
    assert failure(scaler.current).kind == "protocol"


def test_timeout_is_a_network_error(k8s, token_file):
    import httpx

    scaler = KubernetesScaler(
        settings(k8s.url, token_file), client=httpx.Client(timeout=0.2, trust_env=False)
    )
    k8s.set_latency(1.0)
    assert failure(scaler.current).kind == "network"


def test_in_cluster_defaults_over_tls(tmp_path, token_file):
    cert, key = make_certificate(tmp_path)
    with KubernetesEmulator(token=TOKEN, tls=(str(cert), str(key))) as k8s:
        k8s.add_deployment("shop", "web", replicas=2)
        environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(k8s.port)}
        raw = settings(None, token_file, KUBERNETES_CA_FILE=str(cert), KUBERNETES_API_URL=None)
        scaler = KubernetesScaler(raw, environ=environ)
        assert scaler.base == f"https://127.0.0.1:{k8s.port}"
        assert scaler.scale_to(3) == 3
        scaler.close()
        other, _ = make_certificate(tmp_path, name="other")
        untrusting = KubernetesScaler(settings(k8s.url, token_file, KUBERNETES_CA_FILE=str(other)))
        error = failure(untrusting.current)
        assert error.kind == "network" and "TLS verification failed" in str(error)
        untrusting.close()


@pytest.mark.parametrize(
    ("extra", "setting"),
    [
        ({"KUBERNETES_DEPLOYMENT": None}, "KUBERNETES_DEPLOYMENT"),
        ({"KUBERNETES_API_URL": "http://10.0.0.1:6443"}, "KUBERNETES_API_URL"),
        ({"KUBERNETES_API_URL": None}, "KUBERNETES_API_URL"),  # and no KUBERNETES_SERVICE_HOST
        ({"KUBERNETES_TOKEN_FILE": "/nonexistent/token"}, "KUBERNETES_TOKEN_FILE"),
        (
            {"KUBERNETES_CA_FILE": "/nonexistent/ca.crt", "KUBERNETES_API_URL": "https://10.0.0.1"},
            "KUBERNETES_CA_FILE",
        ),
        ({"HEARTBEAT_URL": "/health"}, "HEARTBEAT_URL"),
    ],
)
def test_configuration_errors_name_the_setting(token_file, extra, setting):
    with pytest.raises(ConfigError) as info:
        KubernetesScaler(settings("http://127.0.0.1:9", token_file, **extra), environ={})
    assert info.value.setting == setting


def test_namespace_defaults_to_the_service_accounts(token_file, monkeypatch, tmp_path):
    import autoscalebot.backends.kubernetes as module

    monkeypatch.setattr(module, "SERVICE_ACCOUNT_DIR", tmp_path)
    with pytest.raises(ConfigError) as info:
        KubernetesScaler(settings("http://127.0.0.1:9", token_file, KUBERNETES_NAMESPACE=None))
    assert info.value.setting == "KUBERNETES_NAMESPACE"
    (tmp_path / "namespace").write_text("shop\n")
    assert (
        KubernetesScaler(
            settings("http://127.0.0.1:9", token_file, KUBERNETES_NAMESPACE=None)
        ).namespace
        == "shop"
    )


def test_the_engine_scales_a_deployment_through_the_emulator(k8s, token_file):
    probe = ScriptedProbe([1500.0, 1600.0, 1700.0])
    events = []
    engine = Engine(
        settings(k8s.url, token_file, MAX_DYNOS=5),
        sink=events.append,
        clock=FakeClock(),
        probe=probe,
        notifiers=[],
        notify_async=False,
    )
    for _ in range(3):
        engine.tick()
    assert k8s.replicas("shop", "web") == 3
    assert [(e.before, e.after) for e in events if e.kind == "scale"] == [(2, 3)]
    k8s.forbid("patch")
    probe.push(1500.0, 1600.0, 1700.0)
    for _ in range(3):
        engine.tick()
    failed = [e for e in events if e.kind == "scale_failed"]
    assert failed and "403 Forbidden" in failed[0].reason and engine.current == 3
    engine.close()


def test_readiness_is_the_ready_replicas_and_the_rest_still_starting(token_file):
    now = [0.0]
    with KubernetesEmulator(token=TOKEN, rollout_seconds=30, clock=lambda: now[0]) as k8s:
        k8s.add_deployment("shop", "web", replicas=1)
        scaler = KubernetesScaler(settings(k8s.url, token_file))
        now[0] = 31.0
        assert scaler.readiness() == (1, 0)
        scaler.scale_to(4)
        assert scaler.readiness() == (1, 3)  # three pods still starting
        now[0] = 70.0
        assert scaler.readiness() == (4, 0)
        scaler.close()
