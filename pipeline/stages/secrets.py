"""``kind: secrets``: API keys, tokens, private keys and passwords in code, configs and logs.

For coding agents these are the most common sensitive data of all. Provider formats come from
detect-secrets' plugins where it has them (AWS, GitHub, GitLab, Slack, Stripe, SendGrid, PyPI,
OpenAI, JWT, Azure, private-key headers, passwords in URLs, its password keywords and its
Shannon entropy); detect-secrets scans line by line and returns strings, so the offsets, the
word boundaries and the cut to the secret alone (``postgres://admin:SECRET0@db:5432/prod``) are
ours. Every span is ``validated``: a secret format is surer than a model's guess, so no longer
unvalidated span swallows it (DESIGN invariant 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import DENYLIST as PASSWORD_KEYWORDS
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector

from pipeline.config import check_keys, get_number, get_str
from pipeline.spans import Span
from pipeline.stages.base import Stage

# A token's characters: a match is extended over them, so a key longer than the plugin's
# fixed length is masked whole, and one glued to a longer word is no match at all.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-]*")
_LEFT_EDGE = re.compile(r"[A-Za-z0-9_\-]")


def _plugin_patterns() -> list[re.Pattern[str]]:
    """detect-secrets' provider formats whose whole match is the secret."""
    patterns: list[re.Pattern[str]] = [AWSKeyDetector.denylist[0]]
    for plugin in (GitHubTokenDetector, GitLabTokenDetector, SlackDetector, StripeDetector,
                   SendGridDetector, PypiTokenDetector, OpenAIDetector):
        patterns.extend(plugin.denylist)
    return patterns


# Formats detect-secrets lacks (or knows only an older shape of), from the providers' docs.
_OWN_FORMATS = [re.compile(p) for p in (
    r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{32,}",           # Anthropic
    r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}",            # OpenAI project/service keys
    r"github_pat_[A-Za-z0-9_]{22,}",                              # GitHub fine-grained PAT
    r"AIza[0-9A-Za-z_\-]{35}",                                    # Google API key
    r"npm_[A-Za-z0-9]{36}",                                       # npm access token
    r"hf_[A-Za-z0-9]{30,}",                                       # Hugging Face
    r"(?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{24,}",                  # Stripe, any length
    r"whsec_[A-Za-z0-9+/=]{24,}",                                 # Stripe webhook secret
    r"lin_(?:api|oauth)_[A-Za-z0-9]{32,}",                        # Linear
    r"xox[abpors]-[A-Za-z0-9\-]{10,}",                            # Slack, any shape
    r"dapi[0-9a-f]{32}",                                          # Databricks
    r"glpat-[A-Za-z0-9_\-]{20,}",                                 # GitLab
)]
_JWT = JwtTokenDetector.denylist[0]

# PEM / OpenSSH private key blocks, BEGIN/END lines included; in JSON the escaped form
# ("-----BEGIN ... KEY-----\nMIIE...\n-----END ... KEY-----") is one line.
_KEY_HEADERS = "|".join(
    re.escape(p.pattern.removeprefix("BEGIN ")) for p in PrivateKeyDetector.denylist
    if p.pattern.startswith("BEGIN "))
_PEM_BLOCK = re.compile(r"-----BEGIN (" + _KEY_HEADERS + r")-----.*?-----END \1-----", re.DOTALL)
_PEM_OPEN = re.compile(r"-----BEGIN (?:" + _KEY_HEADERS + r")-----(?:\\n|\s|[A-Za-z0-9+/=])*")

_AZURE = AzureStorageKeyDetector.denylist[0]  # AccountKey=...: the key after the '='
_AWS_SECRET = AWSKeyDetector.denylist[1]      # aws ... secret ... "40 chars": group 1
# scheme://user:PASSWORD@: detect-secrets' pattern refuses the sub-delimiters (! * $) that
# generated passwords hold, so ours allows everything but what ends the userinfo.
_URL_PASSWORD = re.compile(r"://[^\s:/@'\"]+:([^\s@/'\"]+)@")
_URL_PASSWORD_PLUGIN = BasicAuthDetector.denylist[0]
_URL_EMPTY_USER = re.compile(r"://:([^\s/?#@]+)@")  # redis://:PASSWORD@host
_CURL_USER = re.compile(r"(?:-u|--user|-a|--auth)\s+['\"]?[^\s:'\"]+:([^\s'\"]+)")
_AUTH_HEADER = re.compile(r"\b(?:Bearer|Basic|Token|token)\s+([A-Za-z0-9._~+/\-]{12,}=*)")

