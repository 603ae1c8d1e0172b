"""Unit tests (no sshd) for get_url, uri and unarchive: their arguments at load time, and
the parts that build the host's request and read its answer."""

from __future__ import annotations

import pytest

from runner.playbook.modspec import check_args
from runner.playbook.modules.base import ModuleFailure
from runner.playbook.modules.http import (
    Request,
    encode_body,
    fetch_script,
    parse_meta,
    request_from,
    status_message,
)
from runner.playbook.modules.unarchive import _words
from runner.playbook.modules.web import _checksum, _split, _status_codes


def test_specs_accept_ansible_arguments_and_aliases():
    args = check_args("uri", {"url": "http://x", "user": "u", "password": "p"})
    assert args["url_username"] == "u" and args["url_password"] == "p"
    args = check_args("get_url", {"url": "http://x", "dest": "/d", "username": "u"})
    assert args["url_username"] == "u"
    check_args("unarchive", {"src": "a.tgz", "dest": "/d", "remote_src": True, "mode": "0755"})


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("uri", {"url": "http://x", "body_format": "xml"}, "body_format must be one of"),
        ("uri", {"url": "http://x", "follow_redirects": "sometimes"}, "follow_redirects"),
        ("uri", {"method": "GET"}, "uri needs 'url'"),
        ("get_url", {"url": "http://x"}, "get_url needs 'dest'"),
        ("get_url", {"url": "http://x", "dest": "/d", "sha": 1}, "does not support 'sha'"),
        ("unarchive", {"src": "a.tgz"}, "unarchive needs 'dest'"),
        ("unarchive", {"src": "a", "dest": "/d", "include": ["x"], "exclude": ["y"]}, "not both"),
    ],
)
def test_specs_refuse_bad_arguments(module, args, message):
    with pytest.raises(ValueError, match=message):
        check_args(module, args)


def test_templated_choice_is_left_for_run_time():
    check_args("uri", {"url": "http://x", "body_format": "{{ fmt }}"})


def test_credentials_and_headers_never_reach_the_command_line():
    req = request_from(
        {"url": "http://127.0.0.1/a", "url_username": "bob", "url_password": 'p"w',
         "headers": {"X-Token": "secret-token"}, "timeout": "5"}
    )  # fmt: skip
    script, stdin = fetch_script(req)
    assert "secret-token" not in script and "bob" not in script
    assert b'header = "X-Token: secret-token"' in stdin
    assert b'user = "bob:p\\"w"' in stdin and b"max-time = 5" in stdin
    assert b"http_user = bob" in stdin  # the wget half


def test_request_arguments_are_checked():
    with pytest.raises(ModuleFailure, match="headers must be a mapping"):
        request_from({"url": "http://x", "headers": ["a"]})
    with pytest.raises(ModuleFailure, match="timeout must be a number"):
        request_from({"url": "http://x", "timeout": "soon"})
    with pytest.raises(ModuleFailure, match="url is required"):
        request_from({})


def test_method_and_body_in_curl_config():
    _, stdin = fetch_script(Request("http://x", method="POST", body=b"{}", follow=False))
    assert b'request = "POST"' in stdin and b"location" not in stdin
    _, stdin = fetch_script(Request("http://x", method="HEAD"))
    assert b"head\n" in stdin and b"location\n" in stdin


def test_body_encodings_keep_a_given_content_type():
    headers = {"content-type": "application/vnd+json"}
    assert encode_body({"a": [1]}, "json", headers) == b'{"a": [1]}'
    assert headers == {"content-type": "application/vnd+json"}
    assert encode_body('{"raw": 1}', "json", {}) == b'{"raw": 1}'
    assert encode_body([["a", "1"], ["a", "2"]], "form-urlencoded", {}) == b"a=1&a=2"
    assert encode_body("as is", "raw", {}) == b"as is"
    assert encode_body(None, "json", {}) is None
    with pytest.raises(ModuleFailure, match="form-multipart"):
        encode_body({}, "form-multipart", {})


def test_no_answer_and_status_messages():
    resp = parse_meta("0 0 -", "", "curl: (7) Failed to connect", "http://h/")
    assert resp.status == 0 and resp.url == "http://h/"
    assert status_message(resp, 0) == "Request failed: curl: (7) Failed to connect"
    assert status_message(parse_meta("404 0 http://h/", "", "", "http://h/"), 0) == "HTTP Error 404"
    assert status_message(parse_meta("200 0 http://h/", "", "", "http://h/"), 7) == "OK (7 bytes)"


def test_split_reads_the_scripts_answer():
    out = (
        b"dest /d/f\nsrc abc\n@meta\n200 0 http://h/f\n\nHTTP/1.1 200 OK\r\n"
        b"Content-Length: 2\r\n\r\n\n\x1erunner-body\x1e\nhi"
    )
    resp, said, body = _split(out, "http://h/f")
    assert said == ["dest /d/f", "src abc"] and body == b"hi"
    assert resp.headers == {"content_length": "2"} and resp.status == 200
    with pytest.raises(ModuleFailure, match="unexpected answer"):
        _split(b"garbage", "http://h/")


def test_status_codes_and_checksums():
    assert _status_codes(None) == [200]
    assert _status_codes("200, 201") == [200, 201]
    assert _status_codes([200, "204"]) == [200, 204]
    with pytest.raises(ModuleFailure, match="status_code"):
        _status_codes("ok")
    assert _checksum({"checksum": "SHA256:ABC"}) == ("sha256", "abc")
    assert _checksum({}) is None
    with pytest.raises(ModuleFailure, match="ALGORITHM:DIGEST"):
        _checksum({"checksum": "crc32:1234"})
    with pytest.raises(ModuleFailure, match="from a URL"):
        _checksum({"checksum": "sha256:https://example.invalid/sums"})


def test_unarchive_list_arguments():
    assert _words("a, b", "exclude") == ["a", "b"]
    assert _words(["x", 1], "include") == ["x", "1"]
    assert _words(None, "extra_opts") == []
    with pytest.raises(ModuleFailure, match="must be a list"):
        _words({"a": 1}, "exclude")
