"""The test registries themselves: the public one (no auth, as nvcr.io serves keyless 2.x images)
lets anyone pull; the private one (htpasswd, as nvcr.io for keyed images) still refuses anonymous pulls."""

from __future__ import annotations

import http.client

import docker.errors
import pytest

from nimctl.simulator.image import HASH_LABEL, recipe_hash
from tests.integration.harness import Registry

pytestmark = pytest.mark.integration


def v2_status(registry: Registry) -> int:
    host, port = registry.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/v2/")
        return conn.getresponse().status
    finally:
        conn.close()


def remove_quietly(client, reference: str) -> None:
    try:
        client.images.remove(reference)
    except docker.errors.ImageNotFound:
        pass


def test_the_public_image_pulls_anonymously(docker_client, public_registry: Registry, public_registry_image: str):
    assert public_registry.public and v2_status(public_registry) == 200
    remove_quietly(docker_client, public_registry_image)  # an earlier test's keyless `up` may have pulled it
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(public_registry_image)
    repository, _, tag = public_registry_image.rpartition(":")
    try:
        image = docker_client.images.pull(repository, tag=tag)  # no auth_config: anonymous
        assert public_registry_image in image.tags
        assert image.labels[HASH_LABEL] == recipe_hash()  # this checkout's simulator
    finally:
        remove_quietly(docker_client, public_registry_image)


def test_the_private_registry_still_refuses_anonymous_pulls(docker_client, registry: Registry, registry_image: str):
    assert not registry.public and v2_status(registry) == 401
    repository, _, tag = registry_image.rpartition(":")
    try:
        with pytest.raises(docker.errors.APIError) as refused:
            docker_client.images.pull(repository, tag=tag)
        text = str(refused.value).lower()
        assert any(word in text for word in ("no basic auth credentials", "unauthorized", "denied")), text
    finally:
        remove_quietly(docker_client, registry_image)


def test_the_registries_are_two_servers_on_loopback(registry: Registry, public_registry: Registry):
    assert registry.address != public_registry.address
    assert registry.address.startswith("127.0.0.1:") and public_registry.address.startswith("127.0.0.1:")
