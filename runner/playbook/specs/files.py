"""Arguments of the modules that edit and inspect files (lineinfile, blockinfile,
replace, stat, slurp, find), with Ansible's aliases and choices."""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec, templated

# What every file-writing module accepts beside its own arguments. unsafe_writes is
# accepted and ignored: runner always writes a temp file and renames it.
_ATTRS = frozenset({"mode", "owner", "group", "unsafe_writes"})
_PATH_ALIASES = (("dest", "path"), ("destfile", "path"), ("name", "path"))


def _choice(args: dict[str, object], key: str, allowed: tuple[str, ...]) -> None:
    value = args.get(key)
    if value is not None and not templated(value) and str(value) not in allowed:
        raise ValueError(f"{key} must be one of: {', '.join(allowed)} (got {value!r})")


def _exclusive(args: dict[str, object], *pairs: tuple[str, str]) -> None:
    for a, b in pairs:
        if args.get(a) is not None and args.get(b) is not None:
            raise ValueError(f"parameters are mutually exclusive: {a}|{b}")


def _lineinfile(args: dict[str, object]) -> None:
    _choice(args, "state", ("present", "absent"))
    _exclusive(
        args, ("insertbefore", "insertafter"), ("regexp", "search_string"),
        ("backrefs", "search_string"),
    )  # fmt: skip
    if args.get("state", "present") == "present" and args.get("line") is None:
        raise ValueError("line is required with state=present")
    if args.get("backrefs") not in (None, False, "no", "false", "False") and not args.get("regexp"):
        raise ValueError("regexp is required with backrefs=true")
    if args.get("state") == "absent" and all(
        args.get(k) is None for k in ("line", "regexp", "search_string")
    ):
        raise ValueError("one of line, search_string, or regexp is required with state=absent")


def _blockinfile(args: dict[str, object]) -> None:
    _choice(args, "state", ("present", "absent"))
    _exclusive(args, ("insertbefore", "insertafter"))


def _find(args: dict[str, object]) -> None:
    _choice(args, "file_type", ("any", "directory", "file", "link"))
    _choice(args, "age_stamp", ("atime", "ctime", "mtime"))


def _stat(args: dict[str, object]) -> None:
    _choice(args, "checksum_algorithm", ("md5", "sha1", "sha224", "sha256", "sha384", "sha512"))


def _file(args: dict[str, object]) -> None:
    states = ("absent", "directory", "file", "hard", "link", "touch")
    state = args.get("state")
    if state is not None and not templated(state) and str(state) not in states:
        raise ValueError(f"file state must be one of: {', '.join(states)}")


SPECS: dict[str, ModuleSpec] = {
    "assemble": ModuleSpec(
        _ATTRS
        | {
            "src",
            "dest",
            "delimiter",
            "backup",
            "remote_src",
            "regexp",
            "ignore_hidden",
            "validate",
        },
        required_one_of=(("src",), ("dest",)),
    ),  # fmt: skip
    "copy": ModuleSpec(
        _ATTRS
        | {
            "src",
            "content",
            "dest",
            "backup",
            "force",
            "validate",
            "follow",
            "remote_src",
            "directory_mode",
        },
        required_one_of=(("dest",), ("src", "content")),
    ),
    "template": ModuleSpec(
        _ATTRS
        | {
            "src",
            "dest",
            "backup",
            "force",
            "validate",
            "follow",
            "newline_sequence",
            "trim_blocks",
            "lstrip_blocks",
        },
        required_one_of=(("src",), ("dest",)),
    ),
    "file": ModuleSpec(
        _ATTRS
        | {
            "path",
            "state",
            "src",
            "recurse",
            "force",
            "follow",
            "modification_time",
            "modification_time_format",
            "access_time",
            "access_time_format",
        },
        required_one_of=(("path",),),
        aliases=(("dest", "path"), ("name", "path")),
        validate=_file,
    ),  # fmt: skip
    "lineinfile": ModuleSpec(
        _ATTRS
        | {
            "path",
            "state",
            "regexp",
            "search_string",
            "line",
            "insertafter",
            "insertbefore",
            "backrefs",
            "create",
            "backup",
            "firstmatch",
            "validate",
        },
        required_one_of=(("path",),),
        aliases=(*_PATH_ALIASES, ("regex", "regexp"), ("value", "line")),
        validate=_lineinfile,
    ),  # fmt: skip
    "blockinfile": ModuleSpec(
        _ATTRS
        | {
            "path",
            "state",
            "marker",
            "block",
            "insertafter",
            "insertbefore",
            "create",
            "backup",
            "validate",
            "marker_begin",
            "marker_end",
            "append_newline",
            "prepend_newline",
        },
        required_one_of=(("path",),),
        aliases=(*_PATH_ALIASES, ("content", "block")),
        validate=_blockinfile,
    ),  # fmt: skip
    "replace": ModuleSpec(
        _ATTRS | {"path", "regexp", "replace", "after", "before", "backup", "validate", "encoding"},
        required_one_of=(("path",), ("regexp",)),
        aliases=_PATH_ALIASES,
    ),  # fmt: skip
    "stat": ModuleSpec(
        frozenset(
            {
                "path",
                "follow",
                "get_checksum",
                "checksum_algorithm",
                "get_mime",
                "get_attributes",
                "get_selinux_context",
            }
        ),
        required_one_of=(("path",),),
        aliases=(
            ("dest", "path"),
            ("name", "path"),
            ("checksum", "checksum_algorithm"),
            ("checksum_algo", "checksum_algorithm"),
            ("mime", "get_mime"),
            ("mime_type", "get_mime"),
            ("mime-type", "get_mime"),
            ("attr", "get_attributes"),
            ("attributes", "get_attributes"),
        ),
        validate=_stat,
    ),  # fmt: skip
    "slurp": ModuleSpec(
        frozenset({"src"}), required_one_of=(("src",),), aliases=(("path", "src"),)
    ),
    "find": ModuleSpec(
        frozenset(
            {
                "paths",
                "patterns",
                "excludes",
                "contains",
                "read_whole_file",
                "file_type",
                "recurse",
                "depth",
                "age",
                "age_stamp",
                "size",
                "hidden",
                "follow",
                "get_checksum",
                "checksum_algorithm",
                "use_regex",
                "mode",
                "exact_mode",
                "encoding",
                "limit",
            }
        ),
        required_one_of=(("paths",),),
        aliases=(
            ("name", "paths"),
            ("path", "paths"),
            ("pattern", "patterns"),
            ("exclude", "excludes"),
            ("checksum", "checksum_algorithm"),
            ("checksum_algo", "checksum_algorithm"),
        ),
        validate=_find,
    ),  # fmt: skip
}
