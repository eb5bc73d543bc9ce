"""Fuzzing the settings loaders: any input gives Settings or one ConfigError, nothing else."""

from __future__ import annotations

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscalebot.config import SPEC, ConfigError, load_settings

KEYS = {"HEROKU_API_KEY": "k", "HEROKU_APP_NAME": "a"}
names = st.sampled_from([s.name.lower() for s in SPEC] + ["max_dynoz", "x"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)


def load(path):
    try:
        return load_settings(env=KEYS, config_path=path)
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(tmp_path, data):
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    load(path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(names, values, max_size=6))
def test_arbitrary_well_formed_toml(tmp_path, table):
    table = {k: v for k, v in table.items() if v is not None}

    def strip_none(v):
        if isinstance(v, dict):
            return {k: strip_none(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [strip_none(x) for x in v if x is not None]
        return v

    table = strip_none(table)
    path = tmp_path / "fuzz.toml"
    try:
        path.write_text(tomli_w.dumps(table))
    except (TypeError, ValueError):
        return  # not representable in TOML (e.g. nested mixed arrays)
    load(path)
