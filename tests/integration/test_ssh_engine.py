"""Docker driven over SSH (DOCKER_HOST=ssh://root@127.0.0.1:PORT, a private sshd of the tests).

The NIM stays published on the engine host's loopback; nimctl reaches it through an SSH tunnel
of its own, so the URL its clients use has another port than the published one.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlparse

from tests.integration.engines import client_defaults, client_env, containers_named, ssh_wrapper


def test_lifecycle_over_ssh_goes_through_a_tunnel(make_ssh_deployment, sim_image: str, docker_client) -> None:
    deployment = make_ssh_deployment(sim_image)
    up = deployment.up("--json")  # readiness wait and the quick smoke suite, both through the tunnel
    assert up.returncode == 0, repr(up)
    summary = json.loads(up.stdout)
    assert summary["ready"] is True and summary["smoke"]["ok"] is True
    assert summary["via"] == "ssh tunnel to 127.0.0.1" and summary["url"] == deployment.url
    assert "via ssh tunnel to 127.0.0.1" in up.stderr  # the printed URL says where it is
    assert urlparse(summary["smoke"]["base_url"]).port != deployment.port  # the tunnel's local port
    bindings = docker_client.api.inspect_container(deployment.name)["HostConfig"]["PortBindings"]
    assert bindings["8000/tcp"][0]["HostIp"] == "127.0.0.1"  # never opened wider for the remote case

    rows = json.loads(deployment.nimctl("status", "--name", deployment.name, "--json", check=True).stdout)
    assert rows[0]["ready"] is True and rows[0]["via"] == "ssh tunnel to 127.0.0.1"
    human = deployment.nimctl("status", "--name", deployment.name, check=True)
    assert "over ssh to 127.0.0.1" in human.stderr

    smoke = deployment.nimctl("smoke", "--name", deployment.name, "--checks", "models", "--json")
    assert smoke.returncode == 0, repr(smoke)
    assert urlparse(json.loads(smoke.stdout)["base_url"]).port not in (None, deployment.port)

    again = deployment.up("--no-smoke", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["action"] == "noop", repr(again)

    down = deployment.nimctl("down", "--name", deployment.name, "--json")
    assert json.loads(down.stdout) == {"removed": [deployment.name]}, repr(down)
    assert containers_named(docker_client, deployment.name) == []


def test_doctor_over_ssh(make_ssh_deployment, sim_image: str, registry) -> None:
    present = make_ssh_deployment(sim_image)
    result = present.nimctl("doctor", "--profile", str(present.profile), "--port", str(present.port), "--json")
    assert result.returncode == 0, repr(result)
    checks = {row["name"]: row for row in json.loads(result.stdout)}
    assert "over ssh to 127.0.0.1" in checks["docker engine"]["detail"]
    assert checks["gpu support"]["status"] == "pass" and "2 × NVIDIA Simulated GPU" in checks["gpu support"]["detail"]
    for name in ("cache dir", "host port", "free disk"):  # on the remote host: not judged from here
        assert checks[name]["status"] == "skip" and "engine's host" in checks[name]["detail"]

    absent = make_ssh_deployment(registry.image(tag=f"never-pulled-{uuid.uuid4().hex[:8]}"))  # nothing to run it in
    result = absent.nimctl("doctor", "--profile", str(absent.profile), "--json")
    gpu = {row["name"]: row for row in json.loads(result.stdout)}["gpu support"]
    assert gpu["status"] == "warn" and gpu["detail"].startswith("cannot verify"), repr(result)


def test_an_unknown_host_key_is_refused(make_ssh_deployment, ssh_engine, sim_image: str, tmp_path) -> None:
    deployment = make_ssh_deployment(sim_image)
    stranger = tmp_path / "stranger-home"  # the same key, but a known_hosts that has never seen this host
    (stranger / ".ssh").mkdir(parents=True)
    (stranger / ".ssh" / "known_hosts").write_text("")
    (stranger / ".ssh" / "config").write_text(client_defaults(stranger, ssh_engine.client_key))
    ssh_wrapper(stranger)
    result = deployment.nimctl("status", env={**deployment.env, **client_env(stranger)})
    assert result.returncode == 3, repr(result)  # engine unreachable, with its error/hint lines
    assert result.stderr.startswith("error:") and "hint:" in result.stderr
    assert "Host key verification failed" in result.stderr and "ssh-keyscan" in result.stderr, repr(result)
