"""Runs last (file order): no container labelled by this suite survives it."""

import pytest

from tests.docker.containers import suite_containers

pytestmark = pytest.mark.docker


def test_no_labelled_container_survives_the_suite(runtime):
    assert suite_containers(runtime) == set()


def test_host_filesystem_is_unchanged(host_fingerprint_at_start):
    from tests.conftest import host_fingerprint

    now = host_fingerprint()
    changed = sorted(
        p
        for p in set(now) | set(host_fingerprint_at_start)
        if now.get(p) != host_fingerprint_at_start.get(p)
    )
    assert changed == []
