"""Pins on the private corners of the installed docker-py the engine layer relies on.

Each test names the nimctl code that would break if docker-py moved the name; none contacts an engine.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import urllib3

from nimctl.engine.docker_shims import SshAdapter, docker, ssh_through_openssh


def test_apiclient_looks_up_sshhttpadapter_by_module_name_for_ssh_urls() -> None:
    # docker_shims.ssh_through_openssh swaps that module-level name while a client is constructed
    init = docker.api.client.APIClient.__init__
    assert "SSHHTTPAdapter" in init.__code__.co_names
    assert "ssh://" in inspect.getsource(init) and "shell_out=use_ssh_client" in inspect.getsource(init)


def test_an_ssh_client_gets_our_adapter_as_custom_adapter_and_the_name_is_put_back() -> None:
    before = getattr(docker.api.client, "SSHHTTPAdapter", None)
    with ssh_through_openssh("ssh://me@gpu-box"):
        # a fixed version: no request is made, so no ssh runs (the adapter starts ssh per connection)
        api = docker.APIClient(base_url="ssh://me@gpu-box", version="1.41", use_ssh_client=True)
    assert isinstance(api._custom_adapter, SshAdapter) and api.base_url == "http+docker://ssh"
    assert api._custom_adapter.ssh_url == "ssh://me@gpu-box"  # not docker-py's "...:22": ~/.ssh/config's Port
    assert getattr(docker.api.client, "SSHHTTPAdapter", None) is before


def test_docker_py_adds_port_22_to_an_ssh_url_which_is_why_the_adapter_gets_the_url_as_given() -> None:
    assert docker.utils.parse_host("ssh://me@gpu-box") == "ssh://me@gpu-box:22"


def test_the_libpod_create_uses_post_json_url_and_result() -> None:
    # client.Engine._create_libpod: podman < 5.4 takes CDI devices only through its own create API
    api = docker.APIClient
    for name in ("_post_json", "_url", "_result"):
        assert callable(getattr(api, name, None)), name
    assert list(inspect.signature(api._post_json).parameters)[:3] == ["self", "url", "data"]
    assert list(inspect.signature(api._result).parameters)[:3] == ["self", "response", "json"]


def test_raw_sockets_of_ssh_responses_are_read_from_the_channel_attribute() -> None:
    # docker_shims.SshSocket.makefile sets `.channel` on the stream it returns, as docker-py's SSHSocket does
    source = inspect.getsource(docker.api.client.APIClient._get_raw_response_socket)
    assert "http+docker://ssh" in source and "._fp.fp.channel" in source


def test_log_streams_keep_their_response_as_underscore_response() -> None:
    # watch._raw_reader reads logs._response.raw._fp.fp (requests -> urllib3 -> http.client) in one go
    response = object()
    stream = docker.types.daemon.CancellableStream(iter(()), response)
    assert stream._response is response


def test_the_base_adapter_and_the_pool_container_exist() -> None:
    assert issubclass(SshAdapter, docker.transport.basehttpadapter.BaseHTTPAdapter)
    assert hasattr(urllib3._collections, "RecentlyUsedContainer")
    assert callable(getattr(urllib3.connectionpool.HTTPConnectionPool, "_get_conn", None))  # SshConnectionPool's


def test_tls_config_takes_what_a_context_or_docker_cert_path_gives() -> None:
    parameters = inspect.signature(docker.tls.TLSConfig).parameters
    assert {"client_cert", "ca_cert", "verify"} <= set(parameters)


def test_importing_the_engine_loads_no_paramiko() -> None:
    code = "import sys, nimctl.engine.client; print('paramiko' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
