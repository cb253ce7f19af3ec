"""The Landlock rules the worker puts on itself at the ``landlock`` level, before any student
code runs (through the landlockpy binding, pure Python, imported only here).

Handled: every file-system right the kernel knows, TCP bind and connect (ABI >= 4), UDP where
the kernel can refuse it, and the signal and abstract-socket scopes (ABI >= 6). Allowed:
reading files and listing folders below each of `readable`, running programs too below
each of `runnable` (the runtime), listing the folders of `listable` (the way to them),
everything but running programs below each of `writable`, reading and writing /dev/null.
Denied: everything else, and any connection. The rules hold for this process and every
process it starts (a program run from the runtime is just as confined).

This module imports only the standard library (and landlockpy when called): the worker loads it.
"""

from __future__ import annotations

import os


def restrict(readable: list[str], writable: list[str], listable: list[str] = (), runnable: list[str] = ()) -> None:
    """Apply the rules to the calling process (irreversible). `listable` folders may be
    listed (their files are readable only where another rule says so)."""
    from landlockpy import AccessFS, AccessNet, Ruleset, Scope

    network = AccessNet.BIND_TCP | AccessNet.CONNECT_TCP | AccessNet.BIND_UDP | AccessNet.CONNECT_SEND_UDP
    with Ruleset(handled_net=network, scoped=Scope.ABSTRACT_UNIX_SOCKET | Scope.SIGNAL) as rules:
        read = AccessFS.READ_FILE | AccessFS.READ_DIR
        write = rules.handled_fs & ~AccessFS.EXECUTE
        for paths, rights in ((readable, read), (runnable, read | AccessFS.EXECUTE)):
            for path in paths:
                if os.path.exists(path):
                    files_only = AccessFS.READ_FILE | AccessFS.EXECUTE
                    rules.allow_path(path, rights if os.path.isdir(path) else rights & files_only)
        for path in listable:
            if os.path.isdir(path):
                rules.allow_path(path, AccessFS.READ_DIR)
        for path in writable:
            rules.allow_path(path, write)
        if os.path.exists(os.devnull):
            rules.allow_path(os.devnull, AccessFS.READ_FILE | AccessFS.WRITE_FILE)
        rules.restrict()
