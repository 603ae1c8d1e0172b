"""HTTP requests made by the target itself, with curl (or wget when curl is missing), for
``get_url`` and ``uri``: one shell script per request, so a module costs one round trip.

Headers and credentials go to the tool in a config file written from stdin, never on its
command line (``ps`` on the host would show them). The script leaves the response body in
``$t/body`` and its headers in ``$t/head`` (``$t`` a fresh temp folder), and prints one
line ``STATUS REDIRECTS URL`` (status 0: no answer, see ``$t/err``); each module adds what
it does next.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from runner.playbook.modules.base import ModuleFailure, as_bool, need_str


@dataclass(frozen=True)
class Request:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: int = 10
    validate_certs: bool = True
    user: str | None = None
    password: str | None = None
    basic: bool = False
    follow: bool = True
    if_modified_since: str | None = None  # a remote file whose mtime curl sends (-z)


def request_from(args: dict[str, Any], *, method: str = "GET", follow: bool = True) -> Request:
    """The Request Ansible's url arguments describe (headers, timeout, certs, credentials)."""
    url = need_str(args, "url")
    if not url:
        raise ModuleFailure("url is required")
    headers = args.get("headers") or {}
    if not isinstance(headers, dict):
        raise ModuleFailure("headers must be a mapping of header name to value")
    try:
        raw = args.get("timeout")
        timeout = int(raw) if raw is not None else 10
    except (TypeError, ValueError) as exc:
        raise ModuleFailure(f"timeout must be a number of seconds: {exc}") from exc
    return Request(
        url=url,
        method=method,
        headers={str(k): str(v) for k, v in headers.items()},
        timeout=timeout,
        validate_certs=as_bool(args.get("validate_certs", True)),
        user=need_str(args, "url_username"),
        password=need_str(args, "url_password"),
        basic=as_bool(args.get("force_basic_auth")),
        follow=follow,
    )


def encode_body(body: Any, body_format: str, headers: dict[str, str]) -> bytes | None:
    """``uri``'s body as bytes, setting Content-Type as Ansible does for json and forms.

    >>> h = {}
    >>> encode_body({"a": 1}, "json", h), h
    (b'{"a": 1}', {'Content-Type': 'application/json'})
    >>> encode_body({"q": "a b", "n": 2}, "form-urlencoded", {})
    b'q=a+b&n=2'
    """
    if body is None:
        return None
    named = {k.lower() for k in headers}
    if body_format == "json":
        if "content-type" not in named:
            headers["Content-Type"] = "application/json"
        text = body if isinstance(body, str) else json.dumps(body)
    elif body_format == "form-urlencoded":
        if "content-type" not in named:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if isinstance(body, dict):
            text = urlencode(body)
        elif isinstance(body, list):
            text = urlencode([tuple(pair) for pair in body])
        else:
            text = str(body)
    elif body_format == "raw":
        text = body if isinstance(body, str) else json.dumps(body)
    else:
        raise ModuleFailure(f"body_format {body_format!r} is not supported by runner")
    return text.encode() if isinstance(text, str) else bytes(text)


