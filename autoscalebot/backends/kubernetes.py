"""Scaling backend: a Kubernetes Deployment, through its ``scale`` subresource.

``GET`` and ``PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale``
(an ``autoscaling/v1`` ``Scale``), the patch a JSON merge patch
``{"spec": {"replicas": n}}``. The service account needs only ``get`` and
``patch`` on ``deployments/scale`` in the ``apps`` group.

The count is ``spec.replicas``, the number the Deployment is asked to run, not
``status.replicas``, the pods that exist this moment. The engine compares what
it asked for with what the platform says: pods take seconds to start and stop,
and during a rolling update old and new pods are counted together, so reading
the status would make every scale look unconfirmed and every rollout look like
someone scaling by hand. (An HorizontalPodAutoscaler on the same Deployment
would fight the bot over ``spec.replicas``; use one or the other.)

In a pod, everything comes from the standard places: the API server from
``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``, the token, CA and
namespace from ``/var/run/secrets/kubernetes.io/serviceaccount/``. The token
file is re-read when it changes, as kubelet rotates bound tokens.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from autoscalebot import __version__
from autoscalebot.backends import http
from autoscalebot.backends.base import BaseBackend, ScalerError
from autoscalebot.backends.checks import is_loopback, require_absolute_heartbeat_url
from autoscalebot.config.settings import SPEC_BY_NAME, ConfigError, Settings

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MERGE_PATCH = "application/merge-patch+json"
# When the API server asks to back off without saying how long.
DEFAULT_BACKOFF = 10.0
# One API call, all of it, and the most of an answer read (a Scale is ~500 bytes).
DEADLINE_SECONDS = 10.0
MAX_BODY_BYTES = 1 << 20

_KINDS = {
    400: "invalid",
    401: "auth",
    403: "forbidden",
    404: "not_found",
    409: "server",
    415: "protocol",
    422: "invalid",
    429: "rate_limited",
}


class KubernetesScaler(BaseBackend):
    """Reads and sets ``spec.replicas`` of ``KUBERNETES_DEPLOYMENT``.

    ``environ`` stands in for ``os.environ`` (the in-cluster service address)
    and ``client`` for the HTTP client, in tests. Every failure becomes a
    :class:`ScalerError` built from the API server's ``Status``; the token is
    never in a message.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        deadline: float = DEADLINE_SECONDS,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        environ = os.environ if environ is None else environ
        require_absolute_heartbeat_url(settings, "kubernetes")
        if not settings.kubernetes_deployment:
            raise ConfigError(
                "KUBERNETES_DEPLOYMENT",
                "is required to scale on Kubernetes",
                "Set it to the Deployment's name.",
            )
        self.deployment = settings.kubernetes_deployment
        self.namespace = settings.kubernetes_namespace or _read_namespace()
        self.base = settings.kubernetes_api_url or _in_cluster_url(environ)
        if not self.base.startswith("https://") and not is_loopback(self.base):
            raise ConfigError(
                "KUBERNETES_API_URL",
                f"{self.base} is not HTTPS; the service-account token is only sent over HTTPS",
                "Use the API server's https:// URL (plain http is allowed only on loopback).",
            )
        self.token_file = Path(settings.kubernetes_token_file)
        self._token = ""
        self._token_stamp: tuple[float, int] | None = None
        self._load_token()  # a missing token is a configuration error, now, not at the first beat
        self._deadline = deadline
        self._client = (
            http.bound(client)
            if client
            else http.client(timeout=deadline, verify=self._verify(settings))
        )
        self._path = (
            f"/apis/apps/v1/namespaces/{quote(self.namespace, safe='')}"
            f"/deployments/{quote(self.deployment, safe='')}/scale"
        )
        self._no_readiness = False

    def _verify(self, settings: Settings) -> ssl.SSLContext | bool:
        """Trust the cluster's CA; without a CA file (outside a cluster) the system's CAs."""
        if not self.base.startswith("https://"):
            return True
        ca = Path(settings.kubernetes_ca_file)
        if not ca.exists():
            if settings.kubernetes_ca_file != SPEC_BY_NAME["KUBERNETES_CA_FILE"].default:
                raise ConfigError(
                    "KUBERNETES_CA_FILE",
                    f"{ca} does not exist",
                    "Point it at the cluster's CA bundle.",
                )
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                "KUBERNETES_CA_FILE", f"{ca} is not a readable CA bundle ({exc})"
            ) from None

    def _load_token(self) -> str:
        """The bearer token, re-read when the file changed (rotation)."""
        try:
            stat = self.token_file.stat()
            stamp = (stat.st_mtime, stat.st_size)
            if stamp != self._token_stamp:
                self._token = self.token_file.read_text().strip()
                self._token_stamp = stamp
        except FileNotFoundError:
            if self._token_stamp is None:
                raise ConfigError(
                    "KUBERNETES_TOKEN_FILE",
                    f"{self.token_file} does not exist",
                    "Run in a pod with a service account, or point it at a token file.",
                ) from None
            raise ScalerError(
                f"the token file {self.token_file} disappeared", kind="auth"
            ) from None
        except OSError as exc:
            raise ConfigError(
                "KUBERNETES_TOKEN_FILE", f"{self.token_file} cannot be read: {exc.strerror}"
            ) from None
        if not self._token:
            raise ConfigError("KUBERNETES_TOKEN_FILE", f"{self.token_file} is empty")
        return self._token

    def current(self) -> int:
        return self._replicas(self._call("GET"))

    def scale_to(self, quantity: int) -> int:
        return self._replicas(self._call("PATCH", {"spec": {"replicas": quantity}}))

    @property
    def target(self) -> str:
        """What is scaled, for the start event: ``deployment default/web``."""
        return f"deployment {self.namespace}/{self.deployment}"

    def app_url(self) -> str | None:
        """Unknown: a Deployment does not say where it is reachable; set HEARTBEAT_URL in full."""
        return None

    def close(self) -> None:
        self._client.close()

    def _replicas(self, body: Any) -> int:
        # ScaleSpec.replicas is "omitempty": a Scale of 0 has "spec": {}.
        spec = body.get("spec") if isinstance(body, dict) and body.get("kind") == "Scale" else None
        replicas = spec.get("replicas", 0) if isinstance(spec, dict) else None
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise ScalerError(
                "Kubernetes answered without a Scale's spec.replicas", kind="protocol"
            )
        return replicas

    def readiness(self) -> tuple[int, int] | None:
        """``(up, starting)``: the Deployment's ready replicas, and the rest of its spec.

        None when the service account may not read Deployments (a 403: it
        needs only the scale subresource to scale), remembered so the API is
        not asked again.
        """
        if self._no_readiness:
            return None
        try:
            body = self._call("GET", path=self._path.removesuffix("/scale"))
        except ScalerError as exc:
            if exc.kind == "forbidden":
                self._no_readiness = True
                return None
            raise
        spec = body.get("spec") if isinstance(body, dict) else None
        status = body.get("status") if isinstance(body, dict) else None
        wanted = spec.get("replicas", 0) if isinstance(spec, dict) else None
        ready = status.get("readyReplicas", 0) if isinstance(status, dict) else 0
        if not all(type(n) is int and n >= 0 for n in (wanted, ready)):
            raise ScalerError(
                "Kubernetes answered without a Deployment's replicas", kind="protocol"
            )
        assert isinstance(wanted, int) and isinstance(ready, int)
        return ready, max(0, wanted - ready)

    def _call(
        self, method: str, body: dict[str, Any] | None = None, *, path: str | None = None
    ) -> Any:
        resource = "deployments/" + self.deployment + ("/scale" if path is None else "")
        path = path or self._path
        what = f"{method} {resource} in namespace {self.namespace}"
        try:
            token = self._load_token()
        except ConfigError as exc:
            raise ScalerError(str(exc), kind="auth") from None
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": f"autoscalebot/{__version__}",
        }
        content = None
        if body is not None:
            headers["Content-Type"] = MERGE_PATCH
            content = json.dumps(body).encode()
        try:
            response = http.request(
                self._client,
                method,
                self.base + path,
                content=content,
                headers=headers,
                deadline=self._deadline,
                max_bytes=MAX_BODY_BYTES,
                truncate=True,  # an error's status still counts; its page need not be whole
            )
        except http.CallFailed as exc:
            if exc.kind == "timeout":
                raise ScalerError(f"Kubernetes API {exc} ({what})", kind="network") from None
            raise ScalerError(
                f"Kubernetes API unreachable ({what}): {exc}", kind="network"
            ) from None
        if response.status_code >= 400:
            raise self._error(response, what)
        if response.truncated:
            raise ScalerError(
                f"Kubernetes answered {what} with a body over {MAX_BODY_BYTES} bytes",
                kind="protocol",
            )
        try:
            return response.json()
        except ValueError:
            raise ScalerError(
                f"Kubernetes answered {what} with malformed JSON", kind="protocol"
            ) from None

    def _error(self, response: http.Reply, what: str) -> ScalerError:
        """A ScalerError from the API server's ``Status`` (or the bare status line)."""
        code = response.status_code
        reason, message, retry = "", "", None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("kind") == "Status":
            reason = str(data.get("reason") or "")[:60]
            message = str(data.get("message") or "")[:300]
            details = data.get("details")
            if isinstance(details, dict) and isinstance(details.get("retryAfterSeconds"), int):
                retry = float(details["retryAfterSeconds"])
        header = response.headers.get("Retry-After", "").strip()
        if header.isdigit():
            retry = float(header)
        kind = _KINDS.get(code, "server" if code >= 500 else "protocol")
        if kind == "rate_limited" and retry is None:
            retry = DEFAULT_BACKOFF
        text = f"Kubernetes {code}{' ' + reason if reason else ''} on {what}: "
        text += (message or response.reason_phrase) + f" ({self._hint(code)})"
        return ScalerError(text, kind=kind, retry_after=retry)

    def _hint(self, code: int) -> str:
        return {
            401: f"the token in {self.token_file} was refused; expired, or from another cluster?",
            403: "grant the service account get and patch on deployments/scale in API group apps",
            404: "check KUBERNETES_NAMESPACE and KUBERNETES_DEPLOYMENT",
            409: "someone else changed the Deployment at the same moment; retrying next beat",
            415: "the API server refused the patch format",
            422: "Kubernetes refused the change",
            429: "backing off",
        }.get(code, "the API server may be having trouble; retrying next beat")


def _in_cluster_url(environ: Mapping[str, str]) -> str:
    host = environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = environ.get("KUBERNETES_SERVICE_PORT", "").strip() or "443"
    if not host:
        raise ConfigError(
            "KUBERNETES_API_URL",
            "is not set, and KUBERNETES_SERVICE_HOST is not in the environment (not in a pod?)",
            "Set KUBERNETES_API_URL to the API server's https:// URL.",
        )
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"https://{host}:{port}"


def _read_namespace() -> str:
    path = SERVICE_ACCOUNT_DIR / "namespace"
    try:
        namespace = path.read_text().strip()
    except OSError:
        namespace = ""
    if not namespace:
        raise ConfigError(
            "KUBERNETES_NAMESPACE",
            f"is not set, and {path} cannot be read (not in a pod?)",
            "Set KUBERNETES_NAMESPACE to the Deployment's namespace.",
        )
    return namespace
