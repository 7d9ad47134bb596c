"""Red team on the sixteenth pass's seat heart window (edge/heart_window.py through
SeatFeatures, as the runtime feeds it): a strap's stamps set back, a strap's bigeminy and
trigeminy (timing only), a perfect strap (the annotation's RR) on tuning records, and
MIT-BIH 106's ECG (bigeminy) through a seat in 0.1 s Waveform chunks; HR against the
annotation's over the seat's HR window, RMSSD against its NN RMSSD over the HRV window."""

import numpy as np
import pytest

from empathy.bench.seat_hrv import reference_rmssd, seat_stream, T0_US
from empathy.edge.features import SeatFeatures
from empathy.edge.heart_corpus import annotated_beats, beat_labels, record_data
from empathy.edge.latency import HR_WINDOW_S
from empathy.sensors.base import Beat
from empathy.wire import Flag
from corpus_records import need


def sinus(n: int = 400, seed: int = 1) -> np.ndarray:
    """RR (ms) at 75 bpm with a breathing swing and jitter (RMSSD ~21 ms)."""
    rng = np.random.default_rng(seed)
    return 800 + 20 * np.sin(np.arange(n) * 2 * np.pi / 4.5) + rng.normal(0, 8, n)


def strap(rr_ms, jump_s: float = 0.0, jump_at_s: float = 1e9, seat=None):
    """Yields (seconds into the series, estimate) every other beat from a strap's RR; its
    stamps step by jump_s once jump_at_s has passed. `seat`: a SeatFeatures to feed."""
    f, t, off = seat or SeatFeatures(baseline_s=10), T0_US, 0
    for k, rr in enumerate(rr_ms):
        t += int(round(rr * 1000))
        if (t - T0_US) / 1e6 > jump_at_s:
            off = int(jump_s * 1e6)
        f.add(Beat(t + off, float(rr)))
        if k % 2 == 0:
            yield (t - T0_US) / 1e6, f.estimate(t + off)


def annotation(name: str):
    rec = need(name)
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    return ann - ann[0], beat_labels(rec, len(x))  # (strap() starts at the first beat)


def test_a_strap_whose_clock_is_set_back_keeps_its_heart_rate():
    """A strap's stamps stepping back before its first one (a source's clock set back
    20 s into a show) raised ZeroDivisionError in every estimate (HeartWindow.quality:
    the window's span since the source began was 0); a step back that left them after it
    kept the old intervals in a window pruned in time order. Now what the window holds moves
    onto the new clock (HeartWindow.shift)."""
    got = strap(sinus(), jump_s=-60.0, jump_at_s=20.0)
    late = [e for s, e in got if s > 60.0]
    assert all(e["flags"] & Flag.HR_OK for e in late)
    assert all(abs(e["hr_bpm"] - 75.0) < 5.0 for e in late)


@pytest.mark.parametrize("early", [0.6, 0.7, 0.8, 0.85])
def test_a_strap_s_bigeminy_gives_its_beat_rate(early):
    """Every other beat `early` of the normal interval, then a compensatory pause: the
    heart beats at 75 bpm. The RR corrector calls each pause a missed beat and splits it,
    its median (of the intervals it split) falls, and it splits the early intervals too:
    the seat sent HR_OK with 110 (0.7), 146 (0.8) and 138 bpm (0.85, median). Now the beats
    seen give HR where the corrected intervals say over SPLIT_HR_MAX times their rate."""
    rr = sinus()
    rr[0::2] *= early
    rr[1::2] *= 2 - early
    hr = [e["hr_bpm"] for s, e in strap(rr) if s > 40.0 and e["flags"] & Flag.HR_OK]
    assert hr and max(abs(h - 75.0) for h in hr) < 10.0, (min(hr), max(hr))


def test_mitdb_106_s_bigeminy_through_a_seat_keeps_its_heart_rate():
    """MIT-BIH 106 (tuning), first 3 min: PVCs in bigeminy. The seat's HR was 25.6 bpm over
    the annotation's (median of its HR_OK estimates), 104 of 145 over 10 bpm off; now 3,
    median |error| 3.0 bpm."""
    rec = need("mitdb-106")
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    err = []
    for now, e, _ in seat_stream(x, fs, 1.0):
        s = (now - T0_US) / 1e6
        a = ann[(ann >= s - HR_WINDOW_S) & (ann <= s)]
        if s >= 30.0 and e["flags"] & Flag.HR_OK and len(a) > 2:
            err.append(e["hr_bpm"] - 60.0 / np.mean(np.diff(a)))
    err = np.abs(err)
    assert len(err) >= 120 and np.median(err) < 5.0 and np.mean(err > 10.0) < 0.05, (
        len(err), np.median(err), int(np.sum(err > 10.0)))


def test_a_strap_s_trigeminy_sends_no_hrv_of_its_pvcs():
    """Every third beat 0.85 early with a compensatory pause. NN intervals (between two
    normal beats) hold the sinus RMSSD (~21 ms): HRV_OK only with that, or none. A strap
    gives timing only, and its PVCs are neither ectopic_beats' early beats (EARLY 0.8) nor
    its soft ones (those need the ECG's shape): HRV_OK was sent in 0.92 of the estimates
    with an RMSSD of 167 ms (median). Now their intervals are no NN (`doubtful_beats`)."""
    rr = sinus()
    for i in range(0, len(rr) - 1, 3):
        rr[i] *= 0.85
        rr[i + 1] *= 1.15
    sent = [e["rmssd_ms"] for s, e in strap(rr) if s > 40.0 and e["flags"] & Flag.HRV_OK]
    assert not sent or np.median(sent) < 35.0, np.median(sent)


