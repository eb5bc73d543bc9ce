"""Heroku's Platform API schema as a test oracle: validators, and a checker for whole answers.

The schema lives outside the repository (``../shared/heroku/platform-api-schema.json``);
tests that need it skip when it is missing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT4

REPO_ROOT = Path(__file__).parents[2]
SCHEMA_PATH = REPO_ROOT.parent / "shared/heroku/platform-api-schema.json"
SCHEMA_URI = "http://api.heroku.com/schema"

# Heroku's documented error body: an id and a message, sometimes more (url, resource).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["id", "message"],
    "properties": {"id": {"type": "string", "minLength": 1}, "message": {"type": "string"}},
}


def strictify(node: Any) -> Any:
    """Turn the interagent ``strictProperties`` extension into plain JSON Schema.

    Heroku's schema marks objects whose listed properties are always present and
    exhaustive with ``strictProperties: true``; jsonschema ignores the keyword,
    so spell it out as ``required`` + ``additionalProperties: false``.
    """
    if isinstance(node, dict):
        node = {key: strictify(value) for key, value in node.items()}
        if node.get("strictProperties") is True and "properties" in node:
            node["required"] = sorted(node["properties"])
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [strictify(item) for item in node]
    return node


@cache
def load_schema() -> dict[str, Any]:
    """The strictified schema (callers check :data:`SCHEMA_PATH` exists first)."""
    return strictify(json.loads(SCHEMA_PATH.read_text()))


def _validator(root: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    registry = Registry().with_resource(SCHEMA_URI, DRAFT4.create_resource(schema))
    return jsonschema.Draft4Validator(
        root, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def validator_for(definition: str, *, patch: dict[str, Any] | None = None) -> jsonschema.Validator:
    """A Draft 4 validator for ``#/definitions/<definition>``.

    ``patch`` updates that definition's sub-definitions first (e.g. to relax a pattern).
    """
    schema = load_schema()
    if patch:
        schema = copy.deepcopy(schema)
        for key, value in patch.items():
            schema["definitions"][definition]["definitions"][key].update(value)
    return _validator({"$ref": f"{SCHEMA_URI}#/definitions/{definition}"}, schema)


def errors_of(validator: jsonschema.Validator, instance: Any) -> list[str]:
    """Every validation error, one readable line each."""
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message}" for e in found]


@dataclass(frozen=True)
class _Link:
    method: str
    pattern: re.Pattern[str]
    literal: int  # characters outside the {(...)} placeholders: more is more specific
    pointer: str  # JSON pointer of the schema the answer must match


def _links() -> list[_Link]:
    links = []
    for name, definition in load_schema()["definitions"].items():
        for index, link in enumerate(definition.get("links", [])):
            href = link["href"]
            parts = re.split(r"\{\([^)]*\)\}", href)
            pattern = re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")
            if "targetSchema" in link:
                pointer = f"#/definitions/{name}/links/{index}/targetSchema"
            else:
                pointer = f"#/definitions/{name}"  # a link without one answers the resource
            links.append(_Link(link["method"], pattern, sum(map(len, parts)), pointer))
    return links


@dataclass
class ResponseChecker:
    """Checks each answer against the schema link its method and path match.

    2xx bodies must match the link's ``targetSchema`` (``instances`` links
    without one: a list of the resource); errors must be Heroku error bodies;
    ``HEAD`` answers and ``304`` must have no body. Unmatched routes count as
    failures, so nothing passes unchecked.
    """

    checked: list[str] = field(default_factory=list)
    """``"METHOD /path STATUS"`` of each answer checked."""
    failures: list[str] = field(default_factory=list)
    """What was wrong, one line per problem."""

    def __post_init__(self) -> None:
        self._links = _links()

    def check(self, method: str, url: str, status: int, body: bytes) -> None:
        """Check one answer; problems go to :attr:`failures`."""
        path = urlsplit(url).path
        what = f"{method} {path} {status}"
        self.checked.append(what)
        if method == "HEAD" or status == 304:
            if body:
                self.failures.append(f"{what}: a body where none may be")
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self.failures.append(f"{what}: body is not JSON: {body[:80]!r}")
            return
        if status >= 400:
            problems = errors_of(jsonschema.Draft4Validator(ERROR_SCHEMA), payload)
            self.failures.extend(f"{what}: {p}" for p in problems)
            return
        candidates = [
            link for link in self._links if link.method == method and link.pattern.match(path)
        ]
        if not candidates:
            self.failures.append(f"{what}: no schema link for this route")
            return
        link = max(candidates, key=lambda link: link.literal)
        validator = _validator({"$ref": f"{SCHEMA_URI}{link.pointer}"}, load_schema())
        problems = errors_of(validator, payload)
        self.failures.extend(f"{what}: {p}" for p in problems)
