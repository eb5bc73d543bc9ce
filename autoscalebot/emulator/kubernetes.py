"""A Kubernetes API server emulator for Deployments and their ``scale`` subresource, on loopback.

Just enough of the API server for the project's Kubernetes scaler to be
tested (and tried) against real HTTP, faithful to the wire formats:

* ``GET``/``PATCH``/``PUT /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale``
  answer an ``autoscaling/v1`` ``Scale`` (``metadata`` with ``name``,
  ``namespace``, ``uid``, ``resourceVersion``, ``creationTimestamp``;
  ``spec.replicas``; ``status.replicas`` and ``status.selector``);
  ``GET .../deployments/{name}`` (and ``.../status``) an ``apps/v1``
  ``Deployment`` with the defaults the API server fills in (``strategy``,
  ``revisionHistoryLimit``, ``progressDeadlineSeconds``, the pod template's);
  ``GET /apis/apps/v1/namespaces/{ns}/deployments`` and
  ``GET /apis/apps/v1/deployments`` a ``DeploymentList`` (``labelSelector``
  with ``key=value`` terms, and ``limit``/``continue`` paging, are honoured).
* ``metadata.generation`` starts at 1 and goes up by 1 on each change of the
  spec; ``status.observedGeneration`` follows it at once (the controller is
  quick); ``status.replicas`` and ``updatedReplicas`` are the pods that exist
  (the new count, at once), ``readyReplicas`` and ``availableReplicas`` the
  pods up: a new pod is ready ``rollout_seconds`` after it was created. Scaling
  down removes pods not yet ready first. The ``Available`` condition is
  ``True`` while no more than 25% of the pods (rounded down, the default
  ``maxUnavailable``) are unavailable; a status change bumps
  ``resourceVersion``, as the controller's status write does.
* ``PATCH`` takes ``application/merge-patch+json`` and
  ``application/strategic-merge-patch+json`` (the same thing for a Scale)
  and ``application/json-patch+json`` (``add``/``replace``/``test``); any
  other ``Content-Type`` is ``415 UnsupportedMediaType``. A
  ``metadata.resourceVersion`` in the body is a precondition: a stale one is
  ``409 Conflict``, as on a real cluster.
* Every error is a ``v1`` ``Status`` (``kind``, ``apiVersion``, ``metadata``,
  ``status: Failure``, ``message``, ``reason``, ``details``, ``code``) with
  the API server's messages: ``401 Unauthorized`` without the bearer token,
  ``403 Forbidden`` for verbs an RBAC knob denies, ``404 NotFound`` for an
  unknown Deployment, ``409 Conflict``, ``415``, ``422 Invalid`` for a
  negative count, ``400 BadRequest`` for malformed JSON, and injected faults
  (``429`` with ``Retry-After``, ``500``, ...).

Server-side apply (``application/apply-patch+yaml``), writes to the
Deployment itself, watches (``watch=true`` is a 400) and every other
resource are not implemented. Requests are recorded with the token redacted.
Serve it from a shell with ``python -m autoscalebot.emulator.kubernetes``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from autoscalebot.emulator.server import BackgroundHTTPServer, LoopbackHTTPServer, stop_on_signals

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "emulator-token"
"""Bearer token the emulator accepts when none is given."""

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
"""What the API server accepts for PATCH on built-in types, in its own order."""

_ROUTE = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/scale|/status)?/?$")
_LIST_ROUTE = re.compile(r"^/apis/apps/v1/(?:namespaces/([^/]+)/)?deployments/?$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERBS = {"GET": "get", "PATCH": "patch", "PUT": "update"}
_REDACTED = "[REDACTED]"
_MAX_BODY = 1 << 20


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``v1`` ``Status`` of failure, as the API server writes it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class _StatusError(Exception):
    """Raised while serving to answer with a Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.body = status_body(code, reason, message, details)
        self.headers: dict[str, str] = {}


def _not_found(name: str) -> _StatusError:
    return _StatusError(
        404,
        "NotFound",
        f'deployments.apps "{name}" not found',
        {"name": name, "group": "apps", "kind": "deployments"},
    )


def _conflict(name: str) -> _StatusError:
    return _StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on deployments.apps "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        {"name": name, "group": "apps", "kind": "deployments"},
    )


