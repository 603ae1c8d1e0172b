# runner: two commands on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOSTS  ?= 20
# The suite runs as this many pytest processes side by side (tests/shards.py): most of it
# waits on sshd and ansible-playbook, not on the CPU.
TEST_SHARDS ?= 3

.PHONY: demo test venv test-deps sshd lint bench bench-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[cluster]'
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test,cluster]'
	touch $@

# Ansible collections for the tests that compare runner with Ansible's modules:
# ansible.posix (authorized_key, sysctl, mount; tests/posix_side.py) and community.general
# (the bridge's collection test, tests/test_ini_file_e2e.py). On PyPI they come only inside
# the whole `ansible` bundle, so its wheel is downloaded once without dependencies and only
# those two collections are unpacked into $(VENV)/ansible-collections. Test-only; GPL-3.0
# code that runner never imports or ships.
ANSIBLE_BUNDLE ?= 12.3.0
TEST_COLLECTIONS := ansible/posix community/general
$(VENV)/ansible-collections/.installed: $(VENV)/.test-installed
	$(PIP) download --quiet --no-deps ansible==$(ANSIBLE_BUNDLE) -d $(VENV)/wheels
	$(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  keep = tuple(f"ansible_collections/{c}/" for c in sys.argv[3:]); \
	  z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(keep)])' \
	  $(VENV)/wheels/ansible-$(ANSIBLE_BUNDLE)-py3-none-any.whl $(VENV)/ansible-collections \
	  $(TEST_COLLECTIONS)
	touch $@

venv: $(VENV)/.installed
test-deps: $(VENV)/.test-installed $(VENV)/ansible-collections/.installed

# OpenSSH's sshd for the local fleet: installed with apt when we are root, else explained.
sshd:
	@if command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing openssh-server (needed for the local test fleet)"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null; \
	else \
		echo "sshd is missing: run 'sudo apt-get install openssh-server' (tests that need it will skip)"; \
	fi
	@# sudo: for the privilege-escalation tests (a test user with a sudoers rule)
	@if command -v sudo >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing sudo (needed for the become tests)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null 2>&1 || \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null; }; \
	fi
	@# redis-server: the broker and result stream of the cluster tests (runner worker)
	@if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing redis-server (needed for the cluster tests)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 || \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }; \
	else \
		echo "redis-server is missing: run 'sudo apt-get install redis-server' (cluster tests will skip)"; \
	fi

demo: venv sshd
	$(PY) -m runner.testing.fleet demo --hosts $(HOSTS) $(if $(wildcard playbooks/rolling_deploy.yml),--playbook playbooks/rolling_deploy.yml,)

test: test-deps sshd
	$(PY) tests/shards.py $(TEST_SHARDS) -- $(PY) -m pytest -q $(PYTEST_ARGS)

lint: test-deps
	$(VENV)/bin/ruff check runner tests bench
	$(VENV)/bin/ruff format --check runner tests bench
	$(VENV)/bin/mypy

# The tools bench/fleet.py compares runner with, in their own venv: never in runner's deps.
# A package that cannot be installed is reported and shows as "not installed" in the bench.
BENCH_VENV := .venv-bench
BENCH_PKGS := parallel-ssh pyinfra fabric ansible-core mitogen
bench-deps: $(BENCH_VENV)/.installed
# BENCH_PKGS is read from this file: a tool added there is installed on the next bench-deps
$(BENCH_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	@for pkg in $(BENCH_PKGS); do \
		$(BENCH_VENV)/bin/python -m pip install --quiet $$pkg || \
		echo "bench-deps: could not install $$pkg; bench/fleet.py will list it as not installed"; \
	done
	touch $@

# runner against the gevent+paramiko floor and the other tools; writes bench/RESULTS.md.
# (bench/adhoc.py, runner against the floor alone, still runs on its own.)
bench: venv sshd bench-deps
	$(PY) bench/fleet.py --write
	$(PY) bench/marginal.py --write
	$(PY) bench/keeper.py --write

clean:
	rm -rf $(VENV) .venv-bench build *.egg-info .pytest_cache
