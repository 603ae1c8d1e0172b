"""Lookups one by one, with their files in temp folders: search order, errors, password
files, the limits. (tests/test_template_ansible.py compares them with real Ansible.)"""

from __future__ import annotations

import os

import pytest

from runner.errors import TemplateError
from runner.templating import LazyVars, evaluate, render
from runner.templating.limits import MAX_TEMPLATE_OUTPUT


@pytest.fixture
def project(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "files" / "a.txt").write_text("in files\n")
    (tmp_path / "a.txt").write_text("in playbook dir\n")
    (tmp_path / "b.txt").write_text("only in playbook dir\n")
    return tmp_path


def test_file_searches_role_files_then_playbook_files_then_folders(project, tmp_path_factory):
    role = tmp_path_factory.mktemp("role")
    (role / "files").mkdir()
    (role / "files" / "a.txt").write_text("in role\n")
    base = {"playbook_dir": str(project)}
    assert evaluate("lookup('file', 'a.txt')", base) == "in files"
    assert evaluate("lookup('file', 'b.txt')", base) == "only in playbook dir"
    assert evaluate("lookup('file', 'a.txt')", dict(base, role_path=str(role))) == "in role"
    absolute = str(project / "b.txt")
    assert evaluate(f"lookup('file', {absolute!r})", {}) == "only in playbook dir"


def test_errors_strict_warn_ignore(project):
    base = {"playbook_dir": str(project)}
    with pytest.raises(TemplateError, match="could not locate file in lookup: nope"):
        render("{{ lookup('file', 'nope') }}", base)
    assert evaluate("lookup('file', 'nope', errors='warn')", base) is None
    assert evaluate("query('file', 'nope', errors='ignore')", base) == []
    with pytest.raises(TemplateError, match=r"lookup plugin \(nosuch\) not found"):
        render("{{ lookup('nosuch', 'x') }}", base)


def test_template_lookup_sees_variables_and_template_vars(project):
    (project / "templates" / "t.j2").write_text("{{ a }}-{{ b }}\n")
    got = evaluate(
        "lookup('template', 't.j2', template_vars={'b': 2})",
        {
            "playbook_dir": str(project),
            "a": 1,
        },
    )
    assert got == "1-2\n"


def test_pipe_runs_in_the_playbook_folder_and_fails_on_exit_code(project):
    base = {"playbook_dir": str(project)}
    assert evaluate("lookup('pipe', 'cat b.txt')", base) == "only in playbook dir"
    with pytest.raises(TemplateError, match=r"returned 3"):
        evaluate("lookup('pipe', 'exit 3')", base)


def test_password_is_created_once_and_then_read(project):
    base = {"playbook_dir": str(project)}
    first = evaluate("lookup('password', 'secrets/db length=16 chars=ascii_lowercase')", base)
    assert len(first) == 16 and first.isalpha() and first.islower()
    stored = project / "secrets" / "db"
    assert stored.read_text() == first + "\n"
    assert oct(os.stat(stored).st_mode & 0o777) == "0o600"
    assert evaluate("lookup('password', 'secrets/db length=16')", base) == first


def test_sequence_and_subelements_errors():
    with pytest.raises(TemplateError, match="count backwards"):
        evaluate("q('sequence', 'start=5 end=1 stride=1')", {})
    with pytest.raises(TemplateError, match="unrecognized sequence argument"):
        evaluate("q('sequence', 'end=3 bogus=1')", {})
    with pytest.raises(TemplateError, match="could not find 'k' key"):
        evaluate("q('subelements', [{'a': 1}], 'k')", {})
    with pytest.raises(TemplateError, match="template limit"):
        evaluate(f"q('sequence', 'end={MAX_TEMPLATE_OUTPUT * 2}')", {})


def test_a_file_bigger_than_the_limit_is_refused(project):
    (project / "files" / "big").write_text("x" * (MAX_TEMPLATE_OUTPUT + 1))
    with pytest.raises(TemplateError, match="template limit"):
        evaluate("lookup('file', 'big')", {"playbook_dir": str(project)})


def test_varnames_and_vars_see_the_play_variables():
    variables = {"app_a": 1, "app_b": "{{ app_a + 1 }}", "other": 0}

    lazy = LazyVars(variables)
    assert evaluate("q('varnames', '^app_') | sort", lazy) == ["app_a", "app_b"]
    assert evaluate("lookup('vars', 'app_b')", lazy) == 2
    with pytest.raises(TemplateError, match="No variable found with this name: nope"):
        evaluate("lookup('vars', 'nope')", lazy)


def test_lookups_never_run_at_load_time(tmp_path):
    from runner.templating import check_constant

    marker = tmp_path / "ran"
    check_constant("{{ lookup('pipe', 'touch " + str(marker) + "') }}")
    check_constant("{{ q('password', '" + str(tmp_path / "pw") + "') }}")
    assert not marker.exists() and not (tmp_path / "pw").exists()


def test_a_command_printing_without_end_is_stopped_at_the_limit(project):
    with pytest.raises(TemplateError, match="template limit"):
        evaluate("lookup('pipe', 'yes')", {"playbook_dir": str(project)})
