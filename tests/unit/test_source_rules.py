"""The rules of code sources, without I/O: what of a URL may be stored or printed, which transports
git may use, what a credentials reference may be, what a secret's content becomes, what git's
environment holds, and which entrypoint paths stay inside a checkout."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pushpool.config import allowed_file_roots
from pushpool.core.credentials import (
    Reference,
    Service,
    Token,
    parse_reference,
    pool_problem,
    token_from_secret,
)
from pushpool.core.sources import GitSource
from pushpool.core.urls import Transport, carries_credentials, strip_credentials, transport_of
from pushpool.core.validation import validated
from pushpool.errors import EntrypointError, SourceError, ValidationError
from pushpool.flows.entrypoints import check_relative
from pushpool.flows.sources.git import git_environment

SECRET = "s3cr3t-value"


# ---------------------------------------------------------------- URLs
@pytest.mark.parametrize(
    ("url", "stripped"),
    [
        ("https://user:s3cr3t-value@github.com/me/r.git", "https://github.com/me/r.git"),
        ("https://s3cr3t-value@github.com/me/r.git", "https://github.com/me/r.git"),
        ("https://gitlab.com/me/r.git?private_token=s3cr3t-value", "https://gitlab.com/me/r.git"),
        ("https://h.com/r.git?ACCESS_TOKEN=s3cr3t-value&ref=main", "https://h.com/r.git?ref=main"),
        ("https://h.com/r?X-Amz-Signature=s3cr3t-value&X-Amz-Credential=k", "https://h.com/r"),
        ("https://h.com/r?sig=s3cr3t-value&Signature=s3cr3t-value", "https://h.com/r"),
        ("https://h.com/r?password=s3cr3t-value&Secret=s3cr3t-value&token=x", "https://h.com/r"),
        ("https://h.com/r#access_token=s3cr3t-value", "https://h.com/r"),
        ("https://u:s3cr3t-value@h.com:8443/r", "https://h.com:8443/r"),
        ("ssh://git:s3cr3t-value@github.com/me/r.git", "ssh://git@github.com/me/r.git"),
        ("ssh://git@github.com/me/r.git", "ssh://git@github.com/me/r.git"),
        ("git@github.com:me/r.git", "git@github.com:me/r.git"),
        ("file:///srv/flows", "file:///srv/flows"),
        ("/srv/flows", "/srv/flows"),
        ("https://github.com/me/r.git", "https://github.com/me/r.git"),
    ],
)
def test_urls_are_stripped_of_userinfo_and_secret_looking_parameters(
    url: str, stripped: str
) -> None:
    assert strip_credentials(url) == stripped
    assert SECRET not in strip_credentials(url)
    assert carries_credentials(url) is (SECRET in url)


def test_a_stored_source_never_holds_credentials_in_its_url() -> None:
    source = GitSource(url=f"https://u:{SECRET}@h.com/r.git?private_token={SECRET}&a=1")
    assert source.url == "https://h.com/r.git?a=1"
    assert SECRET not in source.model_dump_json()
    assert SECRET not in source.describe()


@pytest.mark.parametrize(
    ("source", "transport"),
    [
        ("https://github.com/me/r.git", Transport.REMOTE),
        ("HTTP://127.0.0.1:8080/r.git", Transport.REMOTE),
        ("ssh://git@github.com/me/r.git", Transport.REMOTE),
        ("git@github.com:me/r.git", Transport.REMOTE),
        ("file:///srv/flows", Transport.LOCAL),
        ("/srv/flows", Transport.LOCAL),
        ("flows", Transport.LOCAL),
        (".", Transport.LOCAL),
    ],
)
def test_transports(source: str, transport: Transport) -> None:
    assert transport_of(source) is transport


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("--upload-pack=touch /tmp/x", "option"),
        ("-c", "option"),
        ("", "not a repository"),
        ("ext::sh -c touch% /tmp/x", "'ext' transport"),
        ("fd::17", "'fd' transport"),
        ("ftp://example.com/r.git", "'ftp' scheme"),
        (f"ftp://u:{SECRET}@example.com/r.git", "'ftp' scheme"),
        ("git://example.com/r.git", "'git' scheme"),
    ],
)
def test_refused_sources_are_named_without_their_credentials(source: str, reason: str) -> None:
    with pytest.raises(SourceError, match=reason) as raised:
        transport_of(source)
    assert SECRET not in str(raised.value)


# ---------------------------------------------------------------- credentials references
@pytest.mark.parametrize(
    ("value", "service", "name"),
    [
        ("pushpool/pool-a/github-token", Service.SECRETS_MANAGER, "pushpool/pool-a/github-token"),
        (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pushpool/pool-a/gh-AbCdEf",
            Service.SECRETS_MANAGER,
            "pushpool/pool-a/gh-AbCdEf",
        ),
        ("ssm:/pushpool/pool-a/github-token", Service.SSM, "pushpool/pool-a/github-token"),
        (
            "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/pushpool/pool-a/gh",
            Service.SSM,
            "pushpool/pool-a/gh",
        ),
    ],
)
def test_references(value: str, service: Service, name: str) -> None:
    reference = parse_reference(value)
    assert (reference.service, reference.name) == (service, name)
    assert reference.id == (value.removeprefix("ssm:") if value.startswith("ssm:") else value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ssm:pushpool/pool-a/token", "ssm:/"),
        ("arn:aws:s3:::bucket/token", "not a secret or parameter reference"),
        ("pushpool/pool a/token", "not a secret or parameter reference"),
        ("", "not a secret or parameter reference"),
    ],
)
def test_a_bad_reference_is_one_line_naming_it_and_the_syntax(value: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as raised:
        parse_reference(value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "token", ["ghp_" + "x1" * 18, "github_pat_11AAAA" + "b" * 40, "glpat-" + "c" * 20]
)
def test_a_token_given_as_a_reference_is_refused_without_repeating_it(token: str) -> None:
    with pytest.raises(ValidationError, match="look like a token") as raised:
        GitSource(url="https://github.com/me/r.git", credentials=token)
    assert token not in str(raised.value)
    assert token[6:] not in str(raised.value)


def test_a_reference_must_be_under_the_pools_prefix() -> None:
    assert pool_problem("pushpool/pool-a/github-token", "pushpool", "pool-a") is None
    assert pool_problem("ssm:/pushpool/pool-a/x/y", "pushpool", "pool-a") is None
    problem = pool_problem("pushpool/pool-ab/github-token", "pushpool", "pool-a")
    assert problem and "'pushpool/pool-a/'" in problem
    other = pool_problem("ssm:/pushpool/pool-b/t", "pushpool", "pool-a")
    assert other and "ssm:/pushpool/pool-a/github-token" in other
    assert pool_problem("a" * 40, "pushpool", "pool-a") is not None
    assert "a" * 40 not in str(pool_problem("a" * 40, "pushpool", "pool-a"))


# ---------------------------------------------------------------- what a secret holds
def test_a_secret_holds_the_token_or_a_json_object_with_it() -> None:
    assert token_from_secret(f" {SECRET}\n", "secret x") == Token(SECRET)
    assert token_from_secret(f'{{"token": "{SECRET}"}}', "x").value == SECRET
    found = token_from_secret(f'{{"token": "{SECRET}", "username": "oauth2"}}', "x")
    assert (found.value, found.username) == (SECRET, "oauth2")
    assert SECRET not in repr(found) and SECRET not in str(found)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f'{{"password": "{SECRET}"}}', "without a string 'token' key"),
        (f'{{"token": "{SECRET}"', "not valid JSON"),
        ("  ", "empty"),
    ],
)
def test_a_secret_without_a_token_is_refused_without_its_content(text: str, reason: str) -> None:
    with pytest.raises(SourceError, match=reason) as raised:
        token_from_secret(text, "Secrets Manager secret 'pushpool/p/t'")
    assert SECRET not in str(raised.value)


# ---------------------------------------------------------------- git's environment
def test_the_token_reaches_git_as_a_header_for_the_origin_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_TRACE", "1")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    env = git_environment("https://github.com/me/r.git", Token(SECRET), allow_file=False)

    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    basic = base64.b64encode(f"x-access-token:{SECRET}".encode()).decode()
    assert env["GIT_CONFIG_VALUE_0"] == f"Authorization: Basic {basic}"
    assert (env["GIT_CONFIG_KEY_1"], env["GIT_CONFIG_VALUE_1"]) == ("credential.helper", "")
    assert env["GIT_CONFIG_COUNT"] == "2" and "GIT_TRACE" not in env
    assert env["GIT_ALLOW_PROTOCOL"] == "https:http:ssh"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert git_environment("/srv", None, allow_file=True)["GIT_ALLOW_PROTOCOL"].endswith(":file")
    assert "GIT_CONFIG_COUNT" not in git_environment("/srv", None, allow_file=True)


def test_allowed_file_roots_are_absolute_paths_and_none_by_default() -> None:
    assert allowed_file_roots({}) == ()
    assert allowed_file_roots({"PUSHPOOL_ALLOWED_FILE_ROOTS": "relative:/srv/flows:"}) == (
        Path("/srv/flows").resolve(),
    )


# ---------------------------------------------------------------- refs, commits, entrypoints
@pytest.mark.parametrize("ref", ["--upload-pack=x", "-b", "a..b", "a b", "x:y", "a~1", "end/"])
def test_a_ref_git_could_read_as_an_option_or_a_range_is_refused(ref: str) -> None:
    with pytest.raises(ValidationError, match="branch or tag"):
        validated(lambda: GitSource(url="https://h.com/r.git", ref=ref))


@pytest.mark.parametrize("ref", ["main", "release/2026.1", "v1.2.3", "feature_x-y"])
def test_branch_and_tag_names_are_accepted(ref: str) -> None:
    assert GitSource(url="https://h.com/r.git", ref=ref).ref == ref


def test_a_commit_is_a_hex_id() -> None:
    with pytest.raises(ValueError, match="hexadecimal"):
        GitSource(url="https://h.com/r.git", commit="--detach")
    assert GitSource(url="https://h.com/r.git", commit="a" * 40).commit == "a" * 40


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("C:\\flows\\x.py", "absolute"),
        ("../x.py", "climbs out"),
        ("flows/../../x.py", "climbs out"),
        ("flows\\..\\..\\x.py", "climbs out"),
    ],
)
def test_entrypoint_paths_are_relative_and_stay_inside(relative: str, reason: str) -> None:
    with pytest.raises(EntrypointError, match=reason):
        check_relative(f"{relative}:f", relative)
    check_relative("flows/x.py:f", "flows/x.py")


def test_a_reference_is_what_it_names() -> None:
    assert Reference(Service.SSM, "/a/b", "a/b").label == "SSM parameter"