# A key that names a secret: detect-secrets' password keywords plus tokens and keys.
_SECRET_WORDS = "|".join(PASSWORD_KEYWORDS) + (
    r"|token|secret_?key|access_?key|signing_?key|master_?key|encryption_?key|license_?key"
    r"|credentials?|salt|passphrase|pass|auth|dsn|_key|(?<=[a-z])Key|^key")
_KEY = re.compile(r"(?:" + _SECRET_WORDS + r")(?:s|_?id)?$", re.IGNORECASE)
_NOT_SECRET_KEY = re.compile(
    r"(?:type|_?ids?|name|path|file|url|uri|endpoint|length|len|size|ttl|expiry|expires?"
    r"(?:_in|_at)?|count|limit|format|header|prefix|field|policy|min|max|hint|enabled|required"
    r"|scope|version|algorithm|alg|mode|user(?:name)?|kind|style|env|region)$",
    re.IGNORECASE)
# key = value, key: value, key => value, "key": "value", key := value; the value quoted or not.
_ASSIGNMENT = re.compile(
    r"(?P<key>[A-Za-z_][\w.\-]*)['\"\]]{0,2}[ \t]*(?::=|=>|==|=|:)[ \t]*"
    r"(?:(?P<q>['\"`])(?P<quoted>[^'\"`\n]{4,}?)(?P=q)|(?P<bare>[^\s'\"`,;)}\]<>]{4,}))")
# Prose: "API key presented: X", "auth token X": a strong token soon after a secret word.
_PROSE = re.compile(r"\b(?:token|key|password|secret|passwd)\b[^\n\w]{0,3}(?:[a-z]+[: ]{1,2})?"
                    r"(?P<value>[A-Za-z0-9+/_\-]{16,}=*)", re.IGNORECASE)
_NON_VALUE = re.compile(
    r"(?:true|false|null|none|nil|yes|no|on|off|required|optional|redacted|\*+|x+|changeme"
    r"|bearer|basic|string|secret|password|token)$", re.IGNORECASE)
# A variable, a call, a URL, a path (a base64 key may start with "/": that is no path).
_CODE_VALUE = re.compile(r"^[$%{<\[]|\$\{|\(|^(?:os|env|process|settings|config|self|this|var)\b"
                         r"|://|^/(?!(?=.*\d)(?=.*[A-Z])(?=.*[a-z])[A-Za-z0-9+/]{19,}={0,2}$)"
                         r"|^\.\.?/|^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?(?:/|$)"
                         r"|^[A-Z][A-Z0-9]+-\d+$|^(?:sha|md)\d*[=:]")
# Keys whose values are digests, fingerprints or ids: high entropy there is no secret.
_DIGEST_KEY = re.compile(r"sha|md5|hash|digest|fingerprint|checksum|etag|signature|nonce"
                         r"|image|_?ids?$|uuid|trace|span|request", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-fA-F]+")
_SPACED_REST = re.compile(r"(?: [A-Za-z0-9]{4})+(?=[ \t]*$)", re.MULTILINE)  # "abcd efgh ijkl"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BASE64 = Base64HighEntropyString()


def entropy(value: str) -> float:
    """detect-secrets' Shannon entropy of ``value`` over the base64 alphabet."""
    return _BASE64.calculate_shannon_entropy(value)


