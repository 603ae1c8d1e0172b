#!/usr/bin/env python3
"""Example dynamic inventory: prints Ansible's inventory-script JSON for --list."""

import json
import sys

INVENTORY = {
    "web": {
        "hosts": ["web1.example.com", "web2.example.com"],
        "vars": {"http_port": 80},
        "children": ["canary"],
    },
    "canary": {"hosts": ["web1.example.com"]},
    "db": ["db1.example.com", "db2.example.com"],
    "all": {"vars": {"ansible_user": "deploy"}},
    "_meta": {
        "hostvars": {
            "web1.example.com": {"ansible_host": "10.0.0.11", "release": "beta"},
            "db1.example.com": {"ansible_port": 2200},
        }
    },
}

if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        json.dump(INVENTORY, sys.stdout)
    elif len(sys.argv) == 3 and sys.argv[1] == "--host":
        json.dump(INVENTORY["_meta"]["hostvars"].get(sys.argv[2], {}), sys.stdout)
    else:
        sys.exit("usage: dynamic.py --list | --host HOST")
