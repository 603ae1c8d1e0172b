# runner: two commands on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOSTS  ?= 20

.PHONY: demo test venv test-deps sshd lint bench bench-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed
test-deps: $(VENV)/.test-installed

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

demo: venv sshd
	$(PY) -m tests.fleet demo --hosts $(HOSTS) $(if $(wildcard playbooks/rolling_deploy.yml),--playbook playbooks/rolling_deploy.yml,)

test: test-deps sshd
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: test-deps
	$(VENV)/bin/ruff check runner tests bench
	$(VENV)/bin/ruff format --check runner tests bench

bench: venv sshd
	$(PY) bench/adhoc.py

clean:
	rm -rf $(VENV) .venv-bench build *.egg-info .pytest_cache