def _invalid(name: str, value: Any, detail: str) -> _StatusError:
    return _StatusError(
        422,
        "Invalid",
        f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {json.dumps(value)}: {detail}',
        {
            "name": name,
            "group": "autoscaling",
            "kind": "Scale",
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {json.dumps(value)}: {detail}",
                    "field": "spec.replicas",
                }
            ],
        },
    )


def _wall(moment: float, clock_zero: float, wall_zero: datetime) -> str:
    """The wall time of emulator clock reading ``moment``, as the API server writes times."""
    return (wall_zero + timedelta(seconds=moment - clock_zero)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Deployment:
    """One Deployment's state, as far as scaling cares."""

    namespace: str
    name: str
    uid: str
    created: str
    resource_version: int
    generation: int
    replicas: int
    pods: list[float]  # the clock reading at which each existing pod is (or was) ready
    labels: dict[str, str]
    available: bool  # the Available condition's status, as last written
    available_since: str  # its lastTransitionTime

    @property
    def selector(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))

    def ready(self, now: float) -> int:
        """Pods ready at ``now``."""
        return sum(1 for ready_at in self.pods if ready_at <= now)

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "resourceVersion": str(self.resource_version),
            "creationTimestamp": self.created,
        }

    def scale_json(self) -> dict[str, Any]:
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": self.metadata(),
            # Go's omitempty: a Scale of 0 replicas has an empty spec.
            "spec": {"replicas": self.replicas} if self.replicas else {},
            "status": {"replicas": len(self.pods), "selector": self.selector},
        }

    def deployment_json(self, now: float) -> dict[str, Any]:
        labels = dict(self.labels)
        template_hash = hashlib.sha256(self.uid.encode()).hexdigest()[:10]
        container = {
            "name": "web",
            "image": "example/web:1",
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }
        ready = self.ready(now)
        counts = {
            "observedGeneration": self.generation,
            "replicas": len(self.pods),
            "updatedReplicas": len(self.pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": len(self.pods) - ready,
        }
        # Go's omitempty drops the zero counts.
        status: dict[str, Any] = {key: value for key, value in counts.items() if value}
        status["conditions"] = [
            {
                "type": "Available",
                "status": "True" if self.available else "False",
                "lastUpdateTime": self.available_since,
                "lastTransitionTime": self.available_since,
                "reason": "MinimumReplicasAvailable"
                if self.available
                else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if self.available
                else "Deployment does not have minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": self.created,
                "lastTransitionTime": self.created,
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{self.name}-{template_hash}" has successfully progressed.',
            },
        ]
        return {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": self.metadata()
            | {
                "generation": self.generation,
                "labels": labels,
                "annotations": {"deployment.kubernetes.io/revision": "1"},
            },
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": dict(labels)},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {
                        "containers": [container],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                        "securityContext": {},
                        "schedulerName": "default-scheduler",
                    },
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": status,
        }


