"""CPU-seconds per test, opt-in: EMPATHY_TEST_CPU_LOG=PATH scripts/test.sh appends a line
per test (and one per pytest process for its start and collection) to PATH; summarise with
`python tests/cpu_log.py PATH`.

Two counts. getrusage: the pytest process's own CPU plus that of the children it has waited
for (RUSAGE_CHILDREN): a child still running, or a grandchild its parent never waited for
(a daemon, an orphan reparented to init), is not in it. Where the cgroup-v1 cpuacct
hierarchy is writable (root on the dev machine), each pytest process is moved into a cgroup
of its own, which every process it starts inherits, waited for or not: that count sees
everything, and CPU of a process that outlives its test lands on the next test."""

import json
import os
import resource
import sys
import time
from collections import defaultdict

import pytest

CPUACCT = "/sys/fs/cgroup/cpuacct"


def _rusage():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


class CpuLog:
    def __init__(self, path):
        self.path = path
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.group = None
        try:
            group = os.path.join(CPUACCT, f"empathy-test-{os.getpid()}")
            os.makedirs(group, exist_ok=True)
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            self.group = group
        except OSError:
            pass  # rusage only
        self.started = False

    def _group_cpu(self):
        if self.group is None:
            return None
        with open(os.path.join(self.group, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9

    def _write(self, **record):
        line = json.dumps({"worker": self.worker, **record}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())  # one write: lines of parallel workers do not mix
        finally:
            os.close(fd)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        own0, kids0 = _rusage()
        if not self.started:  # the process's start and collection, before any test
            self.started = True
            self._write(file="(start+collect)", test="", own=own0, kids=kids0, group=None,
                        wall=0.0)
        group0, wall0 = self._group_cpu(), time.monotonic()
        yield
        own1, kids1 = _rusage()
        group1 = self._group_cpu()
        self._write(file=item.nodeid.split("::")[0], test=item.nodeid, own=own1 - own0,
                    kids=kids1 - kids0, wall=time.monotonic() - wall0,
                    group=None if group0 is None else group1 - group0)

    def pytest_unconfigure(self, config):
        if self.group is None:
            return
        try:
            with open(os.path.join(CPUACCT, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            os.rmdir(self.group)  # fails while a process a test started still runs: say so
        except OSError as e:
            self._write(file="(lingering)", test=str(e), own=0.0, kids=0.0, group=None,
                        wall=0.0)


def summarise(path, top=40):
    files = defaultdict(lambda: {"own": 0.0, "kids": 0.0, "group": 0.0, "wall": 0.0, "n": 0})
    has_group = True
    last = {}  # a test logged twice (a pass run again): its last run counts
    for i, line in enumerate(open(path)):
        r = json.loads(line)
        last[r["test"] if r["test"] and r["file"][0] != "(" else i] = r
    for r in last.values():
        f = files[r["file"]]
        for k in ("own", "kids", "wall"):
            f[k] += r[k]
        if r["group"] is None and r["file"] != "(start+collect)":
            has_group = False
        f["group"] += r["group"] if r["group"] is not None else r["own"] + r["kids"]
        f["n"] += 1
    key = "group" if has_group else "rusage"
    total = sum(f["group"] for f in files.values())
    print(f"{'CPU-s':>7} {'own':>7} {'waited':>7} {'wall':>7} {'tests':>5}  file  "
          f"(CPU-s: {'cgroup, all descendants' if has_group else 'own + waited children'})")
    for name, f in sorted(files.items(), key=lambda kv: -kv[1]["group"])[:top]:
        print(f"{f['group']:7.1f} {f['own']:7.1f} {f['kids']:7.1f} {f['wall']:7.1f} "
              f"{f['n']:5d}  {name}")
    print(f"{total:7.1f} in all, {len(files)} files ({key})")


if __name__ == "__main__":
    summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
