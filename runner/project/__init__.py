"""The project a command runs in: its ansible.cfg (found as Ansible finds it), the
``ANSIBLE_*`` and ``RUNNER_*`` variables, and the one precedence rule that turns them and
the command line into the run's settings (settings.py), each with where it came from.

    cfgfile.py   finding and parsing ansible.cfg, with the line of every value
    values.py    Ansible's value types: booleans, integers, paths, path lists
    table.py     the settings: their names in the file and the environment, defaults
    settings.py  the one precedence rule, each value with where it came from
    runconfig.py the RunConfig parts the settings decide
"""
