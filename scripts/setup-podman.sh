#!/usr/bin/env bash
# Podman for the integration tests, beside Docker: Debian's podman serving its Docker-compatible
# API on unix:///run/podman/podman.sock (reuses a service that answers). Needs root (as CI runs).
#  - containers.conf lowers podman's default ulimits, which this kind of sandbox cannot raise;
#  - a CDI spec for nvidia.com/gpu that only sets NVIDIA_VISIBLE_DEVICES stands in for the one
#    `nvidia-ctk cdi generate` writes on a GPU host (written only when no real one exists).
set -euo pipefail

socket=/run/podman/podman.sock
conf=/etc/containers/nimctl-containers.conf
cdi_spec=/etc/cdi/nimctl-test-gpu.yaml

if ! command -v podman >/dev/null; then
  echo "setup-podman: installing podman" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman >/dev/null
fi

mkdir -p /etc/containers /etc/cdi /run/podman
cat > "$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
CONF

if ! grep -rqs --exclude="$(basename "$cdi_spec")" 'nvidia.com/gpu' /etc/cdi /var/run/cdi; then
  cat > "$cdi_spec" <<'CDI'
cdiVersion: "0.5.0"
kind: nvidia.com/gpu
devices:
  - name: "0"
    containerEdits:
      env: ["NVIDIA_VISIBLE_DEVICES=0"]
  - name: "1"
    containerEdits:
      env: ["NVIDIA_VISIBLE_DEVICES=1"]
  - name: all
    containerEdits:
      env: ["NVIDIA_VISIBLE_DEVICES=all"]
CDI
fi

answers() { curl -fsS --max-time 3 --unix-socket "$socket" http://podman/_ping >/dev/null 2>&1; }
if answers; then
  echo "setup-podman: reusing the podman service on $socket" >&2
else
  echo "setup-podman: starting podman system service on $socket" >&2
  rm -f "$socket"
  CONTAINERS_CONF="$conf" nohup podman system service --time=0 "unix://$socket" >/var/log/nimctl-podman.log 2>&1 &
  for _ in $(seq 1 40); do answers && break; sleep 0.5; done
  answers || { echo "setup-podman: the service did not answer; see /var/log/nimctl-podman.log" >&2; tail -20 /var/log/nimctl-podman.log >&2; exit 1; }
fi
