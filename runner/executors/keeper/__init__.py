"""The connection keeper: one background process per user that holds the authenticated
SSH connections (bastions included) of recent runs and serves later runs over a Unix
socket, so the second command on a fleet pays no handshake.

- :mod:`.paths`: where its socket lives (a 0700 folder of the user's runtime directory).
- :mod:`.client`: the CLI's side, an Executor that sends the Run (and its secrets) over
  the socket and reads the run's events back; it never imports paramiko.
- :mod:`.server`: the keeper process (``runner _keeper``, started by the first run that
  needs it, ended by its idle time or ``runner keeper stop``).
- :mod:`.pool`: the connections it holds between runs.

The records on the socket are the JSON Lines of runner.executors.protocol (version 1):

``run`` (client -> keeper, first): the Run, its secrets, the client's working directory,
environment (without secret variables) and umask. Then ``cancel`` (Ctrl-C) and
``answer`` (a passphrase the keeper asked for); closing the socket cancels as well.

``event`` (keeper -> client): the run's events as the renderers consume them; ``ask``
(a key passphrase is needed); ``log`` (a log line of the run, under ``-v``); then one of ``done``, ``error`` (an input error of the
run, with its message and hint), ``busy`` (another run is being served: the client runs
this one itself) or ``unusable`` (the keeper cannot serve it: the client runs it itself).

``status`` / ``stop`` (client -> keeper, alone): what it holds / end it.

Every peer's uid is checked (SO_PEERCRED) on both ends: the keeper serves only its own
user, and a client talks only to a keeper of its own user.
"""