@dataclasses.dataclass
class RecordedRequest:
    """One API request as received, the bearer token redacted everywhere."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int | None = None

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclasses.dataclass
class _Fault:
    code: int
    reason: str
    message: str
    times: int
    method: str | None
    delay: float
    retry_after: float | None
    raw: bytes | None


_DEFAULT_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing; :class:`KubernetesEmulator` decides every answer."""

    protocol_version = "HTTP/1.1"
    server_version = "KubernetesEmulator/1.0"
    sys_version = ""
    server: LoopbackHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        emulator: KubernetesEmulator = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            self._send(
                413, status_body(413, "RequestEntityTooLarge", "request entity too large"), {}
            )
            return
        body = self.rfile.read(length) if length else b""
        code, payload, headers, delay = emulator.handle(
            self.command, self.path, dict(self.headers.items()), body
        )
        if delay > 0 and self.server.stopping.wait(delay):
            self.close_connection = True
            return
        self._send(code, payload, headers)

    do_PATCH = do_PUT = do_POST = do_DELETE = do_GET  # noqa: N815

    def _send(self, code: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


class KubernetesEmulator(BackgroundHTTPServer):
    """The emulated API server. All public methods are thread-safe.

    >>> with KubernetesEmulator(token="t") as k8s:                  # doctest: +SKIP
    ...     k8s.add_deployment("default", "web", replicas=2)
    ...     httpx.patch(k8s.url + "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ...                 headers={"Authorization": "Bearer t",
    ...                          "Content-Type": "application/merge-patch+json"},
    ...                 content=b'{"spec":{"replicas":3}}')
    ...     assert k8s.replicas("default", "web") == 3

    ``tls=(certfile, keyfile)`` serves HTTPS, as a real API server does.
    """

    handler_class = _Handler

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str = DEFAULT_TOKEN,
        service_account: str = "system:serviceaccount:default:autoscalebot",
        rollout_seconds: float = 0.0,
        tls: tuple[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        self._token = token
        self.service_account = service_account
        """The user named in 403 messages (the bot's service account)."""
        self.rollout_seconds = rollout_seconds
        """Seconds from a pod's creation to its readiness."""
        self._clock = clock
        self._clock_zero = clock()
        self._wall_zero = datetime.now(UTC)
        self._lock = threading.Lock()
        self._deployments: dict[tuple[str, str], Deployment] = {}
        self._revision = 1000  # one counter for all objects, like etcd's
        self._forbidden: set[str] = set()
        self._faults: list[_Fault] = []
        self._conflicts = 0
        self._latency = 0.0
        self._requests: list[RecordedRequest] = []
        super().__init__(host, port)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.url = self.url.replace("http://", "https://", 1)

    def __repr__(self) -> str:
        return f"<KubernetesEmulator {self.url} deployments={sorted(self._deployments)}>"

    def start(self) -> KubernetesEmulator:
        super().start()
        return self

    def __enter__(self) -> KubernetesEmulator:
        return self.start()

    # -- set-up, knobs and inspection ---------------------------------------

    def add_deployment(
        self, namespace: str, name: str, *, replicas: int = 1, labels: dict[str, str] | None = None
    ) -> None:
        """Create Deployment ``namespace/name`` running ``replicas`` pods."""
        for what, value in (("namespace", namespace), ("name", name)):
            if not _NAME.match(value) or len(value) > 253:
                raise ValueError(f"invalid {what} {value!r}: must be a DNS-1123 subdomain")
        _check_replicas(replicas)
        with self._lock:
            if (namespace, name) in self._deployments:
                raise ValueError(f"deployment {namespace}/{name} already exists")
            self._revision += 1
            now = self._clock()
            self._deployments[(namespace, name)] = Deployment(
                namespace=namespace,
                name=name,
                uid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"k8s-emulator/{namespace}/{name}")),
                created=self._wall(now),
                resource_version=self._revision,
                generation=1,
                replicas=replicas,
                pods=[now] * replicas,  # a Deployment added here has been up a while
                labels=dict(labels or {"app": name}),
                available=True,
                available_since=self._wall(now),
            )

    def replicas(self, namespace: str, name: str) -> int:
        """``spec.replicas`` now (KeyError if there is no such Deployment)."""
        with self._lock:
            return self._deployments[(namespace, name)].replicas

    def observed_replicas(self, namespace: str, name: str) -> int:
        """``status.readyReplicas`` now: the pods up (``spec.replicas`` once the rollout is done)."""
        with self._lock:
            deployment = self._deployments[(namespace, name)]
            self._settle(deployment)
            return deployment.ready(self._clock())

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        """The ``Deployment`` as a GET would answer it now (KeyError if there is none)."""
        with self._lock:
            deployment = self._deployments[(namespace, name)]
            self._settle(deployment)
            return deployment.deployment_json(self._clock())

    def set_replicas(self, namespace: str, name: str, n: int) -> None:
        """Scale behind the client's back (``kubectl scale`` by someone else)."""
        _check_replicas(n)
        with self._lock:
            self._write(self._deployments[(namespace, name)], n)

    def forbid(self, *verbs: str) -> None:
        """Deny ``verbs`` (``get``, ``patch``, ``update``) on ``deployments/scale``: RBAC says no."""
        with self._lock:
            self._forbidden = {v.lower() for v in verbs}

    def inject_conflict(self, times: int = 1) -> None:
        """The next ``times`` writes answer 409 Conflict (someone else wrote first)."""
        with self._lock:
            self._conflicts += times

    def inject_fault(
        self,
        code: int,
        *,
        reason: str | None = None,
        message: str | None = None,
        times: int = 1,
        method: str | None = None,
        delay: float = 0.0,
        retry_after: float | None = None,
        raw: bytes | None = None,
    ) -> None:
        """The next ``times`` API requests (of ``method``, if given) answer a Status with ``code``.

        ``retry_after`` adds the ``Retry-After`` header and ``details.retryAfterSeconds``
        (as for 429); ``raw`` answers exactly those bytes instead (malformed
        bodies); ``delay`` seconds pass first. Faults come before authentication.
        """
        if not 100 <= code <= 599:
            raise ValueError(f"not an HTTP status: {code!r}")
        with self._lock:
            self._faults.append(
                _Fault(
                    code=code,
                    reason=reason
                    or _DEFAULT_REASONS.get(code, "InternalError" if code >= 500 else "BadRequest"),
                    message=message or f"injected failure ({code})",
                    times=times,
                    method=method.upper() if method else None,
                    delay=delay,
                    retry_after=retry_after,
                    raw=raw,
                )
            )

    def set_latency(self, seconds: float) -> None:
        """Delay every API answer by ``seconds``."""
        with self._lock:
            self._latency = max(0.0, seconds)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The API requests received so far (token redacted)."""
        with self._lock:
            return list(self._requests)

    def patches(self) -> list[Any]:
        """Bodies of successful PATCH requests, in order."""
        return [r.json for r in self.requests if r.method == "PATCH" and r.status == 200]

    # -- serving -------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str], float]:
        """Answer one request: (status, JSON payload or raw bytes, extra headers, delay)."""
        text = body.decode("utf-8", errors="replace")
        record = RecordedRequest(
            method, raw_path, self._redact(headers), text.replace(self._token, _REDACTED)
        )
        extra = {
            "Audit-Id": str(uuid.uuid4()),
            "X-Kubernetes-Pf-Flowschema-Uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "flowschema")),
            "X-Kubernetes-Pf-Prioritylevel-Uid": str(
                uuid.uuid5(uuid.NAMESPACE_URL, "prioritylevel")
            ),
        }
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self._requests.append(record)
            delay = self._latency
            fault = next((f for f in self._faults if f.method in (None, method)), None)
            try:
                if fault is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    delay += fault.delay
                    raise self._fault_error(fault)
                split = urlsplit(raw_path)
                code, payload = self._serve(method, split.path, split.query, lowered, text)
            except _StatusError as exc:
                code, payload = exc.code, exc.body
                extra |= exc.headers
                if fault is not None and fault.raw is not None:
                    payload = fault.raw
            record.status = code
        log.debug("%s %s -> %s", method, raw_path, code)
        return code, payload, extra, delay

    def _fault_error(self, fault: _Fault) -> _StatusError:
        details: dict[str, Any] | None = None
        if fault.retry_after is not None:
            details = {"retryAfterSeconds": int(fault.retry_after)}
        error = _StatusError(fault.code, fault.reason, fault.message, details)
        if fault.retry_after is not None:
            error.headers["Retry-After"] = str(int(fault.retry_after))
        return error

    def _serve(
        self, method: str, path: str, query: str, headers: dict[str, str], text: str
    ) -> tuple[int, Any]:
        """Route and answer; the caller holds the lock."""
        if not self._authorized(headers.get("authorization", "")):
            raise _StatusError(401, "Unauthorized", "Unauthorized")
        listing = _LIST_ROUTE.match(path)
        if listing is not None:
            if method != "GET":
                raise _method_not_allowed()
            namespace = unquote(listing[1]) if listing[1] is not None else None
            return 200, self._list(namespace, query)
        match = _ROUTE.match(path)
        if match is None:
            raise _StatusError(
                404, "NotFound", "the server could not find the requested resource", {}
            )
        namespace, name, sub = unquote(match[1]), unquote(match[2]), match[3]
        scale = sub == "/scale"
        verb = _VERBS.get(method)
        if verb is None or (not scale and method != "GET"):
            raise _method_not_allowed()
        resource = "deployments/scale" if scale else "deployments"
        if scale and verb in self._forbidden:
            raise _StatusError(
                403,
                "Forbidden",
                f'deployments.apps "{name}" is forbidden: User "{self.service_account}" cannot {verb} '
                f'resource "{resource}" in API group "apps" in the namespace "{namespace}"',
                {"name": name, "group": "apps", "kind": "deployments"},
            )
        deployment = self._deployments.get((namespace, name))
        if deployment is None:
            raise _not_found(name)
        self._settle(deployment)
        if method == "GET":
            if scale:
                return 200, deployment.scale_json()
            return 200, deployment.deployment_json(self._clock())
        wanted = self._wanted(method, headers.get("content-type", ""), text, deployment)
        if self._conflicts > 0:
            self._conflicts -= 1
            raise _conflict(name)
        if wanted != deployment.replicas:
            self._write(deployment, wanted)
        return 200, deployment.scale_json()

    def _list(self, namespace: str | None, query: str) -> dict[str, Any]:
        """A ``DeploymentList`` of ``namespace`` (None: every namespace), in etcd's key order."""
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        if params.get("watch") in ("true", "1"):
            raise _StatusError(400, "BadRequest", "watch is not implemented by this emulator")
        wanted = _parse_selector(params.get("labelSelector", ""))
        limit = params.get("limit", "0")
        if not limit.isdigit():
            raise _StatusError(400, "BadRequest", f"invalid limit {limit[:20]!r}")
        after = _decode_continue(params.get("continue", ""))
        now = self._clock()
        keys = [
            key
            for key in sorted(self._deployments)
            if namespace in (None, key[0])
            and (after is None or key > after)
            and all(self._deployments[key].labels.get(k) == v for k, v in wanted.items())
        ]
        page = keys[: int(limit)] if int(limit) else keys
        items = []
        for key in page:
            deployment = self._deployments[key]
            self._settle(deployment)
            item = deployment.deployment_json(now)
            # The API server leaves kind and apiVersion off the items of a list.
            del item["kind"], item["apiVersion"]
            items.append(item)
        metadata: dict[str, Any] = {"resourceVersion": str(self._revision)}
        if len(page) < len(keys):
            token = json.dumps(list(page[-1])).encode()
            metadata["continue"] = base64.urlsafe_b64encode(token).decode()
            metadata["remainingItemCount"] = len(keys) - len(page)
        return {
            "kind": "DeploymentList",
            "apiVersion": "apps/v1",
            "metadata": metadata,
            "items": items,
        }

    def _wanted(self, method: str, content_type: str, text: str, deployment: Deployment) -> int:
        """The replicas a PATCH or PUT body asks for (validated)."""
        media = content_type.split(";", 1)[0].strip().lower()
        if method == "PATCH" and media not in PATCH_TYPES:
            raise _StatusError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(PATCH_TYPES),
            )
        if method == "PATCH" and media == APPLY_PATCH:
            raise _StatusError(
                400, "BadRequest", "server-side apply is not implemented by this emulator"
            )
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _StatusError(400, "BadRequest", f"error decoding patch: {exc}") from None
        current = deployment.scale_json()
        if method == "PATCH" and media == JSON_PATCH:
            result = _json_patch(current, data)
        elif isinstance(data, dict):
            result = _merge(current, data) if method == "PATCH" else data
        else:
            raise _StatusError(400, "BadRequest", "the request body must be a JSON object")
        stated = (
            (data.get("metadata") or {}).get("resourceVersion") if isinstance(data, dict) else None
        )
        if stated not in (None, "") and str(stated) != str(deployment.resource_version):
            raise _conflict(deployment.name)
        replicas = (
            (result.get("spec") or {}).get("replicas", 0) if isinstance(result, dict) else None
        )
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise _StatusError(
                400,
                "BadRequest",
                f"json: cannot unmarshal {type(replicas).__name__} into Go struct field "
                "ScaleSpec.spec.replicas of type int32",
            )
        if replicas < 0:
            raise _invalid(deployment.name, replicas, "must be greater than or equal to 0")
        return replicas

    def _write(self, deployment: Deployment, replicas: int) -> None:
        """A new ``spec.replicas``: a new generation; pods created (booting) or removed."""
        self._settle(deployment)
        now = self._clock()
        self._revision += 1
        deployment.resource_version = self._revision
        deployment.generation += 1
        deployment.replicas = replicas
        # The ReplicaSet controller deletes pods not yet ready before ready ones.
        deployment.pods.sort()
        del deployment.pods[replicas:]
        deployment.pods.extend([now + self.rollout_seconds] * (replicas - len(deployment.pods)))
        self._settle(deployment)

    def _settle(self, deployment: Deployment) -> None:
        """Write the status the controller would have written by now (a new resourceVersion)."""
        now = self._clock()
        replicas = len(deployment.pods)
        ready = deployment.ready(now)
        max_unavailable = replicas * 25 // 100  # "25%" rounds down for maxUnavailable
        available = ready >= replicas - max_unavailable
        if available != deployment.available:
            # It flipped when the last pod needed became ready (or at once, on a write).
            became = max((t for t in deployment.pods if t <= now), default=now)
            deployment.available = available
            deployment.available_since = self._wall(became if available else now)
            self._revision += 1
            deployment.resource_version = self._revision

    def _wall(self, moment: float) -> str:
        return _wall(moment, self._clock_zero, self._wall_zero)

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self._token.encode()
        )

    def _redact(self, headers: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if name.lower() == "authorization":
                out[name] = f"{value.split(' ', 1)[0]} {_REDACTED}" if " " in value else _REDACTED
            else:
                out[name] = value.replace(self._token, _REDACTED)
        return out


def _method_not_allowed() -> _StatusError:
    return _StatusError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        {},
    )


