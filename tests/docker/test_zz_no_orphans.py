"""Runs last (file order): no container labelled by this suite survives it."""

import pytest

from cligym.runtime.docker import LABEL

pytestmark = pytest.mark.docker


def test_no_labelled_container_survives_the_suite(runtime):
    left = runtime.client.containers.list(all=True, filters={"label": LABEL})
    assert [c.name for c in left] == []