def test_a_perfect_strap_on_mitdb_106_gives_its_heart_rate():
    """MIT-BIH 106's annotated beats (tuning) as a strap's RR: the seat's HR was 23.2 bpm
    off the annotation's (median |error|), 59 of 98 HR_OK estimates over 10 bpm; then 2.7
    and 1. (200: 7.3 and 30 -> 4.2 and 11; 203: 5 -> 0 over 10 bpm; sinus unchanged.) It
    failed (strict xfail) while a seat's HR was its 20 %-rule NN intervals' rate: 6 of 97
    over 10 bpm, all low, in windows with PVC couplets (the rule left out a couplet's
    intervals and its pause); HR from every corrected interval (heart_window.hr_bpm): 3 of
    99, median 3.4 (200 0 of 106, 203 0 of 25, 119 0 of 82)."""
    ann, _ = annotation("mitdb-106")
    err = []
    for s, e in strap(np.diff(ann) * 1000.0):
        a = ann[(ann >= s - HR_WINDOW_S) & (ann <= s)]
        if s >= 30.0 and e["flags"] & Flag.HR_OK:
            err.append(abs(e["hr_bpm"] - 60.0 / np.mean(np.diff(a))))
    assert len(err) >= 90 and np.median(err) < 5.0 and np.sum(np.array(err) > 10.0) <= 3, (
        np.median(err), int(np.sum(np.array(err) > 10.0)))


@pytest.mark.parametrize("name", [
    "qtdb-sel15814",  # HRV_OK in 58 of 86 at median |error| 0.84 until the RR corrector
    # judged on its input (wip/rrsplit): its PVCs, 0.86-0.94 early, are ectopic pairs there
    # (67 of 86 at 0.06; 34 of 86 at 0.05 since `doubtful_beats`)
    "qtdb-sele0114"])  # HRV_OK in 5 of 54 estimates with an RMSSD of 294 ms, median |error|
    # 4.2, until `doubtful_beats`: its APCs come barely early (0.80-0.91, pause 1.16-1.27)
def test_a_perfect_strap_s_rmssd_leaves_out_its_ectopic_beats(name):
    """The annotation's beats (tuning) as a strap's RR: HRV_OK with the annotation's NN
    RMSSD over the seat's HRV window (median |error| <= 0.25), or no HRV_OK."""
    ann, lab = annotation(name)
    seat, err = SeatFeatures(baseline_s=10), []
    for s, e in strap(np.diff(ann) * 1000.0, seat=seat):
        if s < 30.0 or not e["flags"] & Flag.HRV_OK:
            continue
        iv, _ = seat.strap.hrv_window(T0_US + int(s * 1e6), 30.0)
        t0 = iv.t_s[0] - iv.rr_ms[0] / 1000.0 - T0_US / 1e6 - 0.05
        ref = reference_rmssd(ann, lab, t0, iv.t_s[-1] - T0_US / 1e6 + 0.05)
        err.append(abs(e["rmssd_ms"] - ref) / ref)
    assert not err or np.median(err) <= 0.25, (len(err), np.median(err))


def _hr_ok_share(name: str, empty_early_us: int | None) -> float:
    """MIT-BIH `name`'s ECG through a seat in 0.1 s chunks, one estimate a second after
    30 s; with `empty_early_us`, an empty chunk stamped that far before each chunk's end
    follows every chunk (a driver that flushes with no samples, its stamp its own)."""
    from empathy.sensors.base import Waveform

    x, fs = record_data(need(name))
    f, n, ok = SeatFeatures(baseline_s=10), int(round(0.1 * fs)), []
    for k, i in enumerate(range(0, len(x), n)):
        f.add(Waveform(T0_US + int(i * 1e6 / fs), "ecg", fs, x[i:i + n]))
        now = T0_US + int((i + n) * 1e6 / fs)
        if empty_early_us is not None:
            f.add(Waveform(now - empty_early_us, "ecg", fs, x[:0]))
        if (k + 1) % 10 == 0 and (now - T0_US) / 1e6 >= 30.0:
            ok.append(bool(f.estimate(now)["flags"] & Flag.HR_OK))
    return float(np.mean(ok))


def test_an_empty_chunk_s_stamp_does_not_move_the_stream_s_clock():
    """An empty chunk carries no sample, so its stamp says nothing of when samples were
    taken; the sample clock followed it like a full chunk's, and an empty chunk stamped
    0.1 s early after every chunk cut MIT-BIH 100's HR_OK from 1.00 to 0.48."""
    assert _hr_ok_share("mitdb-100", 100_000) == _hr_ok_share("mitdb-100", None) == 1.0


def test_a_show_long_strap_keeps_no_growing_list_of_artefacts():
    """The RR corrector lists every artefact it mends for the batch summary; a seat's
    corrector runs all show, and its list grew without end (477 in 6 h of sinus rhythm)."""
    seat = SeatFeatures(baseline_s=10)
    rr = sinus(4000)
    rr[::25] *= 0.6  # an early beat every 25: mended, and listed
    for _ in strap(rr, seat=seat):
        pass
    assert len(seat.strap.found) < 100 and len(seat.strap.corrector.found) < 10
