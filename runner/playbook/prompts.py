"""``vars_prompt``: variables a play asks the operator for, before anything runs.

As in ansible-core: each entry has ``name`` and ``prompt``, optional ``default``,
``private`` (hidden input, the default), ``confirm`` (asked twice, must match),
``encrypt`` (a crypt hash: sha512_crypt, sha256_crypt, md5_crypt, with ``salt`` /
``salt_size``) and ``unsafe``. A variable given with ``-e`` is not asked. An empty
answer takes the default. Answers sit above the play's ``vars`` and below its
``vars_files`` (Ansible's "play vars_prompt").

runner asks every play's prompts at the start (Ansible asks as each play starts), so that
with no terminal to ask on, a prompt without a default is an input error before any host
is contacted; with a default, the default is taken.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import InputError, PlaybookError
from runner.playbook.reader import line_of

KEYS = frozenset({"name", "prompt", "default", "private", "confirm", "encrypt", "salt",
                  "salt_size", "unsafe"})  # fmt: skip
ENCRYPT = {"sha512_crypt": "sha512", "sha256_crypt": "sha256", "md5_crypt": "md5"}


@dataclass(frozen=True)
class Prompt:
    name: str
    prompt: str
    path: str
    line: int | None
    default: Any = None
    private: bool = True
    confirm: bool = False
    encrypt: str | None = None
    salt: str | None = None
    salt_size: int | None = None
    shadowed: bool = field(default=False)  # a vars_files variable of the play wins


def read_prompts(data: Mapping[str, Any], path: str, shadowed: set[str]) -> tuple[Prompt, ...]:
    """The ``vars_prompt`` entries of one play, checked (``shadowed``: vars_files names)."""
    raw = data.get("vars_prompt")
    if raw is None:
        return ()
    line = line_of(data, "vars_prompt")
    if not isinstance(raw, list):
        raise PlaybookError("vars_prompt must be a list of prompts", path=path, line=line,
                            hint="vars_prompt: [{name: release, prompt: 'Which release?'}]")  # fmt: skip
    out = []
    for entry in raw:
        where = line_of(entry, default=line)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise PlaybookError("each vars_prompt entry needs a 'name'", path=path, line=where)
        unknown = set(entry) - KEYS
        if unknown:
            raise PlaybookError(
                f"vars_prompt does not take {', '.join(sorted(map(str, unknown)))}; it takes "
                + ", ".join(sorted(KEYS)), path=path, line=where,
            )  # fmt: skip
        encrypt = entry.get("encrypt")
        if encrypt is not None and encrypt not in ENCRYPT:
            raise PlaybookError(
                f"vars_prompt encrypt {encrypt!r} is not supported; runner supports "
                + ", ".join(ENCRYPT), path=path, line=where,
            )  # fmt: skip
        out.append(
            Prompt(
                name=entry["name"],
                prompt=str(entry.get("prompt") or entry["name"]),
                path=path,
                line=where,
                default=entry.get("default"),
                private=_bool(entry.get("private", True)),
                confirm=_bool(entry.get("confirm", False)),
                encrypt=encrypt,
                salt=None if entry.get("salt") is None else str(entry["salt"]),
                salt_size=None if entry.get("salt_size") is None else int(entry["salt_size"]),
                shadowed=entry["name"] in shadowed,
            )
        )
    return tuple(out)


def _bool(value: Any) -> bool:
    from runner.templating import truth

    return bool(truth(value))


def answer(
    prompt: Prompt,
    ask: Callable[[str, bool], str] | None,
) -> Any:
    """The value of one prompt: asked with ``ask(text, private)``, or its default when
    there is no terminal (``ask`` None); InputError when neither can give one."""
    value: Any
    if ask is None:
        if prompt.default is None:
            raise InputError(
                f"vars_prompt {prompt.name!r} needs an answer and stdin is not a terminal",
                path=prompt.path, line=prompt.line,
                hint=f"give it on the command line: -e {prompt.name}=VALUE "
                "(or give the prompt a 'default')",
            )  # fmt: skip
        value = prompt.default
    else:
        shown = prompt.prompt + (f" [{prompt.default}]" if prompt.default is not None else "")
        while True:
            value = ask(f"{shown}: ", prompt.private)
            if prompt.confirm and ask(f"confirm {prompt.prompt}: ", prompt.private) != value:
                continue  # "***** VALUES ENTERED DO NOT MATCH ****", asked again
            break
        if value == "" and prompt.default is not None:
            value = prompt.default
    if prompt.encrypt:
        from runner.templating.filters_more import password_hash

        salt = prompt.salt or _salt(prompt.salt_size or 16)
        value = password_hash(str(value), ENCRYPT[prompt.encrypt], salt)
    return value


def _salt(size: int) -> str:
    alphabet = string.ascii_letters + string.digits + "./"
    return "".join(secrets.choice(alphabet) for _ in range(size))


def answer_plays(
    plays: list[Any], extra_vars: Mapping[str, Any], ask: Callable[[str, bool], str] | None
) -> list[dict[str, Any]]:
    """Ask every play's prompts (those not given with -e) and set the answers as the
    play's variables, in place; the answers of each play, in order (PlaybookJob carries
    them to a run in another process, which loads the playbook again)."""
    out = []
    for play in plays:
        answers = {}
        for prompt in play.vars_prompt:
            if prompt.name in extra_vars:
                continue
            value = answer(prompt, ask)
            if not prompt.shadowed:
                answers[prompt.name] = value
        play.vars.update(answers)
        out.append(answers)
    return out