class SecretStage(Stage):
    """Secrets by format, by the key they are assigned to, or by entropy in such a context."""

    kind = "secrets"

    def __init__(self, index: int, name: str = "SECRET", entropy_limit: float = 3.0) -> None:
        super().__init__(index)
        self.name = name
        self.entropy_limit = entropy_limit
        self.formats = [*_plugin_patterns(), *_OWN_FORMATS]

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, {"kind", "name", "entropy_limit"})
        return cls(index, get_str(raw, "name", path, "SECRET"),
                   get_number(raw, "entropy_limit", path, 3.0, minimum=0.0, maximum=6.0))

    def detect(self, text: str) -> list[Span]:
        return [Span(start, end, self.name, self.index, validated=True)
                for start, end in self._find(text)]

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        for match in _PEM_BLOCK.finditer(text):
            yield match.span()
        for match in _PEM_OPEN.finditer(text):  # a block cut off before its END line
            yield match.start(), len(match.group().rstrip()) + match.start()
        for pattern in self.formats:
            for match in pattern.finditer(text):
                span = _whole_token(text, match.start(), match.end())
                if span is not None:
                    yield span
        for match in _JWT.finditer(text):
            span = _whole_token(text, match.start(), match.end(), extra=".=")
            if span is not None and JwtTokenDetector.is_formally_valid(text[span[0]:span[1]]):
                yield span
        for pattern in (_AWS_SECRET, _URL_PASSWORD, _URL_PASSWORD_PLUGIN, _URL_EMPTY_USER,
                        _CURL_USER, _AUTH_HEADER):
            for match in pattern.finditer(text):
                if _plausible(match.group(1), strict=pattern is _AUTH_HEADER):
                    yield match.span(1)
        for match in _AZURE.finditer(text):
            yield match.start() + len("AccountKey="), match.end()
        yield from self._assignments(text)
        for match in _PROSE.finditer(text):
            value = match.group("value")
            hex_token = _HEX.fullmatch(value) and len(value) >= 32 and match.group().lower(
                ).startswith(("token", "secret", "password"))
            if hex_token or _strong(value) and entropy(value) >= self.entropy_limit:
                yield match.span("value")

    def _assignments(self, text: str) -> Iterator[tuple[int, int]]:
        for match in _ASSIGNMENT.finditer(text):
            key = match.group("key").rsplit(".", 1)[-1]
            group = "quoted" if match.group("quoted") is not None else "bare"
            value = match.group(group)
            start, end = match.span(group)
            if group == "bare":  # key=value lines (.env, .properties): to the line end
                rest = _SPACED_REST.match(text, end)  # a spaced app password: abcd efgh ...
                end = rest.end() if rest else end
                value = text[start:end]
                if re.fullmatch(r"[A-Za-z_]+", value):
                    continue  # a variable (dsn = defaultDSN), not a value
            if _KEY.search(key) and not _NOT_SECRET_KEY.search(key):
                if _plausible(value, strict=False):
                    yield start, end
            elif (not _DIGEST_KEY.search(key) and _strong(value) and len(value) >= 20
                  and not _CODE_VALUE.search(value)
                  and entropy(value) >= self.entropy_limit + 1.0):
                # High entropy in assignment context, whatever the key is called.
                yield match.span(group)


def _whole_token(text: str, start: int, end: int, extra: str = "") -> tuple[int, int] | None:
    """Extend a format match to the end of its token; refuse one glued to a word before it."""
    if start > 0 and (_LEFT_EDGE.match(text, start - 1) or text[start - 1] in extra):
        return None
    stop = _TOKEN_CHARS.match(text, end).end()
    while extra and stop < len(text) and text[stop] in extra:
        stop = _TOKEN_CHARS.match(text, stop + 1).end()
    while stop > end and text[stop - 1] in ".-_":
        stop -= 1
    return start, stop


def _plausible(value: str, *, strict: bool) -> bool:
    """A value that can be a password: not a placeholder, a variable, a number or a word."""
    value = value.strip()
    if len(value) < (12 if strict else 6) or _NON_VALUE.fullmatch(value):
        return False
    if _CODE_VALUE.search(value) or value.isdigit() or _UUID.fullmatch(value):
        return False
    if re.fullmatch(r"[a-z]+(?:[_.\-][a-z]+)*", value):  # snake_case, a word: code, not a secret
        return False
    return not strict or _strong(value)


def _strong(value: str) -> bool:
    """Looks generated: letters and digits mixed, not a hex digest (hashes are no secrets)."""
    if _HEX.fullmatch(value) or _UUID.fullmatch(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    return has_digit + has_upper + has_lower >= 3 or (has_digit and len(value) >= 24)