def _decode_continue(token: str) -> tuple[str, str] | None:
    """The (namespace, name) a ``continue`` token resumes after (None: from the start)."""
    if not token:
        return None
    try:
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(namespace), str(name)
    except (ValueError, TypeError):
        raise _StatusError(
            410, "Expired", "The provided continue parameter is too old or malformed"
        ) from None


def _parse_selector(selector: str) -> dict[str, str]:
    """``a=b,c==d`` as a dict; other selector forms are a 400, as the emulator lacks them."""
    wanted: dict[str, str] = {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, sep, value = term.replace("==", "=").partition("=")
        if not sep or "!" in key or not key.strip():
            raise _StatusError(
                400,
                "BadRequest",
                f"unable to parse requirement: the emulator supports key=value terms only: {term[:60]!r}",
            )
        wanted[key.strip()] = value.strip()
    return wanted


def _check_replicas(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"replicas must be a non-negative integer, got {n!r}")


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902, the operations a Scale needs: ``add``, ``replace`` and ``test``."""
    if not isinstance(operations, list):
        raise _StatusError(400, "BadRequest", "json patch must be an array of operations")
    result = copy.deepcopy(document)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise _StatusError(400, "BadRequest", f"invalid json patch operation {op!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = result
        for part in parts[:-1]:
            if not isinstance(parent, dict) or part not in parent:
                raise _StatusError(422, "Invalid", f"doc is missing path: {op['path']}")
            parent = parent[part]
        if not isinstance(parent, dict) or not parts:
            raise _StatusError(422, "Invalid", f"doc is missing path: {op['path']}")
        kind = op.get("op")
        if kind in ("add", "replace"):
            if kind == "replace" and parts[-1] not in parent:
                raise _StatusError(
                    422,
                    "Invalid",
                    f"replace operation does not apply: doc is missing key: {op['path']}",
                )
            parent[parts[-1]] = op.get("value")
        elif kind == "test":
            if parent.get(parts[-1]) != op.get("value"):
                raise _StatusError(
                    422, "Invalid", f"testing value {op['path']} failed: test failed"
                )
        else:
            raise _StatusError(
                400, "BadRequest", f"the emulator does not implement json patch op {kind!r}"
            )
    return result


def main(argv: list[str] | None = None, prog: str = "autoscalebot emulate kubernetes") -> int:
    """Serve until SIGTERM/SIGINT. Prints ``kubernetes emulator listening on URL`` once ready."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a Kubernetes API emulator (Deployment scale subresource) on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--namespace", default="default")
    parser.add_argument(
        "--deployment",
        action="append",
        dest="deployments",
        metavar="NAME[=REPLICAS]",
        help="repeatable; default web=1",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help="accept the bearer token written in this file (default: accept the token 'emulator-token')",
    )
    parser.add_argument(
        "--rollout-seconds", type=float, default=0.0, help="pods take this long to follow a scale"
    )
    parser.add_argument(
        "--forbid", action="append", default=[], metavar="VERB", help="RBAC: deny get/patch/update"
    )
    args = parser.parse_args(argv)
    try:
        token = DEFAULT_TOKEN
        if args.token_file:
            with open(args.token_file) as handle:
                token = handle.read().strip()
        emulator = KubernetesEmulator(
            args.host, args.port, token=token, rollout_seconds=args.rollout_seconds
        )
        for spec in args.deployments or ["web=1"]:
            name, _, count = spec.partition("=")
            emulator.add_deployment(args.namespace, name, replicas=int(count or 1))
        emulator.forbid(*args.forbid)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with stop_on_signals() as stop, emulator:
        print(f"kubernetes emulator listening on {emulator.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
