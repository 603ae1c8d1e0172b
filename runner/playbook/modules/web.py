"""``get_url`` and ``uri``, run by the target's curl (or wget): one round trip each.

``get_url`` downloads into a temp file on the host and moves it over ``dest`` only when its
SHA-1 differs, so a second run reports ok; an existing ``dest`` is not fetched again when
``checksum`` matches it, and otherwise is asked for with If-Modified-Since (a 304 is ok), as
Ansible does unless ``force``. ``uri`` changes nothing (``changed: false``) unless it writes
``dest``; it registers status, url, redirected, the response headers (lowercase, '-' as
'_'), ``content`` with ``return_content`` and ``json`` when the answer is JSON.
The task's ``environment`` (``https_proxy``...) is exported for curl, as for a module.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.http import (
    Response,
    encode_body,
    fetch_script,
    parse_meta,
    request_from,
    status_message,
)
from runner.playbook.modules.remote import _attribute_steps

_SEP = b"\n\x1erunner-body\x1e\n"
_BODY_LIMIT = 64 << 20
_ALGOS = {"sha1": "sha1sum", "sha224": "sha224sum", "sha256": "sha256sum"}
_ALGOS |= {"sha384": "sha384sum", "sha512": "sha512sum", "md5": "md5sum"}

# After the request: the answer's meta line, error, headers, then (uri) the body.
_REPORT = (
    'cat "$t/meta"; echo; head -c 2000 "$t/err" | tr "\\n" " "; echo; cat "$t/head"; '
    "printf '\\n\\036runner-body\\036\\n'"
)


def _split(out: bytes, url: str) -> tuple[Response, list[str], bytes]:
    """(response, the lines the module's script printed before it, the body)."""
    head, sep, body = out.partition(_SEP)
    if not sep:
        raise ModuleFailure(f"unexpected answer from the host: {out[:200]!r}")
    lines = head.decode("utf-8", "replace").split("\n")
    mark = next((i for i, line in enumerate(lines) if line.startswith("@meta")), None)
    if mark is None:
        raise ModuleFailure(f"unexpected answer from the host: {out[:200]!r}")
    said, meta, err = lines[:mark], lines[mark + 1], lines[mark + 2]
    resp = parse_meta(meta, "\n".join(lines[mark + 3 :]), err, url)
    return resp, said, body


def _status_codes(value: Any) -> list[int]:
    """``status_code``: an int, a list, or '200,201' -> [200, 201]."""
    if value is None:
        return [200]
    items = value if isinstance(value, list) else str(value).split(",")
    try:
        return [int(str(item).strip()) for item in items]
    except ValueError as exc:
        raise ModuleFailure(f"status_code must be HTTP status numbers: {value!r}") from exc


def uri(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's uri: one request from the host; fails when the status is not expected."""
    if ctx.check_mode:
        # Ansible's uri action does not support check mode: the task is skipped.
        return {
            "changed": False,
            "skipped": True,
            "msg": "check mode not supported for this module",
        }
    method = (need_str(args, "method") or "GET").upper()
    follow = str(args.get("follow_redirects", "safe")).lower()
    follows = follow in ("all", "yes", "true") or (
        follow in ("safe", "urllib2") and method in ("GET", "HEAD")
    )
    req = request_from(args, method=method, follow=follows)
    body = encode_body(args.get("body"), str(args.get("body_format") or "raw"), req.headers)
    req = type(req)(**{**req.__dict__, "body": body})
    codes = _status_codes(args.get("status_code"))
    dest = need_str(args, "dest")
    pre = []
    for key, test in (("creates", "-e"), ("removes", "! -e")):
        path = need_str(args, key)
        if path:
            pre.append(f"if [ {test} {shlex.quote(path)} ]; then echo skip {key}; exit 0; fi")
    script, stdin = fetch_script(req, dest if dest and not as_bool(args.get("force")) else None)
    steps = ["\n".join(pre), script]
    if dest:
        ok = " ".join(str(c) for c in codes if c != 304)
        write = [f'cp -- "$t/body" {shlex.quote(dest)} || exit 1', "echo wrote"]
        write += [f"{s} || exit 1" for s in _attribute_steps(args, shlex.quote(dest))]
        steps.append(
            f'case " {ok} " in *" $(cut -d" " -f1 "$t/meta") "*) {"; ".join(write)};; esac'
        )
    steps.append(f'echo "@meta"; {_REPORT}; head -c {_BODY_LIMIT} "$t/body"')
    started = time.monotonic()
    done = ctx.shell(
        "\n".join(steps), stdin=stdin, env=True, hooks=False, limit=_BODY_LIMIT + 65536
    )
    out = done.stdout
    if out.startswith(b"skip "):
        key = out.split()[1].decode()
        path = args[key]
        what = "exists" if key == "creates" else "does not exist"
        return {"changed": False, "stdout": f"skipped, since '{path}' {what}"}
    if done.exit_code != 0:
        raise ModuleFailure(f"uri failed on the host: {done.stderr_text.strip()}")
    resp, said, content = _split(out, req.url)
    result: ModuleResult = {
        "changed": "wrote" in said,
        "redirected": resp.redirects > 0,
        "url": resp.url,
        "status": resp.status if resp.status else -1,
        "elapsed": int(time.monotonic() - started),
        "cookies": {},
        "cookies_string": "",
        "msg": status_message(resp, len(content)),
    }
    if dest:
        result["path"] = dest
    for key, value in resp.headers.items():
        result.setdefault(key, value)
    ctype = resp.headers.get("content_type", "")
    mime = ctype.split(";")[0].strip().lower()
    sub = mime.partition("/")[2]
    is_json = (sub.partition("+")[2] if "+" in sub else sub) in ("json", "javascript")
    text = content.decode(_charset(ctype), "replace")
    if is_json:
        try:
            result["json"] = json.loads(text)
        except ValueError:
            pass
    if as_bool(args.get("return_content")):
        result["content"] = text
    if resp.status not in codes:
        result["failed"] = True
        result["msg"] = f"Status code was {result['status']} and not {codes}: {result['msg']}"
    return result


def _charset(content_type: str) -> str:
    msg = Message()
    msg["content-type"] = content_type or "application/octet-stream"
    charset = msg.get_param("charset")
    return str(charset) if isinstance(charset, str) else "utf-8"


# get_url, after the request: where the file goes, and moving it there when it differs.
_GET_URL_DONE = r"""s=$(cut -d" " -f1 "$t/meta")
if [ "$s" != 200 ]; then echo "@meta"; {report}; exit 0; fi
d={dest}
if [ -d "$d" ]; then n={name}; [ -n "$n" ] || n=$(basename -- "$(cut -d" " -f3 "$t/meta" | sed 's/[?#].*//')"); d="$d/$n"; fi
echo "dest $d"
echo "src $(sha1sum < "$t/body" | cut -c1-40)"; echo "size $(wc -c < "$t/body")"
{verify}
if [ -f "$d" ]; then echo "old $(sha1sum < "$d" | cut -c1-40)"
elif [ ! -d "$(dirname -- "$d")" ]; then echo noparent; echo "@meta"; {report}; exit 0; fi
if ! cmp -s "$t/body" "$d"; then
  if [ {check} = 0 ]; then
    {backup}
    b=$(stat -c '%a %U %G' -- "$d" 2>/dev/null)
    cp -- "$t/body" "$d.runner-$$" && mv -f -- "$d.runner-$$" "$d" || exit 1
  fi
  echo changed
fi
if [ {check} = 0 ]; then
  b=$(stat -c '%a %U %G' -- "$d"); {attrs}
  [ "$b" = "$(stat -c '%a %U %G' -- "$d")" ] || echo attrs
fi
echo "@meta"; {report}
"""


def _checksum(args: dict[str, Any]) -> tuple[str, str] | None:
    """``checksum: sha256:HEX`` -> ('sha256', 'hex'); a checksum URL is not supported."""
    text = need_str(args, "checksum")
    if not text:
        return None
    algo, colon, digest = text.partition(":")
    if not colon or algo.lower() not in _ALGOS:
        raise ModuleFailure(
            f"checksum must be ALGORITHM:DIGEST with one of {', '.join(sorted(_ALGOS))}"
        )
    if urlsplit(digest).scheme in ("http", "https", "ftp", "file"):
        raise ModuleFailure("checksum from a URL is not supported by runner yet")
    return algo.lower(), digest.strip().lower()


def get_url(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's get_url; see the module doc for when it downloads and when it changes."""
    dest = need_str(args, "dest") or ""
    force = as_bool(args.get("force"))
    checksum = _checksum(args)
    req = request_from(args)
    quoted = shlex.quote(dest)
    pre = [f"d={quoted}"]
    if checksum is not None and not force:
        tool = _ALGOS[checksum[0]]
        pre.append(
            f'if [ -f "$d" ] && [ "$({tool} < "$d" | cut -d" " -f1)" = {shlex.quote(checksum[1])} ]; '
            "then echo exists; exit 0; fi"
        )
    # a dest that exists but differs from a given checksum is fetched without If-Modified-Since
    ims = dest if not force and checksum is None else None
    script, stdin = fetch_script(req, ims)
    verify = ""
    if checksum is not None:
        tool = _ALGOS[checksum[0]]
        verify = (
            f'g=$({tool} < "$t/body" | cut -d" " -f1); echo "digest $g"; '
            f'if [ "$g" != {shlex.quote(checksum[1])} ]; then echo "@meta"; {_REPORT}; exit 0; fi'
        )
    done_script = _GET_URL_DONE.format(
        report=_REPORT,
        dest=quoted,
        name=shlex.quote(os.path.basename(urlsplit(req.url).path)),
        verify=verify,
        check=1 if ctx.check_mode else 0,
        backup=(
            '[ -f "$d" ] && k="$d.$$.$(date +%Y-%m-%d@%H:%M:%S)~" && cp -p -- "$d" "$k" '
            '&& echo "backup $k"'
        )
        if as_bool(args.get("backup"))
        else ":",
        attrs="; ".join(_attribute_steps(args, '"$d"')) or ":",
    )
    result: ModuleResult = {"changed": False, "dest": dest, "url": req.url}
    started = time.monotonic()
    done = ctx.shell(
        "\n".join(pre) + "\n" + script + done_script, stdin=stdin, env=True, hooks=False
    )
    if done.stdout.startswith(b"exists"):
        result["msg"] = "file already exists"
        return result
    if done.exit_code != 0:
        raise ModuleFailure(f"get_url failed on the host: {done.stderr_text.strip()}")
    resp, said, _ = _split(done.stdout, req.url)
    result["elapsed"] = int(time.monotonic() - started)
    facts = dict(line.split(" ", 1) for line in said if " " in line)
    if resp.status == 304:
        return {**result, "status_code": 304, "msg": "Not Modified (0 bytes)"}
    if resp.status == 0:  # no answer: Ansible's msg is urllib's "Request failed: ..."
        return {**result, "failed": True, "msg": status_message(resp, 0)}
    if resp.status != 200:
        return {
            **result, "failed": True, "msg": "Request failed", "status_code": resp.status or -1,
            "response": status_message(resp, 0),
        }  # fmt: skip
    result["dest"] = facts.get("dest", dest)
    if "noparent" in said:
        raise ModuleFailure(f"Destination {os.path.dirname(result['dest'])} does not exist")
    result["checksum_src"] = facts.get("src")
    result["checksum_dest"] = facts.get("old")
    result["status_code"] = 200
    if checksum is not None and facts.get("digest") != checksum[1]:
        result.update(failed=True)
        result["msg"] = (
            f"The checksum for {result['dest']} did not match {checksum[1]}; "
            f"it was {facts.get('digest')}."
        )
        return result
    result["changed"] = "changed" in said or "attrs" in said
    if "backup" in facts:
        result["backup_file"] = facts["backup"]
    result["msg"] = status_message(resp, int(facts.get("size", "0").strip() or 0))
    return result