def _quote(text: str) -> str:
    """A curl/wget config string: double quotes, backslash escapes."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _curl_config(req: Request) -> str:
    lines = [f"url = {_quote(req.url)}", f"max-time = {req.timeout}", "silent", "show-error"]
    if req.method == "HEAD":
        lines.append("head")
    elif req.method != "GET" or req.body is not None:
        lines.append(f"request = {_quote(req.method)}")
    lines += [f"header = {_quote(f'{k}: {v}')}" for k, v in req.headers.items()]
    if req.user is not None:
        lines.append(f"user = {_quote(req.user + ':' + (req.password or ''))}")
        lines.append("basic")
    if not req.validate_certs:
        lines.append("insecure")
    if req.follow:
        lines += ["location", "max-redirs = 50"]
    return "\n".join(lines) + "\n"


def _wget_config(req: Request) -> str:
    lines = [f"timeout = {req.timeout}", "server_response = on", "content_on_error = on"]
    lines += [f"header = {k}: {v}" for k, v in req.headers.items()]
    if req.user is not None:
        lines += [f"http_user = {req.user}", f"http_password = {req.password or ''}"]
        if req.basic:
            lines.append("auth_no_challenge = on")
    if not req.validate_certs:
        lines.append("check_certificate = off")
    lines.append(f"max_redirect = {20 if req.follow else 0}")
    return "\n".join(lines) + "\n"


_FETCH = r"""t=$(mktemp -d "${{TMPDIR:-/tmp}}/.runner-http.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
head -c {curl_len} > "$t/curlrc"; head -c {wget_len} > "$t/wgetrc"; cat > "$t/in"
: > "$t/head"; : > "$t/body"
if command -v curl >/dev/null 2>&1; then
  set -- -K "$t/curlrc" -D "$t/head" -o "$t/body" -w '%{{http_code}} %{{num_redirects}} %{{url_effective}}'
  [ {has_body} = 1 ] && set -- "$@" --data-binary "@$t/in"
  [ -n {ims} ] && [ -e {ims} ] && set -- "$@" -z {ims}
  curl "$@" > "$t/meta" 2> "$t/err" || echo "0 0 -" > "$t/meta"
elif command -v wget >/dev/null 2>&1; then
  set -- --config="$t/wgetrc" -O "$t/body" --method={method}
  [ {has_body} = 1 ] && set -- "$@" --body-file="$t/in"
  wget "$@" {url} 2> "$t/err"; rc=$?
  sed -n 's/^  //p' "$t/err" > "$t/head"
  s=$(grep -c '^  HTTP/' "$t/err"); c=$(grep '^  HTTP/' "$t/err" | tail -n 1 | awk '{{print $2}}')
  if [ -z "$c" ]; then echo "0 0 -" > "$t/meta"; else echo "$c $((s-1)) {url}" > "$t/meta"; fi
else
  echo "neither curl nor wget is installed on the host" > "$t/err"; echo "0 0 -" > "$t/meta"
fi
"""


def fetch_script(req: Request, if_modified_since: str | None = None) -> tuple[str, bytes]:
    """The script (and its stdin) that makes ``req`` on the host; see the module doc."""
    curlrc = _curl_config(req).encode()
    wgetrc = _wget_config(req).encode()
    script = _FETCH.format(
        curl_len=len(curlrc),
        wget_len=len(wgetrc),
        has_body=1 if req.body is not None else 0,
        ims=shlex.quote(if_modified_since or ""),
        method=shlex.quote(req.method),
        url=shlex.quote(req.url),
    )
    return script, curlrc + wgetrc + (req.body or b"")


@dataclass(frozen=True)
class Response:
    status: int  # 0: no answer (error says why)
    redirects: int
    url: str
    headers: dict[str, str]
    error: str = ""


def parse_meta(meta: str, head: str, error: str, url: str) -> Response:
    """The response from the script's ``STATUS REDIRECTS URL`` line and the headers of its
    last answer (after redirects). Names are lowercased with '-' as '_', as Ansible's.

    >>> r = parse_meta("200 1 http://h/b", "HTTP/1.0 302 Found\\r\\nLocation: /b\\r\\n\\r\\n"
    ...                "HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n", "", "http://h/a")
    >>> r.status, r.redirects, r.url, r.headers
    (200, 1, 'http://h/b', {'content_type': 'text/plain'})
    """
    words = meta.split(None, 2)
    try:
        status, redirects = int(words[0]), int(words[1])
    except (IndexError, ValueError):
        status, redirects = 0, 0
    effective = words[2].strip() if len(words) > 2 and words[2].strip() != "-" else url
    headers: dict[str, str] = {}
    for line in head.replace("\r", "").split("\n"):
        if line.startswith("HTTP/"):
            headers = {}
            continue
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip().replace("-", "_").lower()] = value.strip()
    return Response(status, redirects, effective, headers, error.strip())


def status_message(resp: Response, size: int) -> str:
    """Ansible's ``msg`` for an answer: ``OK (N bytes)`` (urllib's wording)."""
    if resp.status == 0:
        return f"Request failed: {resp.error or 'no answer'}"
    if resp.status >= 400:
        return f"HTTP Error {resp.status}"
    return f"OK ({size} bytes)" if resp.status < 300 else f"Status code {resp.status}"
