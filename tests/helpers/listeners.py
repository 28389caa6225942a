"""Which TCP sockets a process tree listens on, and which of them another machine could reach.

Read from /proc, not from ``ss`` (not installed everywhere): a process's socket inodes from
/proc/<pid>/fd, the listening sockets of *its* network namespace from /proc/<pid>/net/tcp and tcp6.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from figvault.ingest import cpu_limited

LISTEN = "0A"  # the TCP state column of /proc/net/tcp


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the product's walk, ``cpu_limited.descendants``)."""
    return [pid, *cpu_limited.descendants(pid)]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _address(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp writes an address as 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def _loopback_only(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _interfaces(pid: int) -> list[str]:
    """The network interfaces of ``pid``'s namespace (/proc/<pid>/net/dev: two header lines)."""
    lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines]


@dataclass(frozen=True)
class Listener:
    pid: int
    command: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    only_lo: bool  # its namespace has no interface but ``lo``

    @property
    def reachable_from_outside(self) -> bool:
        """Bound to an address that is not loopback in a namespace with a real interface (a wildcard
        bind in a namespace with only ``lo`` is loopback only)."""
        return not (self.only_lo or _loopback_only(self.address))

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command}) listens on {self.address} port {self.port}"


def listening_sockets(pids: list[int]) -> list[Listener]:
    """The TCP sockets of ``pids`` in the LISTEN state."""
    found = []
    for pid in pids:
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        try:
            only_lo = _interfaces(pid) == ["lo"]
            tables = [Path(f"/proc/{pid}/net/{name}").read_text() for name in ("tcp", "tcp6")]
            command = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:  # the process ended meanwhile
            continue
        for line in (row for table in tables for row in table.splitlines()[1:]):
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and inode in inodes:
                hex_addr, hex_port = local.split(":")
                found.append(Listener(pid, command, _address(hex_addr), int(hex_port, 16), only_lo))
    return found
