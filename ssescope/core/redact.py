"""The one redaction policy: what ssescope never shows, logs, names a file after or sends back.

Every exit applies it: captures (unless ``--no-redact``, which keeps the secrets in the capture
file only), ``check --json``, the text report and exports, the TUI, the proxy's headless lines,
logs, error messages, default capture file names, and the engine's own answers. What is a secret:

* **Header names** in :data:`SECRET_HEADERS`, and every header whose name has a secret word
  (:data:`SECRET_WORDS`: ``key``, ``token``, ``secret``, ``auth``, ``cookie``, ``signature``…)
  as one of its parts: ``Ocp-Apim-Subscription-Key``, ``X-Auth-Token``, ``Set-Cookie``. The
  value becomes ``[redacted]``; an ``Authorization`` scheme (``Bearer``, ``Basic``) is kept.
* **Query keys** by the same rule on the key: ``?key=``, ``sig=``, ``subscription-key=``,
  ``access_token=``, ``X-Amz-Signature=``; the value becomes ``[redacted]``, the rest of the URL
  stays as it was.
* **JSON body keys** by the same rule, at any depth: ``api_key``, ``metadata.token``,
  ``clientSecret``. Only scalar values are replaced: a key whose value is an object or a list
  (a tool's JSON schema property named ``token``) is searched, not blanked.
* **URL userinfo** always: ``http://user:pass@host`` becomes ``http://***@host``.

Names are split into words at ``-``, ``_``, ``.`` and camelCase, so ``x-ratelimit-remaining-tokens``
or ``max_output_tokens`` (``tokens`` is not ``token``) stay readable, and :data:`NOT_SECRET` lists
the few names that contain a secret word but hold no secret (``prompt_cache_key``).
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any
from urllib.parse import unquote_plus, urlsplit

REDACTED = "[redacted]"
USERINFO_MASK = "***"
"""What replaces ``user:pass`` in a URL (brackets there would make the URL unparseable)."""

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-api-key",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-auth-token",
        "x-amz-security-token",
    }
)
"""Named explicitly (the word rule below covers them too): what the servers ssescope meets send."""

SECRET_WORDS = frozenset(
    {
        "key",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "authorization",
        "cookie",
        "signature",
        "sig",
        "credential",
        "credentials",
        "jwt",
    }
)
"""A header name, query key or body key with one of these words as a part is a secret."""
SECRET_SUFFIXES = ("apikey", "token", "secret", "password")
"""…and so is one with a part ending in one of these (``accesstoken``, ``clientsecret``)."""
NOT_SECRET = frozenset({"prompt-cache-key", "idempotency-key"})
"""Names with a secret word that hold no secret (normalized: lower case, words joined by ``-``)."""

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@]*)@")
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*[^\s'\"<>`.,:;!?)]")
"""A URL in free text, without the punctuation that ends a sentence or precedes a message."""


def _words(name: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub(r"\1-\2", name).lower()) if w]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a header name, query key or body key names a secret (see the module's policy).
    Cached: a request body repeats the same few keys thousands of times."""
    words = _words(name)
    normalized = "-".join(words)
    if normalized in NOT_SECRET:
        return False
    if normalized in SECRET_HEADERS:
        return True
    return any(w in SECRET_WORDS or w.endswith(SECRET_SUFFIXES) for w in words)


# -- headers ----------------------------------------------------------------------------------------


def redact_value(name: str, value: str) -> str:
    """A header's value as ssescope shows it (``Bearer [redacted]`` keeps the scheme)."""
    if not is_secret_name(name):
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token", "digest"):
        return f"{scheme} {REDACTED}"
    return REDACTED


def redact_headers(headers: dict[str, str] | list[tuple[str, str]] | None) -> dict[str, str]:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    return {k: redact_value(k, v) for k, v in items}


# -- URLs -------------------------------------------------------------------------------------------


def _redact_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        key, sep, _value = pair.partition("=")
        pairs.append(f"{key}={REDACTED}" if sep and is_secret_name(unquote_plus(key)) else pair)
    return "&".join(pairs)


def redact_url(url: str) -> str:
    """A URL (or a request target such as ``/v1/responses?sig=…``) with its userinfo masked and
    its secret query values redacted; everything else is left byte for byte as it was."""
    url = _USERINFO.sub(rf"\1{USERINFO_MASK}@", url, count=1)
    head, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = rest.partition("#")
    return f"{head}?{_redact_query(query)}{hash_sep}{fragment}"


def redact_text(text: str) -> str:
    """Free text (an error message, a log line) with every URL in it redacted."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def url_host(url: str) -> str:
    """``host`` or ``host:port`` of a URL, never its userinfo (what a file name may carry)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


# -- bodies -----------------------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    """A secret scalar's replacement (an empty string or null stays: it says the key was empty)."""
    if value is None or value == "" or isinstance(value, bool):
        return value
    if isinstance(value, str | int | float):
        return REDACTED
    return value


def _has_secret_key(doc: Any) -> bool:
    """Whether any object in the document has a secret key with a scalar value (most bodies have
    none, and are then passed on as they are, uncopied)."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict | list):
                    stack.append(value)
                elif isinstance(key, str) and is_secret_name(key) and _blank(value) is not value:
                    return True
        else:
            stack.extend(v for v in node if isinstance(v, dict | list))
    return False


def redact_body(doc: Any) -> Any:
    """A JSON document (a request body) with the scalar values of secret keys redacted, at any
    depth. Iterative, so a deeply nested body cannot exhaust the stack; the input is not changed
    (and is returned itself when it holds no secret)."""
    if not isinstance(doc, dict | list) or not _has_secret_key(doc):
        return doc
    root: Any = {} if isinstance(doc, dict) else []
    stack: list[tuple[Any, Any]] = [(doc, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            if isinstance(value, dict | list):
                child: Any = {} if isinstance(value, dict) else []
                stack.append((value, child))
            elif isinstance(key, str) and is_secret_name(key):
                child = _blank(value)
            else:
                child = value
            if isinstance(target, dict):
                target[key] = child
            else:
                target.append(child)
    return root


def redact_request(request: dict[str, Any]) -> dict[str, Any]:
    """A capture's request record (``method``, ``url``, ``headers``, ``body``) redacted."""
    out = dict(request)
    if isinstance(out.get("url"), str):
        out["url"] = redact_url(out["url"])
    if "headers" in out:
        out["headers"] = redact_headers(out.get("headers"))
    if "body" in out:
        out["body"] = redact_body(out["body"])
    return out


# -- logs -------------------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """A handler filter: the record's message and traceback with every URL in them redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True
