"""The heart corpus page's tables (edge/heart_validation.py writes the page): one row per
record beside the best peer, every detector on every record, and the sections for records
whose reference needs a word of its own (a consensus that cannot be right, a loose start,
the wrist records' ECG reference, the expert annotations beside the consensus, a finger
pulse recorded with the ECG). Every number comes from `heart_validation.score_record`."""

from __future__ import annotations

import numpy as np

from empathy.edge.beat_score import (GAP_X, MIN_RR_S, PULSE_LAG_S, TOL_S, Match,
                                     consensus_rows, in_spans, matched_ref, plausible_rate,
                                     reference, shown_rate)
from empathy.edge.heart_corpus import record_data
from empathy.edge.ppg_chance import chance_f1

# where a record's own description says its sensor was loose: the seconds from its start
LOOSE_S = {"heartpy-data2": 45.0}
TRACKED = "ours+track (experimental)"  # a row beside ours on the wrist records, never ours


def summary(results: list[dict]) -> list[str]:
    """One row per record: ours beside the best peer, and whether the goal is met, on the HR
    `signal hr` shows (the count-based HR beside it; each against its reference's own)."""
    lines = ["| record | reference | ref beats | F1 ours | best peer | F1 best peer | "
             "HR ref shown | HR shown ours | HR err shown | HR ref count | HR err count | "
             "F1 ≥ best, shown HR within 1.5 bpm |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    met = {"shown": 0, "count": 0}
    for r in results:
        rows = r["rows"]
        best = max((n for n in rows if n not in ("ours", TRACKED)), key=lambda n: rows[n][0].f1)
        m, hr_o, hr_r = rows["ours"]
        sh_o, sh_r = r["shown"]["ours"]
        f1_ok = m.f1 >= rows[best][0].f1
        shown = r.get("heartbeat", True)  # signal hr prints no HR where it finds no heart
        ok = f1_ok and shown and abs(sh_o - sh_r) <= 1.5
        met["shown"] += ok
        met["count"] += f1_ok and abs(hr_o - hr_r) <= 1.5
        ref = (f"expert annotation | {len(r['annotated'])}" if r["annotated"] is not None
               else f"consensus of {r['voters']} | {r['ref_beats']}")
        if r["spans"] is not None:
            ref = f"simultaneous ECG, trusted spans | {rows['ours'][0].tp + rows['ours'][0].fn}"
        said = (f"{sh_o:.1f} | {sh_o - sh_r:+.1f}" if shown else
                f"none: no heartbeat (quality {r['quality']:.2f}) | none")
        lines.append(f"| {r['rec'].name} | {ref} | {m.f1:.3f} | "
                     f"{best} | {rows[best][0].f1:.3f} | {sh_r:.1f} | {said} | "
                     f"{hr_r:.1f} | {hr_o - hr_r:+.1f} | "
                     f"{'yes' if ok else '**no**'} |")
    none = [r["rec"].name for r in results if not r.get("heartbeat", True)]
    return lines + ["", f"Goal met on {met['shown']} of {len(results)} records by the shown "
                    f"HR ({met['count']} of {len(results)} by the count-based HR)."] + (
        ["", f"`signal hr` finds no heartbeat in {', '.join(none)} (its quality under "
         "0.15) and prints no HR; the detail rows give the rate our beats there would "
         "show."] if none else [])


def detail(results: list[dict], groups: tuple = ()) -> list[str]:
    """Every detector on every record (Se, +P, F1, HR error both ways), then pooled over
    records, and over each (label, which records) of `groups` beside that (EC57 reports the
    Noise Stress Test apart from the arrhythmia database)."""
    names = ["ours"] + [TRACKED] * any(TRACKED in r["rows"] for r in results) + \
        list(results[0]["peers"])
    lines = ["| record | detector | Se | +P | F1 | HR count | HR err count | HR shown | "
             "HR err shown |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for n in names:
            if n == TRACKED and n not in r["rows"]:  # a record without an accelerometer
                continue
            if n not in r["rows"]:
                lines.append(f"| {r['rec'].name} | {n} | failed | | | | | | |")
                continue
            m, hr, hr_ref = r["rows"][n]
            sh, sh_ref = r["shown"][n]
            lines.append(f"| {r['rec'].name} | {n} | {m.se:.3f} | {m.ppv:.3f} | {m.f1:.3f} | "
                         f"{hr:.1f} | {hr - hr_ref:+.1f} | {sh:.1f} | {sh - sh_ref:+.1f} |")
    lines += _pooled(results, names, "pooled")
    for label, keep in groups:
        lines += _pooled([r for r in results if keep(r["rec"].name)], names, label)
    return lines


def _pooled(results: list[dict], names: list[str], label: str) -> list[str]:
    """Counts summed over the records, and the mean absolute HR errors, per detector."""
    lines = []
    for n in names:
        if n == TRACKED:  # scored on the wrist records only: not comparable pooled
            continue
        got = [(r["rows"][n], r["shown"][n]) for r in results if n in r["rows"]]
        if not got:
            lines.append(f"| **{label}** | {n} | failed on every record | | | | | | |")
            continue
        m = sum((g[0][0] for g in got), Match(0, 0, 0))
        err = np.mean([abs(hr - hr_ref) for (_, hr, hr_ref), _ in got])
        shown = np.mean([abs(sh - sh_ref) for _, (sh, sh_ref) in got])
        lines.append(f"| **{label}** | {n} | {m.se:.4f} | {m.ppv:.4f} | {m.f1:.4f} | | "
                     f"mean abs {err:.1f} | | mean abs {shown:.1f} |")
    return lines


def plausible_section(results: list[dict]) -> list[str]:
    """Where the PPG consensus itself cannot be right: two 'pulses' closer than MIN_RR_S,
    gaps over GAP_X median intervals; and the heart rates over the stretches without."""
    lines = ["## PPG: where the consensus cannot be right", "",
             "*Added after the consensus scores above were known; the verdicts above stand.* "
             f"Two consensus beats closer than {1000 * MIN_RR_S:.0f} ms (200 bpm) cannot both "
             f"be pulses at these rates, and an interval over {GAP_X:.0f} median intervals "
             "holds beats the peers missed; either moves the consensus's HR (60 / mean "
             "interval). Who made the short ones: the peers that voted for the beat of each "
             "short pair that fewer peers found. The last columns compare heart rates over the consensus's plausible "
             "stretches only (chosen from the consensus alone, `plausible_rate`); a peer "
             "against the other peers' consensus, as above. 'Ours missed': consensus beats "
             "ours has none within ±150 ms of, and how many of them are one of such a short "
             "pair.", "",
             f"| record | intervals < {1000 * MIN_RR_S:.0f} ms (voted by) | gaps | span kept | "
             "HR ref | HR err ours | HR err best peer | ours missed (in a short pair) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        b = r["beats"]
        ref = reference({k: v for k, v in b.items() if k != "ours"})
        iv = np.diff(ref)
        short = np.flatnonzero(iv < MIN_RR_S)
        who: dict[str, int] = {}
        for i in short:
            voters = [[n for n, v in b.items() if n != "ours" and v is not None and len(v)
                       and np.min(np.abs(v - t)) <= TOL_S] for t in ref[i:i + 2]]
            k = " + ".join(min(voters, key=len))
            who[k] = who.get(k, 0) + 1
        hr_ref, hr_ours, kept = plausible_rate(ref, b["ours"])
        errs = {n: (lambda h: h[1] - h[0])(plausible_rate(
            reference({k: v for k, v in b.items() if k != "ours"}, leave_out=n), v))
            for n, v in b.items() if n != "ours" and v is not None}
        best = min(errs, key=lambda n: abs(errs[n]))
        missed = ~matched_ref(ref, b["ours"])
        paired = np.zeros(len(ref), bool)
        paired[short] = paired[short + 1] = True
        lines.append(f"| {r['rec'].name} | {len(short)} ("
                     + (", ".join(f"{k}: {v}" for k, v in who.items()) or "none") + ") | "
                     f"{int(np.sum(iv > GAP_X * np.median(iv)))} | {100 * kept:.0f} % | "
                     f"{hr_ref:.1f} | {hr_ours - hr_ref:+.1f} | {best} {errs[best]:+.1f} | "
                     f"{int(missed.sum())} ({int((missed & paired).sum())}) |")
    return lines + [""] + _which_of_a_pair(results) + _after_loose(results)


def _which_of_a_pair(results: list[dict]) -> list[str]:
    """Whether a rule could tell which beat of a consensus pair closer than MIN_RR_S is no
    pulse: NeuroKit2's vote, the later one's height, runs of such pairs (issue 19's
    fourteenth pass looked for one before changing the reference)."""
    lines = []
    for r in results:
        x, fs = record_data(r["rec"])
        b = {k: v for k, v in r["beats"].items() if k != "ours"}
        ref = reference(b)
        short = np.flatnonzero(np.diff(ref) < MIN_RR_S)
        nk = b.get("NeuroKit2")
        if len(short) < 5 or nk is None or not len(nk):
            continue
        on = [np.min(np.abs(nk - ref[i])) <= TOL_S for i in range(len(ref))]
        first = sum(on[i] and not on[i + 1] for i in short)
        second = sum(on[i + 1] and not on[i] for i in short)
        lower = sum(x[int(round(ref[i + 1] * fs))] < x[int(round(ref[i] * fs))] for i in short)
        lines += [f"**{r['rec'].name}: which of a short pair is no pulse.** NeuroKit2 votes "
                  f"for the first beat of {first} of its {len(short)} pairs and for the "
                  f"second of {second}; the later beat is the lower in {lower}; "
                  f"{int(np.sum(np.diff(short) == 1))} pairs run on into the next. No one "
                  "rule seen here (the taller wave, NeuroKit2's vote) picks the "
                  "false beat on the waveform, so the consensus stands as it is and the HR "
                  "columns over its plausible stretches are the fairer comparison.", ""]
    return lines


def _after_loose(results: list[dict]) -> list[str]:
    """A record whose sensor its description calls loose at first (LOOSE_S), scored again
    from then on: the consensus over a stretch where it can be right."""
    lines = []
    for r in results:
        t0 = LOOSE_S.get(r["rec"].name)
        if t0 is None:
            continue
        x, fs = record_data(r["rec"])
        early = reference({n: v for n, v in r["beats"].items() if n != "ours"})
        early = early[early < t0]
        k = int(TOL_S * fs)  # a beat with no change in the raw signal within ±150 ms
        flat = sum(np.ptp(x[max(int(t * fs) - k, 0):int(t * fs) + k + 1]) == 0 for t in early)
        b = {n: v[v >= t0] for n, v in r["beats"].items() if v is not None}
        others = {n: v for n, v in b.items() if n != "ours"}
        rows = consensus_rows(others, b["ours"])
        shown = {n: (shown_rate(v, None, False), shown_rate(reference(
            others, leave_out="" if n == "ours" else n), None, False, truth=True))
            for n, v in b.items()}  # the goal's HR: as `signal hr` shows it
        err = {n: f"HR err {ph - pr:+.1f} counted, {shown[n][0] - shown[n][1]:+.1f} shown"
               for n, (pm, ph, pr) in rows.items()}
        (m, hr, hr_ref) = rows["ours"]
        peers = "; ".join(f"{n} F1 {pm.f1:.3f}, {err[n]}" for n, (pm, _, _) in rows.items()
                          if n != "ours")
        lines += [f"**{r['rec'].name} after its loose start.** Its description says the sensor "
                  f"was loose for the first {t0:.0f} s; the consensus has {len(early)} beats "
                  f"there, {flat} of them where the signal sits flat (no change within "
                  "±150 ms), and that start weighs on its HR over the whole record. Scored "
                  f"from {t0:.0f} s on only (every detector's beats and the "
                  f"consensus alike; a peer against the others'): consensus {hr_ref:.1f} bpm "
                  f"counted, {shown['ours'][1]:.1f} shown (its intervals as found: a wave it "
                  f"took for a beat splits one); ours F1 {m.f1:.3f} (Se {m.se:.3f}, +P "
                  f"{m.ppv:.3f}), {err['ours']}; {peers}.", ""]
    return lines


def wrist_section(results: list[dict]) -> list[str]:
    """How the ECG-referenced PPG records are scored, and each detector's pulse lag."""
    rs = [r for r in results if r["spans"] is not None]
    if not rs:
        return []
    names = list(rs[0]["lags"])
    lines = ["## PPG against a simultaneous ECG", "",
             "The `wrist-*` records (Wrist PPG During Exercise, Jarchi & Casson 2017), "
             "`bidmc-*` (BIDMC PPG and Respiration Dataset), `cinc15-*` (PhysioNet/CinC "
             "Challenge 2015) and `neurokit-rest` (NeuroKit2's resting-state recording; all in "
             "`edge/heart_reference/`, its README) have no pulse "
             "annotation: their reference "
             "is the simultaneous ECG's R peaks (4 of the 7 ECG peers, computed from "
             "the ECG alone when the excerpts were cut), as the field takes it for PPG "
             "(Charlton et al. 2022). A pulse peaks a pulse-travel time after its R peak, so "
             "each detector's beats are shifted back by the lag in 0-1000 ms that pairs most "
             "of them, every detector alike (`beat_score.lagged_match`), then paired within "
             "±150 ms. Walking shakes the chest electrodes too: only the spans where the "
             "ECG reference's rhythm is plausible (each interval within 0.75-1.25 of the "
             "median of the 9 around it) are scored, for every detector; HR count is beats per "
             "minute inside those spans, HR shown 60 / the mean interval between consecutive "
             "beats inside one span (a PPG's after RR artefact correction; the reference's "
             "R peaks' as found). Which records are "
             "held out was fixed before any PPG detector ran on them. The ECG peers can "
             "take a tall T wave for a beat "
             "(cinc15-v102s, issue 19's fourteenth pass): the reference leaves out, on "
             "every record alike, a beat within 360 ms of the last one kept whose steepest "
             "slope on the lead is under half that one's (Pan & Tompkins' T-wave rule, "
             "`beat_score.t_wave_free`); the trusted spans stand as cut.", "",
             "Ours on the wrist records is the detector's beats, as `signal hr --acc` "
             "reports them. The row `" + TRACKED + "` beside it: beats placed, where the "
             "wrist moves, where the heart rate tracked in the PPG's and the "
             "accelerometer's three axes' spectra expects them (edge/ppg_track.py, "
             "edge/ppg_guide.py; `signal hr --acc` gives them beside its headline, as "
             "`motion.tracked`). They are an experimental side output, not ours: they beat "
             "the detector's on the three tuning records they were tuned on and not on the "
             "held-out ones (docs/signal-validation.md); they take no part in 'best peer' "
             "or the pooled rows. bidmc-*, cinc15-* and neurokit-rest have no accelerometer.", "",
             "The last column: how many of our beats the wrist's accelerometer marks as "
             "moving (`edge/motion.py`, as `signal hr --acc` and the seats use it; such beats "
             "get no shape quality and make no intervals). 'Chance F1': what 40 beat trains "
             "that know only the reference's heart rate (10 % jitter, a random phase, no "
             "waveform read) score here the same way, median (p10-p90; `python -m "
             "empathy.edge.ppg_chance`): with a ±150 ms window and a free lag, a detector's "
             "F1 near it says nothing about pulse detection, and a difference between "
             "detectors inside its spread says little.", "",
             "| record | scored s | " + " | ".join(f"lag {n} (ms)" for n in names) +
             " | our beats marked moving | left out by the T-wave rule (in the spans) "
             "| chance F1 |",
             "|---|---|" + "---|" * (len(names) + 3)]
    for r in rs:
        dur = float(np.sum(r["spans"][:, 1] - r["spans"][:, 0]))
        lines.append(f"| {r['rec'].name} | {dur:.0f} of {r['length_s']:.0f} | " + " | ".join(
            f"{1000 * r['lags'][n]:.0f}" if n in r["lags"] else "failed" for n in names) +
            (f" | {r['moving'][0]} of {r['moving'][1]} |" if "moving" in r else " | none worn |") +
            f" {len(r['t_waves'])} ({len(in_spans(r['t_waves'], r['spans']))}) |"
            " {1:.3f} ({0:.3f}-{2:.3f}) |".format(*np.percentile(chance_f1(r["rec"]), [10, 50, 90])))
    return lines + [""]


def annotation_section(r: dict) -> list[str]:
    """Both references side by side for a record with a published expert annotation."""
    ann, cons = r["rows"], r["consensus_rows"]
    lines = [f"## ECG: {r['rec'].name}, the expert annotation beside the peers' consensus", "",
             f"The tables above score {r['rec'].name} against its published beat annotation "
             f"({len(r['annotated'])} beats in the excerpt, `edge/heart_reference/`); here "
             f"the same detections against the peers' consensus ({r['ref_beats']} beats; a "
             "peer against the other peers') as well. Held out: scored once, never tuned on.",
             "", "| detector | F1 annotation | Se / +P annotation | HR err annotation | "
             "F1 consensus | Se / +P consensus | HR err consensus |",
             "|---|---|---|---|---|---|---|"]
    for name, (m, hr, hr_ref) in ann.items():
        mc, _, hr_c = cons[name]
        lines.append(f"| {name} | {m.f1:.3f} | {m.se:.3f} / {m.ppv:.3f} | {hr - hr_ref:+.1f} | "
                     f"{mc.f1:.3f} | {mc.se:.3f} / {mc.ppv:.3f} | {hr - hr_c:+.1f} |")
    return lines + [""]


def annotated_tuning_section(results: list[dict]) -> list[str]:
    """The annotated tuning records: each against its annotation and against the peers'
    consensus, ours and the peer best against the annotation."""
    if not results:
        return []
    lines = ["## ECG: the annotated tuning records, the annotation beside the peers' consensus",
             "", "The MIT-BIH excerpts above are scored against the cardiologists' beat "
             "annotation; here ours and the peer best on that record against the annotation, "
             "each also against the peers' consensus (a peer against the other peers'). "
             "Where the consensus has fewer beats than the annotation it misses premature "
             "or paced beats most peers miss; where it has more it holds P or T waves.", "",
             "| record | beats annotation / consensus | detector | F1 annotation | "
             "Se / +P annotation | F1 consensus | HR err annotation |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        ann, cons = r["rows"], r["consensus_rows"]
        best = max((n for n in ann if n != "ours"), key=lambda n: ann[n][0].f1)
        for name in ("ours", best):
            m, hr, hr_ref = ann[name]
            lines.append(f"| {r['rec'].name} | {len(r['annotated'])} / {r['ref_beats']} | "
                         f"{name} | {m.f1:.3f} | {m.se:.3f} / {m.ppv:.3f} | "
                         f"{cons[name][0].f1:.3f} | {hr - hr_ref:+.1f} |")
    return lines + [""]


def pulse_section(r: dict) -> list[str]:
    """Both references side by side for an ECG recorded with a finger pulse."""
    p = r["pulse"]
    lines = [f"## ECG: {r['rec'].name} against a second reference, the consensus checked "
             "against the simultaneous pulse", "",
             "*Added after the consensus scores above were known.* The finger BVP "
             f"({p['pair']}) was recorded with this ECG: a pulse reaches the finger "
             f"{1000 * PULSE_LAG_S[0]:.0f}-{1000 * PULSE_LAG_S[1]:.0f} ms after every real "
             "heartbeat, so a consensus ECG beat that no PPG peer "
             f"({', '.join(p['pulse_peers'])}) found a pulse after in that window is dropped "
             "(`pulse_checked`); beats are never added, and ours takes no part. Each peer is "
             "scored against the other peers' consensus checked the same way. The consensus "
             "figures stand as they are above.", "",
             f"Reference beats: consensus {r['ref_beats']}, pulse-checked {p['ref_beats']}. "
             "From each consensus beat to the next pulse any PPG peer found: median "
             f"{p['lag_ms'][1]:.0f} ms, 5-95 % {p['lag_ms'][0]:.0f}-{p['lag_ms'][2]:.0f} ms. "
             "Dropped (s, with the consensus intervals around it in ms): " + "; ".join(
                 f"{t:.2f} ({', '.join(f'{v:.0f}' for v in rr)})" for t, rr in p["dropped"])
             + ". A dropped beat with regular intervals either side is most likely a real "
             "beat whose pulse the PPG peers put outside the window (a moving finger): the "
             "check is only as good as the PPG peers, so neither reference is the truth.", "",
             "| detector | F1 consensus | F1 pulse-checked | Se / +P pulse-checked | "
             "HR err consensus | HR err pulse-checked |", "|---|---|---|---|---|---|"]
    for name, (m, hr, hr_ref) in r["rows"].items():
        mp, _, hr_p = p["rows"][name]
        lines.append(f"| {name} | {m.f1:.3f} | {mp.f1:.3f} | {mp.se:.3f} / {mp.ppv:.3f} | "
                     f"{hr - hr_ref:+.1f} | {hr - hr_p:+.1f} |")
    rows, lags = p["ppg"]
    lines += ["", f"The other way round (issue 19's seventh pass): the finger pulse "
              f"({p['pair']}, a PPG tuning record) scored against this ECG's consensus beats as "
              "the PPG records with a simultaneous ECG are (`beat_score.lagged_match` inside "
              "`plausible_spans`): a reference for it that is not the PPG peers' consensus.", "",
              "| detector | F1 | Se / +P | HR err | lag (ms) |", "|---|---|---|---|---|"]
    for name, (m, hr, hr_ref) in rows.items():
        lines.append(f"| {name} | {m.f1:.3f} | {m.se:.3f} / {m.ppv:.3f} | {hr - hr_ref:+.1f} | "
                     f"{1000 * lags[name]:.0f} |")
    return lines + [""]
