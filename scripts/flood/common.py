"""What the flood stages share (Python 3.9+, standard library only): reading numbers from the
environment, what /proc says about the listo process (alive, CPU, RSS, fds, the client ports of
the connections it holds), the open-files limit of this client, and the report tables.
"""

from __future__ import annotations

import os
import resource
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")


def env_num(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


def log(msg: str) -> None:
    print(f"flood: {msg}", flush=True)


def raise_nofile(needed: int) -> int:
    """Raises this process's soft fd limit (and the hard one if root and needed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return needed
        except (ValueError, OSError):
            pass
    target = needed if hard == resource.RLIM_INFINITY else min(max(soft, needed), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft


class Listo:
    """What /proc says about the listo process."""

    def __init__(self, pid: int, port: int):
        self.pid = pid
        self.port = port

    def alive(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state not in ("Z", "X")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False

    def cpu_seconds(self) -> float | None:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return None
        # After "(comm)": state is field 3, utime field 14, stime field 15 (1-based).
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def backlog(self) -> int:
        """The listening socket's accept backlog (ss's Send-Q); 128 if ss cannot say."""
        try:
            out = subprocess.run(["ss", "-Hltn", f"sport = :{self.port}"], capture_output=True, text=True,
                                 timeout=5).stdout.split()
            return int(out[2])
        except (OSError, subprocess.SubprocessError, IndexError, ValueError):
            return 128

    def fd_count(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except FileNotFoundError:
            return 0

    def rss_kb(self) -> int | None:
        """Resident memory (VmRSS in /proc/<pid>/status), in KiB."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            return None
        return None

    def client_ports(self) -> set[int]:
        """Client-side ports of the TCP connections listo holds open (accepted sockets)."""
        return set(self.held_sockets())

    def held_sockets(self) -> dict[int, int]:
        """The TCP connections listo holds open (accepted sockets): client-side port -> bytes
        received and not yet read by listo (rx_queue in /proc/net/tcp)."""
        inodes = set()
        fd_dir = f"/proc/{self.pid}/fd"
        try:
            names = os.listdir(fd_dir)
        except FileNotFoundError:
            return {}
        for name in names:
            try:
                target = os.readlink(f"{fd_dir}/{name}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        held: dict[int, int] = {}
        for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table_path) as f:
                    next(f)
                    for line in f:
                        parts = line.split()
                        if len(parts) < 10 or parts[9] not in inodes:
                            continue
                        local_port = int(parts[1].rsplit(":", 1)[1], 16)
                        remote_port = int(parts[2].rsplit(":", 1)[1], 16)
                        if local_port == self.port and remote_port != 0:
                            held[remote_port] = int(parts[4].split(":")[1], 16)
            except FileNotFoundError:
                continue
        return held


class Report:
    """The checks of one stage: a table of figures and verdicts, and the failures to list."""

    def __init__(self, stage: str):
        self.stage = stage
        self.rows: list[tuple[str, str, str, str]] = [("what", "figure", "target", "verdict")]
        self.passed: list[str] = []
        self.failures: list[str] = []

    def info(self, what: str, figure: str, target: str = "") -> None:
        self.rows.append((what, figure, target, ""))

    def check(self, what: str, figure: str, target: str, ok: bool, why: str = "") -> bool:
        self.rows.append((what, figure, target, "ok" if ok else "FAIL"))
        if ok:
            self.passed.append(what)
        else:
            self.failures.append(f"{self.stage}: {what}: {figure} (target {target}){' — ' + why if why else ''}")
        return ok

    def show(self, title: str) -> None:
        print(flush=True)
        log(f"{self.stage}: {title}")
        table(self.rows)


def fmt(x: float | None, unit: str = " s") -> str:
    return "-" if x is None else f"{x:.1f}{unit}"


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f} ms"


def table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)), flush=True)
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths), flush=True)

