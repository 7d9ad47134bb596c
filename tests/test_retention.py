"""Session retention: the oldest sessions go first, by age, count and size, with their files."""

import os
import subprocess
import sys
import time
from types import SimpleNamespace

from empathy.host.session import retention, store
from empathy.host.session.store import Recorder
from empathy.wire import SeatSample


def _session(folder, n_samples, age_days=0.0, report=True):
    rec = Recorder(folder, {"story": "t"})
    rec("samples", [SeatSample(1, 1, i, i, 70.0, 40.0, 4.0, 0.1, 0.0, 6, 0.5, 0)
                    for i in range(n_samples)])
    rec.close()
    if report:
        rec.path.with_name(f"{rec.id}.html").write_text("<html></html>")
    t = time.time() - age_days * 86400
    for f in store.files_of(rec.path):
        if f.exists():
            os.utime(f, (t, t))
    return rec.path


def _limits(days=0.0, sessions=0, mb=0.0):
    return SimpleNamespace(retention_days=days, keep_sessions=sessions, max_mb=mb)


def test_age_count_and_size_limits_delete_the_oldest_first(tmp_path):
    old = [_session(tmp_path, 10, age_days=40 - i) for i in range(3)]  # 40, 39, 38 days old
    new = [_session(tmp_path, 10, age_days=5 - i) for i in range(4)]  # 5..2 days old
    gone = retention.retain(tmp_path, _limits(days=30))
    assert gone == [store.session_id(p) for p in old]
    assert not any(f.exists() for p in old for f in store.files_of(p))  # reports too
    assert retention.retain(tmp_path, _limits(sessions=3), keep=new[-1]) == \
        [store.session_id(new[0])]
    big = _session(tmp_path, 20000)
    size = retention.size_of(big)
    left = store.sessions(tmp_path)
    budget = (size + sum(retention.size_of(p) for p in left if p != big)) / 1e6 - 0.001
    gone = retention.retain(tmp_path, _limits(mb=budget), keep=big)
    assert gone == [store.session_id(new[1])] and big.exists()  # the one just closed stays
    assert retention.retain(tmp_path, _limits()) == []  # no limits: nothing deleted


def test_session_purge_deletes_a_kiosk_visits_report_with_it(tmp_path):
    p = _session(tmp_path, 5)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "session", "purge",
                        store.session_id(p), "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not any(tmp_path.iterdir())
