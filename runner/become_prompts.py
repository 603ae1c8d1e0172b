"""The prompts of become methods that cannot be told to print runner's own (su): how
runner.become.BecomeSession finds them in a command's terminal output."""

from __future__ import annotations

import re

# su's prompt (it cannot be told to print ours): English and the common translations
_SU_PROMPT = re.compile(
    rb"(?:\w+'s )?(?:Password|Passwort|Mot de passe|Contrase\xc3\xb1a|Senha|Wachtwoord|"
    rb"Lozinka|Has\xc5\x82o) ?(?::|\xef\xbc\x9a) ?$",
    re.MULTILINE,
)


def su_prompts(buffer: bytes) -> int:
    """How many times su asked for a password in ``buffer``.

    >>> su_prompts(b"Password: "), su_prompts(b"Passwort:"), su_prompts(b"id: 0")
    (1, 1, 0)
    """
    return len(_SU_PROMPT.findall(buffer))


def without_su_prompts(buffer: bytes) -> bytes:
    return _SU_PROMPT.sub(b"", buffer)
