#!/usr/bin/env bash
# Install and start what the integration tests drive: a Docker engine that accepts `--gpus all`
# and `--runtime=nvidia` (no GPU needed), the Debian registry and htpasswd, python3.11 for the
# simulator image, a podman service (setup-podman.sh) and openssh-server (the SSH tests start
# their own sshd on a loopback port; the system's sshd is left alone). Reuses an engine that
# already answers. Needs root (as CI runs).
set -euo pipefail

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v docker-registry >/dev/null || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null || need_pkgs+=(apache2-utils)
[ -x /usr/bin/python3.11 ] || need_pkgs+=(python3.11)
command -v curl >/dev/null || need_pkgs+=(curl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup-engine: installing ${need_pkgs[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  echo "setup-engine: reusing the running Docker engine" >&2
else
  # dockerd registers its NVIDIA device driver only when this hook is on its PATH; a stand-in
  # that reads its stdin and succeeds lets the engine accept GPU requests on a GPU-less machine.
  hook_dir=/usr/local/lib/nimctl-test-hook
  mkdir -p "$hook_dir"
  printf '#!/bin/sh\ncat >/dev/null\nexit 0\n' > "$hook_dir/nvidia-container-runtime-hook"
  chmod +x "$hook_dir/nvidia-container-runtime-hook"
  # a dockerd killed with the last session leaves its pid file; a stale one blocks the start
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  echo "setup-engine: starting dockerd (runtime nvidia -> runc, stand-in GPU hook)" >&2
  PATH="$hook_dir:$PATH" nohup dockerd --add-runtime nvidia=/usr/sbin/runc >/var/log/nimctl-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "setup-engine: dockerd did not come up; see /var/log/nimctl-dockerd.log" >&2; tail -20 /var/log/nimctl-dockerd.log >&2; exit 1; }
fi
if ! docker info --format '{{json .Runtimes}}' | grep -q '"nvidia"'; then
  echo "setup-engine: warning: the running engine has no nvidia runtime; GPU-path tests will fail" >&2
fi

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
  echo "setup-engine: installing openssh-server (not started: the tests run their own sshd)" >&2
  apt-get update -q >/dev/null
  # policy-rc.d 101: the package must not start a system sshd on port 22
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server openssh-client >/dev/null
  if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

bash "$(dirname "$0")/setup-podman.sh"
