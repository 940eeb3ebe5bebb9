"""Issue 20 item 1: every rule in nimctl.validation, each with values it takes and values it refuses,
and the refusals from the issue; then how settings, profiles and `smoke --url` apply them (exit 2,
"invalid setting X (from SOURCE): reason"), and hypothesis properties: any text is a value or a
ValueError, and values built from the grammar come back unchanged."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nimctl import validation
from nimctl.errors import ConfigError, ExitCode
from nimctl.settings import load_profile, load_settings

INT64_MAX = 2**63 - 1
SHA256 = "sha256:" + "0123456789abcdef" * 4


def refused(rule, value, *args, **kwargs) -> str:
    """The message `rule` refuses `value` with; it must be one line."""
    with pytest.raises(ValueError) as raised:
        rule(value, *args, **kwargs)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 400, message
    return message


# --- container names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "my-nim", "nimctl-sim", "x_1.2", "A9", "0a", "a" * 128, "a..b", "a--_b"])
def test_container_names_docker_takes(name: str) -> None:
    assert validation.container_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("../x", "must start with an ASCII letter or digit"),
        ("a b", "holds ' '"),
        ("-lead", "must start with an ASCII letter or digit"),
        ("x/y", "holds '/'"),
        ("nimé", "holds 'é'"),
        ("ｎim", "must start with an ASCII letter or digit"),  # a full-width letter is not ASCII
        ("x\ny", "holds '\\n'"),
        ("x\n", "holds '\\n'"),  # `$` would let a trailing newline through
        (".x", "must start with an ASCII letter or digit"),
        ("_x", "must start with an ASCII letter or digit"),
        ("x[/]", "holds '['"),
        ("a", "at least 2 characters"),  # Docker's own rule; Podman would take it
    ],
)
def test_container_names_docker_refuses_are_named_with_the_rule(name: str, rule: str) -> None:
    message = refused(validation.container_name, name)
    assert repr(name) in message and rule in message


def test_an_empty_or_overlong_container_name() -> None:
    assert "cannot be empty" in refused(validation.container_name, "")
    message = refused(validation.container_name, "x" * 300)
    assert "longer than 128 characters" in message and "(300 characters)" in message
    assert "x" * 41 not in message  # the value is cut, not printed whole


def test_the_name_bound_fits_the_file_names_nimctl_makes() -> None:
    # NAME_MAX 255: the lock "<name>.lock" and a failed start's log "<name>-YYYYmmdd-HHMMSS.log"
    longest = "n" * validation.CONTAINER_NAME_MAX
    assert len(f"{longest}-20261203-201500.log") <= 255 and len(f"{longest}.lock") <= 255


# --- image references --------------------------------------------------------------------------

IMAGES_TAKEN = [
    "nvcr.io/nim/mistralai/mistral-small-4-119b-2603:1.7.0-variant",
    "nimctl-sim:latest",
    "ubuntu",
    "localhost:5000/a/b:1",
    "127.0.0.1:5000/nim/x:1.7.0-sim",
    "[::1]:5000/x:1",
    f"registry.example.com:443/nim/x@{SHA256}",
    f"x:tag@{SHA256}",
    "a__b/c--d/e.f:T_1-x.2",
    "Registry.Example.COM/nim/x",  # upper case is allowed in the registry's host name
    "Foo/bar",  # ...and an upper-case first component is a registry, as Docker splits it
    "a.b_c/d",  # not a registry (no host has '_'): a path component, as the grammar reads it
    "x:" + "t" * 128,
    "a/" + "b" * 243,  # docker.io/a/bbb... is 255 characters
]


@pytest.mark.parametrize("image", IMAGES_TAKEN)
def test_image_references_the_grammar_takes(image: str) -> None:
    assert validation.image_reference(image) == image
    assert validation.matches(validation.REFERENCE, image)


@pytest.mark.parametrize(
    ("image", "rule"),
    [
        ("nvcr.io/NIM/x:1", "upper-case letters are not allowed in a repository name ('NIM')"),
        ("UPPER", "upper-case letters are not allowed in a repository name"),
        ("repo:tag:extra", "more than one ':'"),
        ("repo@sha256:abc", "is not algorithm:hex"),
        (f"repo@{SHA256[:-1]}", "sha256 needs 64 lower-case hex digits"),
        (f"repo@{SHA256.upper().replace('SHA', 'sha')}", "sha256 needs 64 lower-case hex digits"),
        ("repo@md5:" + "a" * 32, "unsupported algorithm"),
        (f"repo@{SHA256}@{SHA256}", "more than one '@'"),
        ("::", "more than one ':'"),
        ("-lead", "'-lead' is not a repository path component"),
        ("nvcr.io/-x", "'-x' is not a repository path component"),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        (":t", "has no repository name"),
        ("x:", "empty tag"),
        ("x:-t", "tag '-t' is not a tag"),
        ("x:" + "t" * 129, "longer than 128 characters"),
        ("nvcr.io:x/y", "'nvcr.io:x' is not a registry host[:port]"),
        ("a b", "whitespace"),
        ("nim\n", "whitespace"),
        ("nïm", "non-ASCII"),
        ("0123456789abcdef" * 4, "64-digit hex id"),
    ],
)
def test_image_references_the_grammar_refuses(image: str, rule: str) -> None:
    message = refused(validation.image_reference, image)
    assert rule in message and validation.shown(image) in message


def test_an_empty_or_overlong_image_reference() -> None:
    assert "cannot be empty" in refused(validation.image_reference, "")
    message = refused(validation.image_reference, "nvcr.io/" + "a" * 300 + ":1")
    assert "longer than 255 characters" in message
    # a familiar name counts as Docker spells it in full
    assert "in full: 'docker.io/library/" in refused(validation.image_reference, "b" * 250)


def test_image_repository_and_tag_alone() -> None:
    assert validation.image_repository("nvcr.io/nim/x") == "nvcr.io/nim/x"
    assert validation.image_tag("1.7.0-variant") == "1.7.0-variant"
    assert "image_tag" in refused(validation.image_repository, "nvcr.io/nim/x:1")
    assert "image_tag" in refused(validation.image_repository, f"nvcr.io/nim/x@{SHA256}")
    assert "cannot be empty" in refused(validation.image_tag, "")
    assert "is not a tag" in refused(validation.image_tag, ".hidden")


# --- users -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("0", "0"), ("1000", "1000"), ("1000:1000", "1000:1000"), ("4294967294:4294967294", "4294967294:4294967294")],
)
def test_users_in_range(text: str, normalised: str) -> None:
    assert validation.user(text) == normalised


def test_user_ids_lose_leading_zeros() -> None:
    assert validation.user("0007:010") == "7:10"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("4294967295", "uid '4294967295' is out of range (0..4294967294)"),
        ("1:4294967295", "gid '4294967295' is out of range"),
        ("99999999999999999999", "out of range"),
        ("-1", "is not uid or uid:gid"),
        ("nobody", "is not uid or uid:gid"),
        ("1:2:3", "is not uid or uid:gid"),
        ("１０", "is not uid or uid:gid"),  # full-width digits are digits to str.isdigit, not to the engine
        ("10\n", "is not uid or uid:gid"),
        ("", "is not uid or uid:gid"),
    ],
)
def test_users_out_of_range_or_malformed(text: str, rule: str) -> None:
    message = refused(validation.user, text)
    assert rule in message and repr(text) in message


# --- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("32GB", 32 * 1024**3),
        ("16g", 16 * 1024**3),
        ("512MiB", 512 * 1024**2),
        ("1073741824", 1024**3),
        ("1.5k", 1536),
        (str(INT64_MAX), INT64_MAX),  # exact: a float would round it past the bound
        ("8388607.99999t", 8388607 * 1024**4 + 99999 * 1024**4 // 100000),
        (7, 7),
    ],
)
def test_sizes_within_bounds(text: str | int, count: int) -> None:
    assert validation.size(text) == count


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (str(INT64_MAX + 1), "is larger than 9223372036854775807 bytes (int64)"),
        ("8388608t", "is larger than"),  # 2**63 bytes
        ("9" * 5000, "is larger than"),  # no 5000-digit int parsed
        ("0", "must be larger than 0"),
        ("0.1", "must be larger than 0"),
        (0, "must be larger than 0"),
        (-5, "must be larger than 0"),
        ("-5g", "is not a size"),
        ("1e9", "is not a size"),
        ("32 GB GB", "is not a size"),
        ("３２g", "is not a size"),
    ],
)
def test_sizes_out_of_bounds_or_malformed(text: str | int, rule: str) -> None:
    assert rule in refused(validation.size, text)


def test_booleans_are_not_sizes() -> None:
    assert "is not a size" in refused(validation.size, True)


def test_shm_larger_than_the_hosts_memory_is_a_warning() -> None:
    gib = 1024**3
    warning = validation.shm_warning(64 * gib, memory=16 * gib)
    assert warning is not None and "64.0 GiB" in warning and "16.0 GiB" in warning and "--shm-size" in warning
    assert validation.shm_warning(16 * gib, memory=16 * gib) is None


def test_host_memory_is_this_machines() -> None:
    memory = validation.host_memory()
    assert memory is not None and memory > 0
    assert validation.shm_warning(INT64_MAX) is not None  # nothing has 8 EiB of memory
    assert validation.shm_warning(1) is None


# --- paths -------------------------------------------------------------------------------------


def test_a_relative_path_is_resolved_against_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert validation.absolute_path("cache/nim") == tmp_path / "cache/nim"
    assert validation.absolute_path("x", cwd=Path("/srv")) == Path("/srv/x")
    assert validation.directory("cache") == tmp_path / "cache"


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert validation.absolute_path("~/.cache/nim") == tmp_path / ".cache/nim"
    assert "cannot expand '~'" in refused(validation.absolute_path, "~no-such-user-nimctl/x")


def test_empty_and_nul_paths() -> None:
    assert "cannot be empty" in refused(validation.absolute_path, "")
    assert "NUL" in refused(validation.directory, "/tmp/a\0b")


def test_existing_directory_and_one_that_can_be_created(tmp_path: Path) -> None:
    assert validation.directory(tmp_path) == tmp_path
    assert validation.directory(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_symlinks_are_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert validation.directory(tmp_path / "link") == tmp_path / "real"
    assert validation.directory(tmp_path / "link" / "sub") == tmp_path / "real" / "sub"


def test_a_dangling_symlink_names_the_link_and_its_target(tmp_path: Path) -> None:
    (tmp_path / "cache").symlink_to(tmp_path / "gone")
    message = refused(validation.directory, tmp_path / "cache")
    assert f"the symlink {str(tmp_path / 'cache')!r} points to {str(tmp_path / 'gone')!r}" in message
    assert "does not exist" in message
    # a dangling link above the directory asked for
    message = refused(validation.directory, tmp_path / "cache" / "nim")
    assert f"the symlink {str(tmp_path / 'cache')!r}" in message


def test_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "a symlink loop" in refused(validation.directory, tmp_path / "a")


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "is a file, not a directory" in refused(validation.directory, tmp_path / "file")
    assert f"{str(tmp_path / 'file')!r} is a file" in refused(validation.directory, tmp_path / "file" / "sub")
    (tmp_path / "to-file").symlink_to(tmp_path / "file")
    assert "through symlinks" in refused(validation.directory, tmp_path / "to-file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes any directory: mode bits cannot refuse it")
def test_a_parent_you_cannot_write(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "is not writable by you" in refused(validation.directory, locked / "cache")
    finally:
        locked.chmod(0o700)


def test_a_path_too_long_for_the_system(tmp_path: Path) -> None:
    assert "cannot be used" in refused(validation.directory, tmp_path / ("x" * 300))


# --- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "https://nim.example.com", "http://[::1]:8000/", "HTTP://host:1/v1", "http://h:65535"],
)
def test_http_urls(url: str) -> None:
    assert validation.http_url(url) == url


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("not a url", "is not an http:// or https:// URL"),
        ("127.0.0.1:8000", "is not an http:// or https:// URL"),
        ("ftp://host", "is not an http:// or https:// URL"),
        ("http:host", "is not an http:// or https:// URL"),
        ("http://", "has no host"),
        ("http://:8000", "has no host"),
        ("http://host:0", "invalid port"),
        ("http://host:65536", "invalid port"),
        ("http://host:80x", "invalid port"),
        ("http://host:", "invalid port"),
        ("http://[::1", "malformed"),
        ("http://exa mple", "whitespace"),
        ("http://host/\x00", "control character"),
    ],
)
def test_malformed_urls(url: str, rule: str) -> None:
    message = refused(validation.http_url, url)
    assert rule in message and repr(url) in message


# --- profile files -----------------------------------------------------------------------------


def test_a_profile_within_the_bound_is_read(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(b"x" * 100)
    assert validation.read_profile(path, limit=100) == b"x" * 100
    path.write_bytes(b"x" * 101)
    assert "more than the 100" in refused(validation.read_profile, path, limit=100)


def test_a_directory_is_a_directory_not_missing(tmp_path: Path) -> None:
    assert "is a directory, not a file" in refused(validation.read_profile, tmp_path)


def test_a_huge_profile_is_refused_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.toml"
    with open(big, "wb") as handle:
        handle.truncate(200 * 1024**2)  # sparse: 200 MB that take no disk
    asked: list[int] = []
    real_read = os.read

    def counting_read(fd: int, count: int) -> bytes:
        asked.append(count)
        return real_read(fd, count)

    monkeypatch.setattr(os, "read", counting_read)
    assert "209715200 bytes: more than the 1048576" in refused(validation.read_profile, big)
    assert asked == []  # refused from its size, nothing read


def test_reading_stops_one_byte_past_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(b"y" * 50)
    asked: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, count: asked.append(count) or real_read(fd, count))
    assert validation.read_profile(path, limit=1000) == b"y" * 50
    assert asked[0] == 1001 and all(count <= 1001 for count in asked)


def test_a_fifo_or_a_device_is_not_a_profile(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert "is not a regular file" in refused(validation.read_profile, fifo)  # and it did not block
    assert "is not a regular file" in refused(validation.read_profile, Path("/dev/zero"))


def test_load_profile_says_directory_or_not_found(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ConfigError) as raised:
        load_profile(str(tmp_path / "dir.toml"))
    assert "is a directory" in raised.value.message and "not found" not in raised.value.message
    assert raised.value.exit_code == ExitCode.USAGE and raised.value.hint
    with pytest.raises(ConfigError) as raised:
        load_profile(str(tmp_path / "missing.toml"))
    assert "not found" in raised.value.message


def test_load_profile_refuses_a_huge_file_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with open(big, "wb") as handle:
        handle.truncate(200 * 1024**2)
    with pytest.raises(ConfigError) as raised:
        load_profile(str(big))
    assert "more than the 1048576 a profile may have" in raised.value.message


# --- the rules applied where values enter the settings -----------------------------------------


def config_error(flags: dict | None = None, profile: str = "sim", environ: dict | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load_settings(flags or {}, profile=profile, environ=environ or {})
    assert raised.value.exit_code == ExitCode.USAGE and raised.value.hint
    return raised.value


@pytest.mark.parametrize(
    ("flags", "start"),
    [
        ({"container_name": "../x"}, "invalid setting container_name (from flag): container name '../x'"),
        ({"container_name": ""}, "invalid setting container_name (from flag): a container name cannot be empty"),
        ({"image": ""}, "invalid setting image (from flag): an image reference cannot be empty"),
        ({"image": "Upper/Case:1"}, "invalid setting image (from flag): image 'Upper/Case:1': upper-case"),
        ({"image_repository": "nvcr.io/NIM/x"}, "invalid setting image_repository (from flag): image"),
        ({"image_tag": "-x"}, "invalid setting image_tag (from flag): image tag '-x'"),
        ({"user": "4294967295"}, "invalid setting user (from flag): user '4294967295'"),
        ({"shm_size": "8388608t"}, "invalid setting shm_size (from flag): size '8388608t' is larger"),
    ],
)
def test_bad_flags_are_config_errors_naming_setting_source_and_value(flags: dict, start: str) -> None:
    assert config_error(flags).message.startswith(start)


def test_bad_values_from_the_environment_and_a_profile_name_their_source(tmp_path: Path) -> None:
    error = config_error(environ={"CONTAINER_NAME": "a b"})
    assert error.message.startswith("invalid setting container_name (from env CONTAINER_NAME): container name 'a b'")
    profile = tmp_path / "bad.toml"
    profile.write_text('image = "repo:tag:extra"\n')
    error = config_error(profile=str(profile))
    assert error.message.startswith("invalid setting image (from profile bad.toml): image 'repo:tag:extra'")


@pytest.mark.parametrize("variable", ["LOCAL_NIM_CACHE", "NIMCTL_LOG_DIR"])
def test_an_empty_directory_variable_is_not_the_current_directory(variable: str) -> None:
    error = config_error(environ={variable: ""})
    assert f"(from env {variable}): a path cannot be empty" in error.message


def test_user_is_normalised_and_paths_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load_settings({"user": "0042:07", "cache_dir": "models", "log_dir": "logs"}, profile="sim", environ={})
    assert loaded.settings.user == "42:7" and loaded.settings.run_as == "42:7"
    assert (loaded.settings.cache_dir, loaded.settings.log_dir) == (tmp_path / "models", tmp_path / "logs")


def test_host_directories_are_checked_and_symlinks_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    settings_ = load_settings({"cache_dir": str(tmp_path / "link")}, profile="sim", environ={}).settings
    assert settings_.cache_dir == tmp_path / "real"

    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    error = config_error({"cache_dir": str(tmp_path / "dangling")})
    assert error.message.startswith("invalid setting cache_dir (from flag): path ")
    assert f"points to {str(tmp_path / 'gone')!r}" in error.message

    (tmp_path / "file").write_text("x")
    error = config_error(environ={"NIMCTL_LOG_DIR": str(tmp_path / "file")})
    assert error.message.startswith("invalid setting log_dir (from env NIMCTL_LOG_DIR): path ")
    assert "is a file" in error.message


@pytest.mark.parametrize(
    ("flags", "environ"),
    [
        ({"engine_url": "ssh://nim@gpu-box"}, {}),
        ({}, {"DOCKER_HOST": "tcp://10.0.0.5:2376"}),
        ({}, {"DOCKER_CONTEXT": "gpu-box"}),
    ],
)
def test_a_remote_engines_cache_dir_is_not_checked_here(tmp_path: Path, flags: dict, environ: dict) -> None:
    # the directory is on the engine's host: a path that is a file here may well be a directory there
    (tmp_path / "file").write_text("x")
    loaded = load_settings({**flags, "cache_dir": str(tmp_path / "file")}, profile="sim", environ=environ)
    assert loaded.settings.cache_dir == tmp_path / "file"


def test_a_local_socket_url_checks_the_cache_dir(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    error = config_error({"engine_url": "unix:///var/run/docker.sock", "cache_dir": str(tmp_path / "file")})
    assert "is a file" in error.message


def test_the_current_docker_context_counts(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text('{"currentContext": "remote-box"}')
    environ = {"DOCKER_CONFIG": str(tmp_path / "docker")}
    assert load_settings({"cache_dir": str(tmp_path / "file")}, profile="sim", environ=environ)
    (tmp_path / "docker" / "config.json").write_text('{"currentContext": "default"}')
    assert "is a file" in config_error({"cache_dir": str(tmp_path / "file")}, environ=environ).message


def test_smoke_url_is_checked_before_any_request() -> None:
    from nimctl.api import smoke

    with pytest.raises(ConfigError) as raised:
        smoke("not a url")
    assert raised.value.message == (
        "invalid --url: URL 'not a url' is not an http:// or https:// URL (e.g. http://127.0.0.1:8000)"
    )


def test_smoke_url_on_the_command_line_is_exit_2() -> None:
    from nimctl.cli.app import app

    result = CliRunner().invoke(app, ["smoke", "--url", "http://127.0.0.1:0"])
    assert result.exit_code == 2, result.output
    assert "invalid --url: URL 'http://127.0.0.1:0' has an invalid port" in result.output


# --- properties ----------------------------------------------------------------------------------

TEXT_RULES = [
    validation.container_name,
    validation.image_reference,
    validation.image_repository,
    validation.image_tag,
    validation.image_digest,
    validation.user,
    validation.size,
    validation.http_url,
    validation.absolute_path,
    validation.directory,  # only stats: nothing is created
]


@pytest.mark.parametrize("rule", TEXT_RULES, ids=lambda rule: rule.__name__)
@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_is_a_value_or_a_value_error(rule, text: str) -> None:
    try:
        rule(text)
    except ValueError as exc:
        message = str(exc)
        assert message and "\n" not in message


@pytest.mark.parametrize("rule", TEXT_RULES, ids=lambda rule: rule.__name__)
@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("aZ09:/@._-[]~ \n\x00é+"), max_size=120))
def test_text_near_the_grammars_is_a_value_or_a_value_error(rule, text: str) -> None:
    try:
        rule(text)
    except ValueError:
        pass


NAMES = st.from_regex(re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}\Z", re.ASCII), fullmatch=True)


@given(NAMES)
def test_every_name_dockers_rule_allows_comes_back_unchanged(name: str) -> None:
    assert validation.container_name(name) == name


PATH_COMPONENTS = st.from_regex(re.compile(validation._PATH_COMPONENT + r"\Z", re.ASCII), fullmatch=True)
DOMAINS = st.sampled_from(["nvcr.io", "localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:443", "Reg.Example.com"])
TAGS = st.from_regex(re.compile(r"[\w][\w.-]{0,127}\Z", re.ASCII), fullmatch=True)
DIGESTS = st.sampled_from(sorted(validation.DIGEST_HEX_LENGTHS)).flatmap(
    lambda algorithm: st.text("0123456789abcdef", min_size=1, max_size=1).map(
        lambda digit, algorithm=algorithm: f"{algorithm}:{digit * validation.DIGEST_HEX_LENGTHS[algorithm]}"
    )
)


@st.composite
def references(draw) -> str:
    domain = draw(st.none() | DOMAINS)
    path = "/".join(draw(st.lists(PATH_COMPONENTS, min_size=1, max_size=4)))
    name = f"{domain}/{path}" if domain else path
    full = name if domain else "docker.io/" + ("" if "/" in path else "library/") + path
    if len(full) > 255 or re.fullmatch(r"[a-f0-9]{64}", name):
        name = "nvcr.io/nim/x"
    tag, digest = draw(st.none() | TAGS), draw(st.none() | DIGESTS)
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(references())
def test_every_reference_the_grammar_builds_comes_back_unchanged(reference: str) -> None:
    assert validation.image_reference(reference) == reference


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(re.compile(validation.REFERENCE, re.ASCII), fullmatch=True))
def test_what_the_rule_takes_is_what_the_grammar_matches(text: str) -> None:
    # every reference the rule takes matches the grammar (by construction: the converse is limited
    # only by lengths, registered digest algorithms and 64-hex ids)
    try:
        assert validation.image_reference(text) == text
    except ValueError as exc:
        message = str(exc)
        assert any(
            reason in message for reason in ("longer than 255", "unsupported algorithm", "needs", "64-digit hex")
        ), message


@given(st.integers(0, validation.ID_MAX), st.none() | st.integers(0, validation.ID_MAX))
def test_every_uid_gid_in_range_is_taken(uid: int, gid: int | None) -> None:
    text = f"{uid}" if gid is None else f"{uid}:{gid}"
    assert validation.user(text) == text


@given(st.integers(1, INT64_MAX))
def test_every_byte_count_in_bounds_is_taken_exactly(count: int) -> None:
    assert validation.size(str(count)) == count


# --- the shm warning, printed by `up` -----------------------------------------------------------


@pytest.mark.parametrize("remote", [False, True])
def test_up_warns_when_shm_exceeds_this_hosts_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ready_nim, remote: bool
) -> None:
    import contextlib
    import io

    from rich.console import Console

    from nimctl import deploy
    from nimctl.engine.kind import EngineKind
    from tests.unit.test_deploy_policy import FakeEngine, container, sim_settings, spec_labels

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    port = int(ready_nim.url.rsplit(":", 1)[1])
    said = {}
    for shm in ("2GB", str(INT64_MAX)):
        loaded = sim_settings(tmp_path, port=port, timeout=5, shm_size=shm)
        engine = FakeEngine(container("policy-test", spec_labels(loaded), state="running"))
        if remote:  # its host's memory is not this machine's: no warning
            engine.kind = EngineKind("docker", "fake", "ssh://root@gpu-box")
            engine.reach = lambda url: contextlib.nullcontext(ready_nim.url)
        report = deploy.Reporter(Console(file=io.StringIO(), width=300))
        assert deploy.up(loaded, deploy.UpOptions(smoke="none"), report, connect=lambda engine=engine: engine).ready
        said[shm] = report.console.file.getvalue()
    assert "warning: shm_size" not in said["2GB"]
    assert ("warning: shm_size 8589934592.0 GiB is more than this host's memory" in said[str(INT64_MAX)]) != remote
