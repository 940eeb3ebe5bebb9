"""The ssh command lines the engine connection and the tunnel run, and how a refused tunnel is reported.

(tests/integration/test_ssh_engine.py runs both through real sshd's and ssh configurations.)
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nimctl.engine.docker_shims import DIAL_STDIO, ssh_command
from nimctl.engine.tunnel import ssh_tunnel
from nimctl.errors import EngineUnreachable


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://gpu-box", ["--", "gpu-box"]),  # user, port, keys: all from ~/.ssh/config, as `ssh gpu-box`
        ("ssh://me@gpu-box", ["-l", "me", "--", "gpu-box"]),
        ("ssh://me@10.0.0.5:2222", ["-l", "me", "-p", "2222", "--", "10.0.0.5"]),
        ("ssh://[::1]:2200", ["-p", "2200", "--", "::1"]),
    ],
)
def test_the_url_gives_only_what_it_names(url: str, expected: list[str]) -> None:
    command = ssh_command(url)
    assert command[0] == "ssh" and command[-2:] == expected[-2:]
    named = [arg for arg in command[1:] if arg not in ("-o", "-T") and not arg.startswith("ConnectTimeout=")]
    assert named == expected  # no StrictHostKeyChecking, UserKnownHostsFile...: those stay the user's


def test_the_engine_connection_runs_dial_stdio_after_the_host() -> None:
    assert ssh_command("ssh://h", remote=DIAL_STDIO)[-3:] == ["--", "h", DIAL_STDIO]


def test_a_refused_host_key_fails_the_tunnel_with_the_keyscan_hint(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "ssh"  # stands in for OpenSSH refusing an unknown host under strict checking
    fake.write_text("#!/bin/sh\necho 'Host key verification failed.' >&2\nexit 255\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(EngineUnreachable) as caught, ssh_tunnel("ssh://root@gpu-box", "http://127.0.0.1:8000"):
        pass
    assert "Host key verification failed" in caught.value.message and "ssh://root@gpu-box" in caught.value.message
    assert "ssh-keyscan" in caught.value.hint
