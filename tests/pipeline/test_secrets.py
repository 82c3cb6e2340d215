"""``kind: secrets``: provider keys, tokens, private keys and passwords, the secret alone."""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from pipeline import Pipeline, deanonymize

RNG = random.Random(14)
ALNUM = string.ascii_letters + string.digits


def token(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def secrets() -> Pipeline:
    return Pipeline.from_dict({"pipeline": [{"kind": "secrets"}]})


def masked(p: Pipeline, text: str) -> list[str]:
    return [text[s.start : s.end] for s in p.analyze(text)]


# Generated values in each provider's documented shape (never real keys).
PROVIDER_KEYS = {
    "openai": "sk-proj-" + token(20) + "T3BlbkFJ" + token(20),
    "anthropic": "sk-ant-api03-" + token(80, ALNUM + "-_") + "AA",
    "aws_key_id": "AKIA" + token(16, string.ascii_uppercase + string.digits),
    "github": "ghp_" + token(36),
    "github_pat": "github_pat_" + token(22) + "_" + token(59),
    "gitlab": "glpat-" + token(20),
    "slack": "xoxb-" + token(12, string.digits) + "-" + token(13, string.digits) + "-" + token(24),
    "stripe": "sk_live_" + token(24),
    "google": "AIza" + token(35),
    "npm": "npm_" + token(36),
    "pypi": "pypi-AgEIcHlwaS5vcmc" + token(80),
    "sendgrid": "SG." + token(22) + "." + token(43),
}


@pytest.mark.parametrize("kind", sorted(PROVIDER_KEYS))
def test_provider_keys_are_masked_whole_in_code_and_prose(secrets: Pipeline, kind: str) -> None:
    key = PROVIDER_KEYS[kind]
    for text in (f'API_KEY = "{key}"\n', f"use {key} for the job", f"export TOKEN={key}"):
        assert key in masked(secrets, text), (kind, text)


def test_a_key_glued_to_a_longer_word_is_no_match(secrets: Pipeline) -> None:
    assert masked(secrets, "see function xghp_" + token(36) + "x") == []


def test_jwt_is_masked_and_a_dotted_word_is_not(secrets: Pipeline) -> None:
    jwt = ".".join([b64url({"alg": "HS256", "typ": "JWT"}), b64url({"sub": "42"}), token(43)])
    assert masked(secrets, f"Token:\n{jwt}\n") == [jwt]
    assert masked(secrets, "eyJhbGciOi.not-json here") == []


def test_private_key_blocks_are_masked_with_their_begin_and_end_lines(secrets: Pipeline) -> None:
    body = "\n".join(token(64, ALNUM + "+/") for _ in range(4))
    for header in ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"):
        block = f"-----BEGIN {header}-----\n{body}\n-----END {header}-----"
        assert masked(secrets, f"$ cat id\n{block}\n$ ls") == [block]
        escaped = block.replace("\n", "\\n")  # the one-line form inside JSON
        assert masked(secrets, json.dumps({"private_key": block})) == [escaped]


def test_only_the_password_of_a_connection_url_is_replaced() -> None:
    p = Pipeline.from_dict({"pipeline": [{"kind": "secrets"}]})
    text = "postgres://admin:hunter2x@db.internal:5432/prod"
    result = p.anonymize(text)
    assert result.text == "postgres://admin:SECRET0@db.internal:5432/prod"
    assert deanonymize(result.text, result.items) == text
    for url in ("mysql://api:N*kXy!qm$GC@10.0.0.5:3306/app", "redis://:s3cr3tPass@cache:6379/0",
                "mongodb+srv://svc:Sunset110!@cluster0.example.net/db"):
        password = url.split("@")[0].rsplit(":", 1)[1]
        assert masked(p, f'DATABASE_URL="{url}"') == [password]


@pytest.mark.parametrize("line", [
    'db_password = "{v}"', "spring.datasource.password={v}", "PASSWORD: '{v}'",
    '"client_secret": "{v}"', "SMTP_PASSWORD={v}", "secretKey: '{v}',", "password = {v}",
    "login failed (password={v})", "jwt.secret={v}", '  api_key => "{v}"',
])
def test_values_assigned_to_secret_keys_are_masked(secrets: Pipeline, line: str) -> None:
    value = "Cobalt" + token(6) + "7!"
    assert masked(secrets, line.format(v=value)) == [value]


def test_a_spaced_app_password_and_a_key_starting_with_a_slash_are_masked_whole(
        secrets: Pipeline) -> None:
    # A Gmail app password is four groups of four letters; a base64 key may open with "/".
    spaced = " ".join(token(4, "abcdefghijklmnopqrstuvwxyz") for _ in range(4))
    key = "/" + token(42, ALNUM + "+/") + "="
    text = f"spring.mail.password={spaced}\njwt.secret={key}\njwt.expiration-ms=3600000\n"
    assert spaced in masked(secrets, text) and key in masked(secrets, text)
    assert masked(secrets, "log.path=/var/log/app/server.log") == []


def test_authorization_values_are_masked_but_not_the_scheme(secrets: Pipeline) -> None:
    value = token(40)
    assert masked(secrets, f"Authorization: Bearer {value}") == [value]
    basic = base64.b64encode(b"svc-reports:" + token(16).encode()).decode()
    assert masked(secrets, f"> Authorization: Basic {basic}") == [basic]


def test_high_entropy_values_in_assignments_are_masked(secrets: Pipeline) -> None:
    value = token(40, ALNUM + "+/")
    assert masked(secrets, f'cloud_credential_blob = "{value}"') == [value]


@pytest.mark.parametrize("text", [
    'password: "${DB_PASSWORD}"', "password=os.environ['DB_PASSWORD']", 'token_type: "Bearer"',
    '"password_min_length": 12', "secret: true", "dsn = defaultDSN",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    'request_id = "5c41b15d-29ea-4918-9b03-dc4d18e97f19"',
    'etag: "d41d8cd98f00b204e9800998ecf8427e"', "PWD=/srv/app",
    'image: "123.dkr.ecr.eu-west-1.amazonaws.com/app:3"',
    '"key": "DATA-7361"', "SHA256:MgvVkOUtddzdIERFwW6QZyCtHPqicxFLZDHqJrWASs5",
])
def test_placeholders_variables_hashes_and_ids_are_left_alone(secrets: Pipeline, text: str) -> None:
    assert masked(secrets, text) == []


def test_secret_spans_are_validated(secrets: Pipeline) -> None:
    assert all(s.validated for s in secrets.analyze("GITHUB_TOKEN=ghp_" + token(36)))
