"""Arguments of the modules that set variables from files: include_vars."""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec

_FILE = frozenset({"file", "_raw_params"})
_DIR = frozenset({"dir", "depth", "files_matching", "ignore_files", "extensions",
                  "ignore_unknown_extensions"})  # fmt: skip


def _check_include_vars(args: dict[str, object]) -> None:
    given_file = [k for k in _FILE if args.get(k) not in (None, "")]
    given_dir = [k for k in _DIR if k in args]
    if given_file and given_dir:
        raise ValueError(
            "include_vars reads a file ('file' or free form) or a folder ('dir' with "
            "depth, files_matching...), not both"
        )
    if not given_file and args.get("dir") in (None, ""):
        raise ValueError("include_vars needs a file (free form or 'file') or a 'dir'")
    if "depth" in args and not str(args["depth"]).isdigit() and "{{" not in str(args["depth"]):
        raise ValueError("include_vars depth must be a whole number (0: no limit)")
    if args.get("hash_behaviour") not in (None, "replace", "merge"):
        raise ValueError("include_vars hash_behaviour must be replace or merge")


SPECS = {
    "include_vars": ModuleSpec(
        _FILE | _DIR | {"name", "hash_behaviour", "_origin"},
        free_form=True,
        validate=_check_include_vars,
    ),
}
