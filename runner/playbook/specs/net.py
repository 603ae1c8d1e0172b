"""Arguments of the modules that fetch from the network or unpack archives on the host:
``get_url``, ``uri`` (curl or wget on the target) and ``unarchive``."""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec
from runner.playbook.specs.system import choices

_ATTRS = frozenset({"mode", "owner", "group", "attributes", "seuser", "serole", "setype"})
_ATTRS |= {"selevel", "unsafe_writes"}
# What Ansible's url_argument_spec gives every HTTP module (most are accepted and ignored
# by runner's curl/wget requests where they have no equivalent).
_HTTP = frozenset({"url", "headers", "timeout", "validate_certs", "url_username"})
_HTTP |= {"url_password", "force_basic_auth", "use_proxy", "client_cert", "client_key"}
_HTTP |= {"http_agent", "use_gssapi", "use_netrc", "unredirected_headers", "ciphers"}
_HTTP |= {"decompress", "ca_path"}


def _one_of_include_exclude(args: dict[str, object]) -> None:
    if args.get("include") and args.get("exclude"):
        raise ValueError("unarchive takes either 'include' or 'exclude', not both")


SPECS: dict[str, ModuleSpec] = {
    "get_url": ModuleSpec(
        _HTTP | _ATTRS | {"dest", "tmp_dest", "backup", "checksum", "force"},
        required_one_of=(("url",), ("dest",)),
        aliases=(("username", "url_username"), ("password", "url_password")),
    ),
    "uri": ModuleSpec(
        _HTTP
        | _ATTRS
        | {"method", "body", "body_format", "return_content", "dest", "force"}
        | {"status_code", "follow_redirects", "creates", "removes", "src", "remote_src"}
        | {"unix_socket"},
        required_one_of=(("url",),),
        aliases=(("user", "url_username"), ("password", "url_password")),
        validate=choices(
            body_format=("json", "form-urlencoded", "raw", "form-multipart"),
            follow_redirects=("all", "none", "safe", "urllib2", "yes", "no", "true", "false"),
        ),
    ),
    "unarchive": ModuleSpec(
        _ATTRS
        | {"src", "dest", "remote_src", "creates", "list_files", "exclude", "include"}
        | {"keep_newer", "extra_opts", "io_buffer_size", "validate_certs", "decrypt", "copy"},
        required_one_of=(("src",), ("dest",)),
        validate=_one_of_include_exclude,
    ),
}
