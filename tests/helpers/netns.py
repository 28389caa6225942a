"""A network namespace with only loopback, for servers that cannot be told to listen on 127.0.0.1, and a
small TCP forwarder into it.

Why: the Milvus 2.3.5 standalone has no listen-address setting (its gRPC servers bind ``:port``, its
config's ``ip:`` is only the address it advertises), so started plainly it listens on every interface.
Started in a namespace of its own, "every interface" is that namespace's loopback alone; the tests reach
its proxy port through :class:`Forwarder`, which listens on 127.0.0.1 here.

Linux only. ``unshare(CLONE_NEWNET)`` and ``setns`` act on the calling *thread* (each thread has its own
namespaces), and a child forked from a thread starts in that thread's namespace, so the main thread of
the test process never leaves its own. Both need CAP_SYS_ADMIN (root); without it ``LoopbackNamespace``
raises :class:`NamespaceUnavailable`.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
CHUNK = 1 << 16

T = TypeVar("T")


class NamespaceUnavailable(RuntimeError):
    """This process may not make or enter a namespace, network or mount (not root, seccomp, no kernel
    support)."""


def libc_call(name: str, *args: int | bytes | None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise NamespaceUnavailable(f"{name}: {os.strerror(err)}")


def call_in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` on a fresh thread that ends with it: a namespace the thread enters or makes (network,
    mount) dies with the thread, and the caller's thread never leaves its own."""
    result: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)

    thread = threading.Thread(target=body, name="namespaced", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _bring_loopback_up() -> None:
    """``ip link set lo up`` in the calling thread's namespace (a new one has ``lo`` down), by ioctl: no
    dependency on iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


class LoopbackNamespace:
    """A new network namespace whose only interface is ``lo`` (up). :meth:`run` calls a function on a
    thread inside it: sockets it opens and processes it starts belong to the namespace. The namespace
    lives while :attr:`fd` is open or a process is in it."""

    def __init__(self) -> None:
        self.fd: int = call_in_thread(self._create)

    @staticmethod
    def _create() -> int:
        libc_call("unshare", CLONE_NEWNET)
        _bring_loopback_up()
        return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

    def enter(self) -> None:
        """Move the calling thread (only) into the namespace."""
        libc_call("setns", self.fd, CLONE_NEWNET)

    def run(self, fn: Callable[[], T]) -> T:
        def inside() -> T:
            self.enter()
            return fn()

        return call_in_thread(inside)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class Forwarder:
    """Listens on 127.0.0.1 (a free port) in this process's namespace and joins each connection to
    ``127.0.0.1:target_port`` inside ``namespace``. gRPC keeps HTTP/2 connections open for long, so every
    connection gets two blocking pumps (no polling); an end-of-stream is passed on as a half-close, and
    both sockets close once both directions have ended."""

    def __init__(self, namespace: LoopbackNamespace, target_port: int) -> None:
        self.namespace = namespace
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))  # created here: bound in our namespace
        self.port: int = self.listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, name="netns-forwarder", daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        # This thread lives in the server's namespace: the inner sockets it opens are made there, while
        # the listener, made before, stays in ours.
        self.namespace.enter()
        while True:
            try:
                outer, _ = self.listener.accept()
            except OSError:  # the listener was shut down: stop
                return
            try:
                inner = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
                inner.settimeout(None)
            except OSError:
                outer.close()
                continue
            with self._lock:
                self._open.update((outer, inner))
            threading.Thread(target=self._join, args=(outer, inner), daemon=True).start()

    def _join(self, outer: socket.socket, inner: socket.socket) -> None:
        back = threading.Thread(target=self._pump, args=(inner, outer), daemon=True)
        back.start()
        self._pump(outer, inner)
        back.join()
        with self._lock:
            self._open.difference_update((outer, inner))
        outer.close()
        inner.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(CHUNK):
                dst.sendall(data)
        except OSError:  # reset by either side: end both directions so the other pump returns too
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Stop accepting (shutdown wakes the blocked accept) and end the open connections."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._acceptor.join(timeout=5)
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
