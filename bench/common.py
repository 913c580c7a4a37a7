"""Helpers shared by the benchmarks in bench/: timing, peak memory, machine facts, tables.

Only the standard library (plus lxml for its version), so any benchmark can import it.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
import timeit
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
PADDING = 20 * MiB  # bytes added to the PDF attachment for the large package


@dataclass(frozen=True)
class Timing:
    best: float  # seconds per operation, the minimum over rounds
    median: float  # seconds per operation, the median over rounds (shows how noisy the run was)
    number: int  # operations per round
    rounds: int

    @property
    def best_us(self) -> float:
        return self.best * 1e6


def time_op(operation: Callable[[], object], rounds: int = 7, number: int | None = None) -> Timing:
    """Best-of-``rounds`` seconds per call.

    The minimum is the least disturbed estimate (noise only ever adds time); the median is kept
    to show the spread. The garbage collector stays on: the service runs with it, and parsing
    allocates many objects, so switching it off would flatter the slower paths.
    """
    operation()  # warm-up: lazy imports, compiled schemas, regex caches
    timer = timeit.Timer(operation, setup=gc.enable)
    if number is None:
        number, _ = timer.autorange()  # enough calls for a round to take >= 0.2 s
    per_call = [total / number for total in timer.repeat(rounds, number)]
    return Timing(min(per_call), statistics.median(per_call), number, rounds)


# ---- peak memory (Linux) ---------------------------------------------------------------


def peak_rss_kib() -> int:
    """The process's peak resident set size so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kib() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def reset_peak_rss() -> bool:
    """Set the peak-RSS mark to the current RSS (Linux >= 4.0), so a following ru_maxrss delta
    measures only what comes next, not a transient peak from preparing the input. Returns
    False where that is not possible; the delta is then a lower bound."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_child(argv: Sequence[str], timeout: float = 120) -> dict:
    """Run ``python argv...`` in a fresh interpreter and return the JSON it prints last.

    A fresh process per memory measurement: ru_maxrss only ever grows, so measurements that
    share a process would hide one another.
    """
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {argv} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- server processes (Linux /proc) ----------------------------------------------------


def set_password(system_id: str, password: str, data_dir: Path, config: Path | None = None) -> None:
    """Register a caller's password as an operator does (``python -m connector credentials set``)."""
    subprocess.run(
        [sys.executable, "-m", "connector", "credentials", "set", system_id, "--password-stdin"]
        + ["--data-dir", str(data_dir)]
        + (["--config", str(config)] if config else []),
        input=password + "\n",
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        capture_output=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60, alive: Callable[[], bool] = lambda: True) -> None:
    """Until ``url`` answers at all (any HTTP status); ``alive`` false stops early (the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout:g} s")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its living descendants (a server that forks workers is measured as a whole)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # ended meanwhile
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (utime + stime of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak RSS since start or since ``reset_peak_of``) in KiB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status) if k in ("VmRSS", "VmHWM")}


def reset_peak_of(pid: int) -> bool:
    """Set another process's peak-RSS mark (VmHWM) to its current RSS; False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ---- reporting -------------------------------------------------------------------------


def machine() -> dict[str, str]:
    from lxml import etree

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "nproc": f"{usable} (of {os.cpu_count()} CPUs)",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "lxml": f"{'.'.join(map(str, etree.LXML_VERSION))} (libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))})",
        "OS": f"{platform.system()} {platform.release()} {platform.machine()}",
        "load average at start": load,  # > nproc means the numbers shared the CPU with other work
    }


def profile_location(filename: str, line: int, function: str, root: Path) -> str:
    """A cProfile entry's place, short: package/module for dependencies, the path below ``root``
    for the project's own code, the bare name for C functions."""
    if filename == "~":  # a C function
        return function
    parts = Path(filename).parts
    if "site-packages" in parts:  # a dependency: package/module is enough
        return f"{'/'.join(parts[parts.index('site-packages') + 1 :])}:{line}({function})"
    try:
        return f"{Path(filename).relative_to(root)}:{line}({function})"
    except ValueError:
        return f"{Path(filename).name}:{line}({function})"  # the standard library


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """``align``: one character per column, 'l' or 'r' (default: first left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The same table for a terminal."""
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        out.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
