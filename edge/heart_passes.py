"""The heart corpus page's history of issue 19's passes: what each change was tuned on, what
it did to which record, which held-out figures were seen, and what was tried and not kept
(the audit trail of what the held-out figures are worth). Text only; edge/heart_validation.py
writes it at the end of the page. A new pass is one more entry at the end of PASSES."""

from __future__ import annotations

from empathy.edge.heart_page import TRACKED

TITLE = "How the detectors got here: issue 19's passes"
ANCHOR = "#how-the-detectors-got-here-issue-19s-passes"  # the title's link on GitHub

# (pass, [(part, bullets)]), oldest first; part "" where a pass has one part.
PASSES: list[tuple[str, list[tuple[str, list[str]]]]] = [
    ("Before the fourth pass", [("", [
        "pyhrv-bitalino-ecg's one miss (its last beat, 60 ms before the record ends) was known "
        "before `finish()` learnt to keep a last beat whose QRS is complete but whose block is "
        "cut off.",
        "That change was built and tested on tuning records only (cut 30-150 ms after R peaks, "
        "and at random places). The held-out figure after it is no longer a blind one.",
        "bsn-bvp-motion's figures (F1 0.892 against NeuroKit2's 0.955, HR +2.1 bpm) were seen "
        "in earlier sessions.",
    ])]),
    ("Fourth pass: motion-robust PPG", [("", [
        "Rhythm-walking search-back over gaps of 1.66-4.5 beats; a flat line's ADC flicker is "
        "no pulse. Tuned on the PPG tuning records only.",
        "bsn-bvp-motion (held out): left as it was.",
        "The search-back is shared with ECG. On the ECG tuning records nothing changed. On "
        "mitdb-208 (held out) the F1 against the consensus stayed 0.981; the HR error went "
        "from +2.6 to +3.0 bpm.",
    ])]),
    ("Fifth pass", [("", [
        "mitdb-208's figures against its expert annotation were first computed, before the "
        "pass's one detector change.",
        "That change: a pulse back after a drop-out to the signal's floor is looked for a "
        "little further (`_back_from_floor`). Built on heartpy-data3 (tuning); checked on the "
        "other tuning records and the simulated motion recordings.",
        "The held-out figures are the same after it as before.",
    ])]),
    ("Sixth pass: ECG tuned on the MIT-BIH tuning excerpts", [("", [
        "Tuned on the MIT-BIH tuning excerpts only: a raw peak up to 150 ms before the filtered "
        "one; a fifth of the recent heights for a search-back beat; 0.3 of them past a 360 ms "
        "T-wave window.",
        "The held-out records were scored once, when this page was written after it. The "
        "figures were not iterated on.",
        "What the 150 ms reach cost: on the simulated ECG with motion in "
        "docs/signal-validation.md (`python -m empathy.edge.signal_validation docs/`, exact "
        "truth, 50 ms tolerance) F1 went from 0.898 to 0.874 with the same heart rate (beats "
        "placed on motion spikes before the R wave).",
    ])]),
    ("Seventh pass", [("", [
        "Mended the sixth pass's cost: a peak found only in the early reach must stand 1.5 "
        "times the usual window's (seed 5: 0.901). Tuned on the simulated motion ECG and the "
        "ECG tuning records (unchanged), without looking at mitdb-208.",
        "Added the wrist PPG records with their ECG reference. Held out: wrist-s2-high-bike "
        "and wrist-s8-walk, chosen before any PPG detector ran on them. No PPG detector change "
        "followed.",
        "Then added bidmc-01: held out from the start, first scored when this page was "
        "written.",
        "The held-out figures on this page were then computed once, when it was written. The "
        "PPG held-out ones (bsn-bvp-motion, the wrist records) are of the PPG detector as the "
        "sixth pass left it.",
    ])]),
    ("Ninth pass", [("", [
        "Added tpcp's other six MIT-BIH records and SVDB 800. Split by record type before any "
        "detector ran on them: tuning 100, 116, 123; held out 102 (paced), 114 (PVCs on V5), "
        "121 (sinus) and svdb-800.",
        "Tuned the ECG detector on the nine MIT-BIH tuning excerpts only: a block's height for "
        "the T-wave gates is its band-passed peak from 48 ms before it opens (MIT-BIH 123's "
        "interpolated PVC).",
        "Every held-out record was scored once, when this page was written after it.",
    ])]),
    ("Tenth pass", [("", [
        "Added MIT-BIH 101, 107 and 109 (tuning, lead V1).",
        "ECG, tuned on the ECG tuning records only: a beat-wide window of 0.5 s (MIT-BIH 107's "
        "PVC after a wide paced beat).",
        "PPG, only where PPG runs: a weak pulse where the rhythm puts the next beat is let in "
        "(docs/signal-validation.md, 'PPG: weak pulses in their place'). Tuned on the PPG "
        "tuning records, on clean tuning PPG with artefacts laid on (`edge/ppg_artefacts.py`) "
        "and on the simulated motion PPG.",
        "The held-out records were scored once after each change.",
        "Last change: an ECG stream chooses its detection band on its first 10 s "
        "(`edge/ecg_band.py`): 20-45 Hz where narrow-band interference hides the QRS in 5-20 "
        "Hz. Built on MIT-BIH 101; every other ECG tuning record's beats unchanged.",
        "Scored once on the held-out records: none chose the higher band, and their beats are "
        "as before it.",
    ])]),
    ("Eleventh pass", [("", [
        "The band choice is re-made on every 10-s window of a stream, with hysteresis: back to "
        "5-20 Hz only on a low-band contrast of 9 or where 20-45 Hz shows beats less clearly. "
        "Built on MIT-BIH 101 streamed from later starts.",
        "No window of any other ECG record, tuning or held out, calls for the higher band. "
        "Every record's beats, 101's included, are bit-identical to before it (checked by "
        "digest; the held-out records scored once after it).",
        "The ECG and PPG changes leave each other's beats bit-identical; the figures here are "
        "of all of them together.",
        "Added, with no detector change, the first minute of ten more MIT-BIH records: tuning "
        "203 and 210; held out 111, 201, 212, 213, 214, 217, 219 and 228 (the tenth pass's "
        "split by record, written down before any detector ran on them).",
        "Then the first minute of seven records in no list of that split: 103, 113, 202, 209, "
        "215, 221, 222, all held out, written down before any detector ran on them.",
        "Then MIT-BIH 118 whole (3 min, tuning) and four Noise Stress Test records made from "
        "it with recorded electrode-motion noise (tuning, as 118 is).",
        "Every held-out minute was scored once, when it was added. They are a minute each, "
        "the record's first: few beats per record (53-113), so the pooled figures lean on the "
        "longer excerpts' counts.",
        "Then tuned the ECG detector on the ECG tuning records only: a premature complex that "
        "opened no block before a short pause (MIT-BIH 203's and 210's PVCs). Every other "
        "tuning record and stress case unchanged.",
        "The held-out records, scored once after it: their beats are as before it.",
    ])]),
    ("Twelfth pass", [
        ("Finger PPG", [
            "Tried, not kept: of two candidates within the refractory time, a later one under "
            "1.25 times as tall no longer replaced an earlier one nearer the rhythm's place "
            "(heartpy-data3's second wave at 312.8 s). Built on the PPG tuning records. It "
            "left the finger tuning records' F1 and HR against the consensus unchanged and was "
            "mixed on the wrist tuning records. The held-out wrist records, scored once with "
            "it: wrist-s8-walk 0.600 (0.625 without), wrist-s2-high-bike 0.373 as without.",
            "Changed the PPG detector only where PPG runs, for pulses after a drop-out to the "
            "floor: across one, search-back looks from 1.3 beat intervals on and reads the raw "
            "waveform where the band-passed one shows no peak. Built on heartpy-data3 and "
            "systole-ppg (tuning) and on drop-outs laid on the clean tuning PPG "
            "(`ppg_artefacts --dropouts`).",
            "Every held-out record's beats, PPG and ECG, are bit-identical to before the pass "
            "(checked by digest, and scored once after it).",
            "heartpy-data2 is scored again from the end of its loose start (45 s, as its "
            "description says; 'PPG: where the consensus cannot be right'). No detector change "
            "for it.",
        ]),
        ("ECG", [
            "Added three PVC-heavy tuning excerpts: 200's first minute, 207's first 40 s before "
            "its ventricular flutter, 3 min of 106's V1. Chosen by the annotation's V count and "
            "written down before any detector ran on them.",
            "Tuned the ECG detector on the ECG tuning records only. In 20-45 Hz no "
            "premature-complex exceptions past 360 ms (MIT-BIH 101's interference ripples). A "
            "search-back beat must be 0.38 as steep as the last beat (the PVC's T wave found in "
            "the pause after it on 106's V1).",
            "The held-out records, scored once after it: their beats are bit-identical to "
            "before it (checked by digest).",
        ]),
        ("Wrist PPG with the accelerometer", [
            "Built a spectral heart-rate tracker (`edge/ppg_track.py`, TROIKA/WFPV-style) and "
            "beats placed by its rate while the wrist moves (`edge/ppg_guide.py`). Tuned on the "
            "three wrist tuning records and the simulated motion PPG only. Every other record's "
            "beats bit-identical (digest).",
            "The two held-out wrist records, scored once after: the tracker locked onto the "
            "pedalling (s2-high-bike, 42 bpm against the ECG's 93-106) and a movement harmonic "
            "(s8-walk, 147-160 against 71-81) from its first window and never let go (tracked "
            "HR 58 and 77 bpm off).",
            "So the guided beats were no better there (F1 0.379 against 0.373, HR -65.8 bpm) or "
            "worse (0.558 against 0.625, HR +58.4 bpm; docs/signal-validation.md).",
            "Second part, with those two records seen and no fresh wrist record to be had: the "
            "tracker was changed on the tuning records only (a true, non-movement first peak; "
            "a confidence flag; tuning figures unchanged). On the seen records after, s8-walk "
            f"got worse still (the `{TRACKED}` rows above). That is no blind test.",
            "The tracker and its beats did not generalise. They ship only as an experimental "
            "side output (`signal hr --acc`'s `motion.tracked`, the seat's motion report, those "
            "rows), never the headline. Ours on the wrist records is the detector's beats, as "
            "before the pass.",
            "Making them the headline would need fresh wrist records scored blind (the export's "
            "other 14 CSVs could not be had offline) and a start that waits for the PPG's and "
            "the movement's spectra to agree before it locks on.",
        ]),
        ("PPG data", [
            "Added 4 min of two more ICU patients' finger PPG with lead II: PhysioNet/CinC "
            "Challenge 2015 records v102s (tuning) and a103l (held out; the split written down "
            "and committed before any PPG detector ran on them). Their reference is lead II's R "
            "peaks, as for bidmc-01.",
            "Nothing else with an ECG or pulse reference and a clear licence could be found "
            "offline, no other BIDMC record among them.",
            "On v102s ours was not below the best peer: F1 0.978 against NeuroKit2's 0.976. 8 "
            "of our 11 misses, shared by every detector, are reference beats the ECG peers put "
            "on tall T waves. So the PPG detector was not changed; every record's beats are as "
            "before.",
            "a103l and bidmc-01 were scored once: a103l ours 0.965 against NeuroKit2's 0.975; "
            "bidmc-01 as before.",
        ]),
        ("ECG in electrode-motion noise", [
            "Tuned on NSTDB 118e06/e12/e00 and 106's V1 only. In noise (band-passed signal over "
            "the height gate at least 15 % of the last 2 s) a beat under 0.65 intervals after "
            "one in the rhythm gives way to a candidate where the rhythm puts the beat.",
            "118e06 F1 0.928 -> 0.951, HR +9.4 -> +6.0; 118e12 0.983 -> 0.988; 118e00 0.803 -> "
            "0.808; 106's V1, whose bigeminy keeps no regular interval, unchanged.",
            "Tried, not kept: refusing such beats outright lost as many true beats as it "
            "dropped extra ones.",
            "Every held-out record's beats are bit-identical to before it (digest), so their "
            "figures are unchanged.",
        ]),
    ]),
    ("Thirteenth pass", [
        ("ECG speed and electrode motion", [
            "First placed each call's ECG beats on the raw waveform all at once. Every record's "
            "beats bit-identical (digest).",
            "Then, tuned on the ECG tuning records only: a noisy 10-s window takes 20-45 Hz "
            "where fresh detectors' beats there are fewer, with no gap, and the 5-20 Hz ones "
            "break the rhythm. Electrode motion lies mostly under 20 Hz: why SWT's 22-45 Hz "
            "wavelet band did better on 118e12.",
            "118e12 F1 0.988 -> 1.000, HR +2.0 -> +0.0; 118e06 0.951 -> 0.979, +6.0 -> +3.3; "
            "118e00 0.808 -> 0.849, +17.0 -> +12.4. Every other tuning record and stress case "
            "unchanged.",
            "106's V1, whose muscle noise fills 20-45 Hz: unchanged at HR +5.4. 3-12 Hz "
            "throughout gave it only +3.7.",
            "Scored once after it, the held-out records' beats are where they were. But MIT-BIH "
            "114 took 20-45 Hz for 100-110 s: the rule fires off the NSTDB records too. The "
            "same 169 beats at the same samples, 9 quality values higher; F1 0.997, HR +0.0 as "
            "before.",
        ]),
        ("PPG under motion", [
            "Laid bursts of hand motion on the clean tuning PPG (`ppg_artefacts --motion`: "
            "0.5-4 Hz broadband motion, baseline jumps, the pulse's amplitude modulated; scored "
            "beside NeuroKit2 and HeartPy).",
            "Found there and on `--dropouts` why ours lost pulses NeuroKit2 kept: a candidate "
            "whose raw top lay past the refine window was dropped as a slope; search-back "
            "looked for the first pulse after a drop-out's return a whole interval on; a pulse "
            "of small rise in the rhythm's place failed the rise check; pulses after motion "
            "stayed under motion's heights until 2 s without a beat (now 1.5 s).",
            "Mended on tuning material only. Motion, 5 seeds: misses 102 -> 94 on pyphysio-bvp "
            "and 224 -> 189 on systole-ppg (NeuroKit2 65 and 170). Drop-outs, 10 seeds: 47 -> 28 "
            "and 89 -> 40 (NeuroKit2 17 and 37). systole-ppg 378 of 379. Every ECG record's "
            "beats bit-identical by digest.",
            "Then the held-out records were scored once: bsn-bvp-motion F1 0.892 -> 0.909 (95 % "
            "interval 0.82-0.97; NeuroKit2 0.955; HR error +2.1 -> +4.2 bpm), bidmc-01 0.975 -> "
            "0.976, cinc15-a103l 0.965 -> 0.967, wrist-s2-high-bike 0.373 -> 0.429, "
            "wrist-s8-walk 0.625 -> 0.636. The gap to NeuroKit2 narrowed but did not close.",
            "Most motion misses left are pulses whose energy block never opened or whose beat "
            "went to motion's bump 0.3-0.5 s away (the causal, trailing averages), not a gate "
            "refusing them.",
        ]),
        ("Muscle noise (ECG)", [
            "Tuned on 106's V1, NSTDB 118 and the stress cases.",
            "Tried, not kept: on 106's V1, QRS templates (the median normal and PVC beat of its "
            "clean first 2 min) correlate 0.12-0.82 with the 14 extra beats of the noise bursts "
            "at 133-165 s and -0.30-0.90 with the 46 true ones.",
            "Tried, not kept: an expectation from the interval two back (bigeminy) fails, as the "
            "burst's extra beats are among those intervals. 106's V1 is as before.",
            "In the stress case 'electrode motion' 12 of the 13 extra beats were one-sample "
            "steps where `ecg_stress` starts or ends a burst's sine at a random phase. A "
            "candidate on a step that does not jump back (a pacing spike does) is now refused: "
            "13 extra beats -> 4, F1 0.961 -> 0.983, HR 82.2 -> 79.9 bpm (80.0). A trouble of "
            "the simulation more than of recorded electrode motion.",
            "Merged after the band switch above, it took one extra beat off 118e00 (F1 0.849 -> "
            "0.851, HR +12.4 -> +12.0 bpm). Every other corpus record's beats bit-identical "
            "(digest), held-out ones included.",
        ]),
    ]),
    ("Fourteenth pass", [
        ("ECG in electrode-motion noise (`edge/ecg_rhythm.py`)", [
            "Tuned on the ECG tuning records and stress cases only. An early beat (under 0.75 "
            "intervals) of poor shape (quality under 0.75) in a steady rhythm is judged once the "
            "two beats after it are known. It is dropped where without it they keep the rhythm "
            "(within 0.15 of its place each, 0.2 together).",
            "118e06 F1 0.979 -> 0.998, HR +3.3 -> +0.3 bpm. 118e00 0.851 -> 0.853, +12.0 -> "
            "+11.7 (its rhythm is seldom steady and most extra beats stand in a true beat's "
            "place). MIT-BIH 101 0.974 -> 0.979, +1.0 -> +0.3.",
            "Every other tuning record, stress case, PPG and held-out record bit-identical "
            "(digest). 106's V1 is unchanged (bigeminy: no steady rhythm).",
            "Tried, not kept: 50-150 Hz energy over the 5-20 Hz peak does not tell 106's V1's "
            "burst's extra beats (0.11-0.41) from the true ones there (0.01-0.33). Nothing was "
            "built on it.",
            "Tried, not kept: `ecg_band` calling a window noisy from 0.11 of it over the height "
            "gate (not 0.12) took 118e00 to 20-45 Hz 10 s sooner (F1 0.874, HR +8.4). But "
            "MIT-BIH 107 (paced) streamed from 9 s took it too, at 159 s, where it lost a paced "
            "beat.",
        ]),
        ("References (no detector changed; every record's beats bit-identical)", [
            "Checked three references that kept ours from the goal, from the waveforms, the "
            "annotations and the peers, not from our beats.",
            "cinc15-v102s: 41 of lead II's 446 reference beats are tall T waves the ECG peers "
            "took for beats. They lie 256-336 ms after a QRS whose burst-like complex is about "
            "20 times as steep, with a finger pulse after the QRS only. 9 of them are in the "
            "trusted spans, where 8 were among our 11 misses.",
            "So every ECG-derived reference now leaves out Pan & Tompkins' T waves ('PPG against "
            "a simultaneous ECG'). v102s: ours F1 0.978 -> 0.990 and HR -3.4 -> +0.0 bpm, "
            "NeuroKit2 0.976 -> 0.988 (-3.7 -> -0.4), MSPTDfast 0.973 -> 0.984 (-3.7 -> -0.4), "
            "HeartPy 0.722 -> 0.729 (+28.8 -> +32.1). PPG tuning pooled: ours 0.9486 -> 0.9501, "
            "NeuroKit2 0.9392 -> 0.9406.",
            "The rule takes 3 beats (1 once a recurring T wave was required, below) off "
            "wrist-s2-high-bike (held out; chest-electrode noise outside its trusted spans, "
            "scoring nothing) and none off the other ECG-referenced records. So the held-out "
            "figures are as before.",
            "Tried, not kept: the peer-offset-aligned consensus (noise-detector-clean, in "
            "**Reference** above). It was chosen against the annotated tuning excerpts "
            "(consensus against annotation F1 0.9445 -> 0.9537; a consensus of votes within "
            "±150 ms of their median 0.9499).",
            "On the held-out annotated excerpts it came out only 0.9841 -> 0.9854 (Se up, +P "
            "0.9808 -> 0.9793). On noise-detector-clean it took the 0.51 s QRS in only through "
            "the start-up firings (at 0.568 s) and made a beat with no QRS at 7.53 s (a split of "
            "the 7.60 s QRS's votes). So the consensus was not changed.",
            "The ECG tuning records are now pooled without the NSTDB records, and those alone "
            "too.",
            "heartpy-data2's and data3's consensus was left as it is ('PPG: where the consensus "
            "cannot be right').",
        ]),
        ("PPG under motion and drop-outs (tuning material only)", [
            "Tried, not kept: the look-ahead the thirteenth pass pointed to. Centred energy "
            "averages (the short one read 0.15-0.28 s behind the long one, as Elgendi's centred "
            "pair; a beat 0.28 s later) cut misses under motion on pyphysio-bvp "
            "(`ppg_artefacts --motion`, 10 seeds: 168 -> 152) but added more extra beats (197 -> "
            "235; systole-ppg F1 0.761 -> 0.746). The same with the early-beat rule of ECG in "
            "noise too. None was kept.",
            "Most motion misses left are beats placed on motion's later raw top (the "
            "candidate's band-passed peak itself came 0.1-0.2 s late: 122 of systole-ppg's 378) "
            "or pulses with no block.",
            "Tried, not kept: a line-detrended refine window, or a taller-wins that keeps the "
            "rhythm's beat, did not mend them net.",
            "After a drop-out to the floor the band-pass now restarts settled on the return "
            "(`ppg_floor`). `--dropouts`, 10 seeds: misses 28 -> 20, 40 -> 13, 2 -> 0 on "
            "pyphysio-bvp, systole-ppg, bsn-bvp-rest (NeuroKit2 17, 37, 0); extra beats 6 -> 5, "
            "16 -> 8, 1 -> 0.",
            "heartpy-data3 lost 2 beats (F1 0.988 -> 0.987, HR -1.9 -> -2.0). Every ECG record's "
            "beats bit-identical (digest).",
            "Scored once after it: bsn-bvp-motion (F1 0.909, HR +4.2), wrist-s2-high-bike "
            "(0.429), wrist-s8-walk (0.636) and cinc15-a103l (0.967) kept their beats. bidmc-01 "
            "0.976 -> 0.975, HR -2.8 -> -2.5: its flat stretches at 91-103 s restart the filter "
            "too (one beat lost, two extra).",
            "The lead then attacked it with a board whose troughs clip at the ADC's bottom "
            "(tuning PPG clipped under its 10th-40th percentile). 'At or under the last 2 s' "
            "restarted the filter at every trough (heartpy-data at the 10th: 21 extra beats, F1 "
            "1.000 -> 0.696).",
            "So a floor must now lie strictly under the last 2 s (clipped troughs visit it every "
            "beat). Every tuning figure above is as it was (drop-outs, 10 seeds; the tuning "
            "records).",
            "bidmc-01, scored again after (so no longer blind), is back to F1 0.976, HR -2.8, "
            "though not to its beats: one more at 94.60 s, none at 102.81 s, 34 quality values "
            "changed. Its flat stretches lie 0.003 of its range under the last 2 s, as deep as "
            "systole-ppg's own drop-outs, so no depth rule tells them apart.",
        ]),
        ("Red team on the pass's new code (tuning material)", [
            "The rhythm stage dropped interpolated PVCs whose next sinus beat came on time "
            "(MIT-BIH 100 with 17 inserted: 15 dropped). It now acts only where the low band's "
            "last complete 10-s window showed beats with contrast under 20 (4.0-15.7 at every "
            "beat it drops on the tuning records, 22.8-29.6 at those PVCs). Every corpus "
            "record's beats bit-identical (digest). A paced or bundle-branch lead, under 20 "
            "even when clean, still loses such a PVC.",
            "The T-wave rule dropped aberrant early beats (twice as wide, half as steep: 9 of "
            "17). A wave over twice as steep as the lead usually is that long after a beat is "
            "now kept. v102s's 41 T waves read 0.89-1.38 of it and still go; "
            "wrist-s2-high-bike loses 1 beat, not 3, outside its spans; no scored figure moved.",
            "An ECG seat above 100 Hz lost its contact flag in 58 of its first 60 s (the band "
            "switch's own detectors held the latest candidate). The seat now reads theirs.",
            "That fix let an ECG seat flat from its start (electrodes off) keep its contact "
            "flag for its first 10 s, while the band switch gathered its first window. Till "
            "the first candidate, the last raw sample unlike the one before now stands for it: "
            "the flag goes after the usual 3 s (no beat changed).",
        ]),
        ("Red team: weak PPG pulses", [
            "A weak pulse a few ADC codes high (a 10-bit board, cold fingers) lost its beats: a "
            "pulse had to rise 10 of the ADC's steps (built against heartpy-data2's flickering "
            "flat line).",
            "Under that it now counts where it climbs smoothly (7 times its window's mean "
            "|second difference|, at least 3 steps) or comes at even intervals with the 3 small "
            "rises before it (within 15 %).",
            "The PPG tuning records scaled to 10 codes on a 3-code drift and rounded (3 seeds) "
            "lost 60, 738, 267, 40 of heartpy-data's, systole-ppg's, pyphysio-bvp's, "
            "bsn-bvp-rest's beats; now 0, 36, 17, 0 (extra 0, 1, 7, 0; NeuroKit2 missed 0, 0, "
            "2, 0, extra 0, 1, 8, 0).",
            "With 0.5 code of noise before rounding: 44, 654, 220, 20; now 7, 147, 78, 6 "
            "(NeuroKit2 0, 0, 2, 0).",
            "Every tuning record's and ECG case's beats bit-identical (digest). Held-out "
            "bidmc-01: 354 -> 355 beats.",
            "Tried, not kept: 2 even intervals instead of 3 gave heartpy-data2 a flicker beat "
            "at 2.34 s.",
        ]),
    ]),
    ("Fifteenth pass", [
        ("More annotated ECG (no detector change)", [
            "Ten 3 min QT Database records at 250 Hz added: tuning sel233 (multiform PVCs), "
            "sel232 (sick sinus, 6 s pauses), sel117 (sinus), sele0114 (European ST-T, lead D3), "
            "sel310 (exercise, ~130 bpm); held out sel223 (slow VT), sel231 (2:1 block), sel230 "
            "(intermittent WPW), sele0121 (lead V4), sel302 (exercise, ~100 bpm). Paired by "
            "record type, the split committed before any detector ran on them.",
            "Scored once when added: ours met the best peer and 1.5 bpm on all but sel232 "
            "(tuning: an APC missed at 94.49 s, 0.70 s after a beat that followed a 3.1 s "
            "pause), sele0114 (tuning: its first beat, 0.54 s) and sel302 (held out: its third "
            "beat, 1.90 s, at the stream's start), one beat each.",
            "Pooled F1 ours: tuning without NSTDB 0.9971 -> 0.9974 (23 -> 28 records); held out "
            "0.9966 -> 0.9970 (21 -> 26 records); the best held-out peer, Pan-Tompkins, 0.9863 "
            "-> 0.9886.",
        ]),
        ("ECG in noise: close pairs (`edge/ecg_pair.py`)", [
            "Tuned on the ECG tuning records and stress cases only. In a noisy window (the low "
            "band's contrast on the last complete 10-s window under 0.6 of the clearest the "
            "lead has shown), of two beats closer than half the usual interval (half the median "
            "sum of two successive intervals among the last 8 kept with no beat dropped "
            "between, so bigeminy counts at its average) the one of poorer shape goes, unless "
            "the beat after the pair comes 1.5 usual intervals or more after its first (a "
            "premature beat's pause).",
            "106's V1 F1 0.959 -> 0.974, HR +5.4 -> +2.3 bpm (8 extra beats and 1 true one "
            "dropped). 118e00 0.853 -> 0.864, +11.7 -> +6.4 (12 extra, 4 true; most extra beats "
            "left stand in a true beat's place or in the first 10 s of noise, which the last "
            "complete window calls clean). 118e06 0.998 -> 1.000, +0.3 -> +0.0. MIT-BIH 101 "
            "0.979 -> 0.981, +0.3 -> -0.0. Every other tuning record and stress case "
            "bit-identical (digest).",
            "Merged after the QT Database records, it dropped a clean APC of sel232's atrial "
            "runs between pauses (178.83 s, shape 0.98): that lead's windows' contrast swings "
            "16-103 with the beats in them, so its later windows read noisy. The poorer beat "
            "now goes only if its shape is poor too (under 0.8; the extra beats dropped read "
            "0.00-0.76, all still dropped).",
            "Tried, not kept: an absolute contrast gate (under 20) with the kept intervals as "
            "the rhythm did better on 118e00 (HR -0.3) but, with bigeminy laid on paced and "
            "bundle-branch leads (MIT-BIH 107, 118), lost 62-95 more beats once the detector "
            "had missed a run of PVCs. Also worse: the plain mean or median of recent "
            "intervals, the intervals of all offered beats, the shortest usual interval, "
            "exempting a steady coupling interval, 12 or 16 intervals of history, a rhythm "
            "learnt only from windows judged clean later, the contrast of the 10 s ending at "
            "the beat.",
            "Known cost: bigeminy laid on 118e06 (noisy) loses 18-27 more true beats for 8-15 "
            "fewer extra ones. The detector already misses most interpolated PVCs laid on "
            "MIT-BIH 107 and 118 (15 of 17, 18 of 20), with or without this stage.",
            "Scored once after: held-out MIT-BIH 228 F1 0.986 -> 0.993 (NeuroKit2 0.986), HR "
            "+2.0 -> +1.0 bpm (one extra beat on an annotated artefact dropped); every other "
            "held-out record's beats bit-identical.",
        ]),
        ("An ECG stream's start", [
            "noise-detector-clean's one 'extra' beat (0.51 s) is a real QRS: it correlates 0.94 "
            "with our median QRS, has the same peak-to-peak and comes 0.774 s before the next "
            "beat. No 150 ms window holds four peer votes there, so no detector change was made "
            "for it.",
            "The annotated ECG tuning excerpts cut at 200 start offsets each, so that a QRS "
            "falls 0.2-1 s into the stream: the look-back's first beat, a full QRS, was dropped "
            "when the next beat was a PVC. It is now kept, ECG only, where it is 0.8 as tall "
            "and 0.9 as steep as the first beats and the start is quiet (the filtered signal "
            "over 0.4 of its height at most 3 % of the time) and it stands on no one-sample "
            "step.",
            "First true beats missed 58 -> 34 of 4286, extra beats there 43 -> 42. Over noise "
            "laid on tuning starts (white, muscle, contact pops, settling, wander, flat; 120 "
            "cases each) it adds no beat (without the quiet-start check it added 11 and 4). "
            "Every corpus record's beats bit-identical (digest).",
            "Held-out annotated records cut the same way, scored once after: misses 26 -> 13 "
            "of 4059, extra beats 10 -> 10.",
            "Merged after the QT Database records: sele0114's first beat (0.54 s, missed when "
            "added) is now found, F1 1.000. Held-out sel302's third beat (1.90 s) is still "
            "missed.",
            "Tried, not kept: giving the first beats the 0.3 gate past the T-wave window (PVCs "
            "among them, MIT-BIH 203 and 210) recovered 4 beats but added 9-25 on noisy "
            "starts.",
        ]),
        ("ECG: R waves that drop in one sample", [
            "The step gate (the thirteenth pass's) refused R waves that drop to S in one "
            "sample at 250 Hz: QT Database sel232's APC at 94.49 s, the one beat it missed (not "
            "the pauses before it: a gap over 2 s starts the references over), and 15 QRS of "
            "sel310 that other candidates covered.",
            "A jump whose two neighbouring samples move with it by at least 0.15 of it is now "
            "a QRS, not a step (QRS at 250 Hz: 0.22-0.59; the electrode-motion stress case's "
            "steps: under 0.02; one noise wave in 118e00: -0.33). 0.1 let in three noise waves "
            "laid on sel232 (0.11-0.12).",
            "sel232 F1 0.997 -> 1.000. Every other record and stress case unchanged but "
            "sel310's first five beats' shape quality: its first QRS is now a normal "
            "candidate, so the look-back picks up a stray wave at 0.18 s, which is dropped as "
            "too small but feeds the shape template first (beat 1: 1.00 -> 0.33).",
            "On real NSTDB electrode-motion noise (118e00 less 118e24, at 250 Hz) laid on the "
            "QT Database tuning records (10 offsets, 12/6/0 dB) no extra beat came in and 20 "
            "fewer beats were missed.",
            "Tried, not kept: 'before the drop the signal already stood past its midpoint' "
            "let a noise wave of 118e00 in (11.04 s), which changed the band choice and added "
            "a beat at 51.0 s.",
            "Scored once after: held-out sel302's third beat (1.90 s) was refused by the same "
            "gate; F1 0.998 -> 1.000, HR error 0.0.",
        ]),
        ("PPG under motion and weak pulses", [
            "Under hand motion at about twice the heart rate the beats placed are motion's and "
            "the recent intervals halve; the weakened pulses after it came two of them after "
            "the last beat and were refused by the rise and height gates. A PPG pulse one or "
            "two recent intervals on is now where the rhythm puts it (`pulse_in_rhythm`).",
            "`ppg_artefacts --motion`, 10 seeds: misses 168 -> 164 on pyphysio-bvp and 378 -> "
            "355 on systole-ppg, extra beats 197 -> 197 and 737 -> 741 (NeuroKit2 133 and 350 "
            "missed). Drop-outs unchanged. wrist-s1-low-bike F1 0.460 -> 0.457, wrist-s2-walk "
            "0.519 -> 0.531; every other tuning record and every ECG record and case "
            "bit-identical (digest).",
            "On a weak noisy pulse the beats placed now count in the flicker test's "
            "even-interval rhythm (`_regular`), not only the small rises: the tuning records "
            "at 10 codes with 0.5 code of noise (3 seeds) miss 3, 91, 39, 0 of heartpy-data's, "
            "systole-ppg's, pyphysio-bvp's, bsn-bvp-rest's beats, not 7, 147, 86, 1 (NeuroKit2 "
            "0, 2, 0, 0), with no extra beat more; every corpus record's beats bit-identical.",
            "Tried, not kept: any gap of 0.85-2.8 intervals in rhythm lost heartpy-data3's "
            "beat at 333.91 s; a 0.2-0.3 spacing tolerance let a noisy flat line's flicker "
            "through (31 -> 69-152 beats in 20 min); letting any small pulse in rhythm skip "
            "the flicker test gave heartpy-data2 6 -> 11 extra beats; resetting the rise "
            "reference sooner, a lower minimum rise, capping one beat's say in the height "
            "reference, the tallest interior peak where the search-back's maximum is on its "
            "edge: within a few beats either way.",
            "Left: of the motion misses NeuroKit2 finds (10 seeds, pyphysio-bvp and "
            "systole-ppg), 69 opened no block, 55 were placed over 150 ms off, 28 were refused "
            "by the height gate.",
            "Scored once after: cinc15-a103l 480 -> 481 beats, F1 0.967 -> 0.968 (NeuroKit2 "
            "0.975); bsn-bvp-motion, bidmc-01 and the held-out wrist records' beats unchanged.",
        ]),
        ("Red team: PVCs on paced and bundle-branch leads", [
            "Real annotated PVCs of tuning records (107, 109, 118, 119, 106's V1, QT Database "
            "233; cut 0.2 s before to 0.45 s after, kept at their own record's relative size) "
            "laid into tuning records as interpolated PVCs (every 12th interval, at 0.4 or 0.5 "
            "of it) and as bigeminy (coupling 0.5 or 0.6), the 7 peers run on the same input: "
            "the peers miss almost none (best peer 0-1 per case); ours missed most on paced and "
            "bundle-branch leads (109: 132 of 160, 107: 94 of 136, 118: 131 of 160; 100: 4 of "
            "136).",
            "The noise gate (`_doubt`) held them: such leads stand over the height gate "
            "0.15-0.17 of the 2 s before a PVC when clean. It now acts from 0.18 (not 0.15; "
            "the noise it acts on in 118e06 reads 0.15-0.19, a thin margin). With the rhythm "
            "stages off, 109's misses 117 -> 22, 107's 43 -> 27, 118's 51 -> 41; every corpus "
            "record's and stress case's beats unchanged (digest).",
            "With the stages on, 109 132 -> 96, 107 94 -> 94, 118 131 -> 127: `ecg_rhythm` "
            "drops an on-time interpolated PVC where the lead reads under its clean contrast "
            "(these leads: 7.7-19.1, shape 0.17-0.74, overlapping the noise it drops: 4.0-15.7), "
            "and with 119's PVCs in bigeminy on 118 the band switch takes 20-45 Hz, which "
            "misses 116 of 120 (the whole detector: 50): the recurring-shape part below mends most of both.",
            "Tried, not kept: a 0.2 s refractory time (extra or changed beats on 9 tuning "
            "records); two candidates within it both kept where the later is in the rhythm's "
            "place (3 PVCs gained, an extra beat on the electrode-motion stress case); "
            "`_premature_back` from the refractory time (changed 203, 210, 106's V1); the "
            "noise gate at 0.2 (changed 118e06).",
        ]),
        ("PPG under motion, a second look (no detector change)", [
            "`ppg_artefacts --motion`, 5 seeds, pyphysio-bvp and systole-ppg: 267 misses. 172 "
            "placed over 150 ms off (NeuroKit2 finds 31 of them), 62 opened no block "
            "(NeuroKit2 finds 32; for 20 of those our beats sit about one interval either side "
            "of the pulse, so search-back never runs), 14 refused by the height gate "
            "(NeuroKit2 finds 12).",
            "Of the 172 misplaced, the pulse lay before the refine window in 57, after it in "
            "25, on a shoulder of motion's rising slope with no peak of its own in 53, as a "
            "second top in 11; the rhythm's expected time lands within 80 ms of the pulse in "
            "27 % of them.",
            "Tried, not kept: the top nearest the rhythm's expected time (10 seeds: systole-ppg "
            "misses 355 -> 349, but the 10-bit runs lost beats; with a prominence floor the "
            "gain goes), an earlier reach of 0.15-0.25 s (drop-outs lost a beat each), placing "
            "by the upstroke (worse), the most prominent top (1-4 of 5,685 beats moved), a "
            "centred moving-average detrend (worse or flat), capping motion-inflated heights "
            "(1-3 fewer misses of ~540). Every record's beats unchanged.",
        ]),
        ("Twelve more QT Database records (no detector change)", [
            "Paired by record type, the split committed before any detector ran on them: "
            "tuning sel821 (SVDB, supraventricular runs), sel853 (SVDB, PVCs among QRS-like "
            "artefacts), sel15814 (Long-Term, ambulatory PVCs), sel16273 (Normal Sinus "
            "Rhythm), sele0411 (European ST-T, CM5, PVCs), sele0203 (CM5, sinoatrial block); "
            "held out sel820, sel891, sel14046, sel16795, sele0509 (V1-V2), sele0303 (V2-V3).",
            "Scored once when added: ours met the best peer and 1.5 bpm on all but sele0203 "
            "(tuning: one extra beat at 0.02 s on a QRS the record's start cuts, which the "
            "annotation leaves out though it is as tall as the first annotated beat) and "
            "sel14046 (held out: its first beat, at 0.02 s, and an N beat 0.48 s after a PVC "
            "couplet at 123.52 s missed; F1 0.996 < 0.998, HR -0.3).",
            "Pooled F1 ours: tuning without NSTDB 0.9981 -> 0.9984 (28 -> 34 records); held out "
            "0.9973 -> 0.9978 (26 -> 32 records); the best held-out peer, Pan-Tompkins, 0.9886 "
            "-> 0.9902.",
            "On e0411, e0509, e0303 and 891 the peers' consensus sits 80-84 ms after the "
            "annotation (the peers take the deep S wave after the annotated R): the line-up "
            "test now removes each record's steady offset (under 0.09 s) first.",
        ]),
        ("ECG in noise: close pairs, continued", [
            "A close pair's usual interval is now taken from intervals in clean 10-s windows "
            "only (noise's extra beats that got through had shrunk it: 118e00 at 40-50 s, "
            "0.41-0.58 s against the heart's 0.82), at most 1.5 times the recent beats' "
            "(106's V1's heart speeds up in its burst, 0.95 -> 0.78 s); a beat of good shape "
            "goes out at once. Tuned on the ECG tuning records only.",
            "118e00 F1 0.864 -> 0.867 (extra 43 -> 35, missed 24 -> 29), HR +6.3 -> +2.0 bpm; "
            "106's V1 F1 0.974 -> 0.974 (extra 9 -> 8, missed 2 -> 3), HR +2.3 -> +1.7; "
            "MIT-BIH 101 one extra beat more (HR +0.3). Every other tuning record, stress case "
            "and held-out record bit-identical (digest).",
            "Recorded electrode motion (118e00 less 118e24) laid on 13 clean MIT-BIH tuning "
            "records at 3 places: extra beats 2007 -> 1786, missed 1014 -> 1152, summed |HR "
            "error| 393 -> 281 bpm; some cases got worse (200 from 0 s: +9.8 -> -4.2; 203: "
            "-0.44 -> -2.45).",
            "Tried, not kept: judging the pair on the beat's own window as well (118e00 HR "
            "+0.0) lost a PVC in MIT-BIH 203's atrial fibrillation, whose window reads as noisy "
            "(0.50 of its clearest) as 118e00's burst start, and the extra beats it dropped "
            "read shape 0.32-0.80 against that PVC's 0.71; no window measure tried (the "
            "fraction over the height gate, a 75th-percentile contrast, the quiet floor "
            "against the peak) tells QT Database 232's clean contrast swings from noise; an "
            "atrial-fibrillation guard (the spread of two-interval sums: 106's V1's bigeminy "
            "reads more irregular than 203's AF).",
            "Left: 106's V1's remaining extra beats stand alone in long intervals or on the "
            "sharp spikes at 73.1 and 76.8 s; most of 118e00's stand in a true beat's place, "
            "0.15-0.35 s off.",
        ]),
        ("ECG: lone extra beats in 106's V1 (no detector change)", [
            "Of 106's V1's 8 extra beats left, two stand beside a missed beat (placement). "
            "The other six, the 'sharp spikes' at 73.1 and 76.8 s included, all sit in the "
            "pause after a PVC, just before an N beat, and look like the lead's N beat (8.3 "
            "and 11.1 ms wide at half height against the N's 11.1; rising over ~5 samples, so "
            "no step); each splits its long interval about evenly, as this bigeminal lead's "
            "true PVC cycles do.",
            "Tried, not kept: width at half height, a one-sample share of the height, energy "
            "over 40 Hz catch 4-5 of them but 24-190 true beats (MIT-BIH 104's paced beats, "
            "101); even with the annotation's labels, 'under 0.6 of N's usual interval before "
            "an N' also catches 123's interpolated PVCs and 203's atrial fibrillation; this "
            "lead's PVCs match its N template at 0.84-0.99; a wider close-pair window (0.6) "
            "lost 17 true beats (HR -4.0). Pinned in test_ecg_spike (strict xfail).",
        ]),
        ("ECG: recurring ectopic shapes (`edge/ecg_ectopic.py`)", [
            "Tuned on the ECG tuning records and on the red team's PVCs cut from them. An "
            "early beat of poor shape whose slope (the raw first difference, -0.1 to +0.2 s, "
            "less its line) correlates at 0.9 or more, within ±40 ms, with one of the lead's "
            "last 16 such beats is kept by `ecg_rhythm` and `ecg_pair`: a recurring ectopic "
            "shape is a beat, noise rarely repeats itself. The first PVC of a shape may still "
            "go.",
            "The early beats of noise on the tuning records (36: NSTDB 118e06, e00, MIT-BIH "
            "101, 106's V1) reach 0.83 at most (the raw waveform, not its slope: up to 0.985 on "
            "118e06); 103 of 191 true ones reach 0.9 (119: 39 of 39, QT Database 233: 20 of "
            "21).",
            "A noisy window whose beats found only in 5-20 Hz share such a shape keeps that "
            "band (wide PVCs have little energy over 20 Hz).",
            "Real PVCs laid into paced and bundle-branch leads: interpolated PVCs missed 107 "
            "94 -> 37 of 136, 109 96 -> 35 of 160, 118 127 -> 59 of 160 (with both rhythm "
            "stages off: 27, 22, 41, the gates'); 119's PVCs in bigeminy on 118 50 -> 2 (0.5 "
            "coupling) and 19 -> 4 (0.6) of 120. The best peer still misses 0-1 per case. PVCs "
            "laid into noisy leads (118e06, e00, 106's V1, 101) are missed less, with the same "
            "extra beats.",
            "Every corpus record's and stress case's beats bit-identical (digest), held-out "
            "ones included.",
            "After the red team's fixed-shape artefacts (below): a recurring early shape is a "
            "beat only where at least half of the earlier shapes it matches came at its "
            "coupling (within 40 ms of its interval from the beat before: a focus keeps its "
            "coupling, a tap, TENS burst or twitch keeps its own time) and its slope has most "
            "of its energy under 30 Hz (a TENS pulse's: 99 % over). Over six tuning records "
            "with those artefacts the stage's extra beats went 126 -> 22, the true beats it "
            "saves 29 -> 14; MIT-BIH 105 with taps +1 extra beat (was +12), still a strict "
            "xfail; 107's real PVCs keep their coupling only 33 % of the time (its "
            "interpolated-PVC tests still pass, near the limit). Width, and a window out to "
            "the T wave, did not separate taps from PVCs. Corpus beats unchanged.",
            "Found on the way: the library first forgot all but the last 64 recurring beats, "
            "and a long batch checks every shape before the stages ask: on 18 min of 109 with "
            "119's PVCs the batch lost 79 of 120 PVCs while a stream lost 1. Beats are now "
            "forgotten only once the stages are done with them (a test streams and batches "
            "it).",
        ]),
        ("ECG: beats placed in noise, by the lead's QRS template (not kept)", [
            "In electrode motion the candidate sits on a noise wave taller than the QRS in the "
            "detection band, and the raw-peak refine window (-0.15/+0.1 s) never reaches the "
            "QRS: such a beat counts as one missed and one extra.",
            "Built (branch wip/ecgplace, `edge/ecg_place.py`), tuned on the ECG tuning records "
            "only: in a noisy window a beat moves to where the lead's own 20-45 Hz QRS "
            "template (its last 16 beats in windows judged clean) matches best within 0.35 s "
            "(match at least 0.8 and 0.1 over its own place, a move of at least 0.15 s, nearer "
            "the rhythm, not closer than half the usual interval to the next beat).",
            "118e00 F1 0.867 -> 0.917 (extra 35 -> 23, missed 29 -> 17; all 12 moves right), "
            "pooled ECG tuning F1 0.9950 -> 0.9963; every other tuning record and stress case "
            "bit-identical. Recorded electrode motion laid on 17 clean MIT-BIH tuning records "
            "at 2 offsets: pooled F1 0.7060 -> 0.7144, none worse; with bigeminy laid on as "
            "well, 3 cases one beat better and 3 one beat worse (a true beat moved 0.17-0.19 s "
            "to a noise wave that matches the sinus template).",
            "Scored once after: held-out MIT-BIH 228 F1 0.993 -> 0.979 (one beat moved off its "
            "place), below NeuroKit2's 0.986. Not merged: the bad moves in the bigeminy attack "
            "and on 228 are the same kind, and batch time on an hour of noisy ECG rose 0.43 -> "
            "0.74 s. Having seen 228 with it, 228 is listed as seen.",
        ]),
        ("ECG: a sturdier step gate (not kept)", [
            "Built (branch wip/ecgstep2) against the red team's two step xfails, on tuning "
            "material: a jump is also a step where one neighbour stays still (under 0.03 of "
            "it) and the level 60-120 ms later still holds half of it; a paced spike whose "
            "return takes two samples is kept where the level swings past half the jump the "
            "other way (104 at 130 Hz: -0.57; 118e00's noise: -0.43).",
            "Both xfails passed (beats near the spread pops 16 -> 9-10 at 130-1000 Hz; 104's "
            "paced beat found at 130 Hz), every corpus record's beats unchanged, the tuning "
            "records resampled to 130 Hz one beat better. A persistence test alone cost 106's "
            "V1 at 200 Hz a missed and 2 extra beats.",
            "Scored once after: the held-out records resampled to 130 and 200 Hz lost 3 true "
            "beats (MIT-BIH 114: 2, 208: 1). Not merged: its thresholds sit on thin margins "
            "fitted to a synthetic pop model (0.02 against 0.06; -0.43 against -0.57).",
        ]),
        ("A stream's first beats' shape quality", [
            "A stream's first beats are graded for shape only once they are judged together "
            "(`_judge_first`): a stray wave or early small candidate the judgement drops no "
            "longer enters the template the next beats are graded by.",
            "Before, the first beat of 293 of 776 ECG and 32 of 250 PPG tuning streams (every "
            "tuning record cut at 25 starts, 20 s) was graded against a dropped wave; now none. "
            "qtdb-sel310's first beat 0.33 -> 1.00 (the step-gate change above had exposed "
            "it). Beats under hrv.SQI_MIN: tuning records 401 -> 394, held out 112 -> 105 "
            "(scored once after).",
            "Every record's and stress case's beats bit-identical; quality changed only in the "
            "first five beats (mitdb-210: beats 4-8). One beat got worse: mitdb-106-v1's beat "
            "1, 0.66 -> 0.37 (its template is now its real first beat alone).",
        ]),
        ("Red team on the pass's new code", [
            "NSTDB's own electrode motion (118e00 less 118e24) laid on 9 tuning records at 3 "
            "offsets, the close-pair stage on against off: at +6, 0 and -6 dB it lost 3, 11 "
            "and 49 true beats and removed 4, 57 and 162 extra ones (mean |HR error| +0.01, "
            "-1.02, -2.83 bpm).",
            "Against that gain (strict xfails in tests/redteam/test_heart15.py): it drops a V "
            "of MIT-BIH 207's PVC run at +6 dB, and with no noise at all once the QRS halves "
            "(the lead's clearest window is remembered for ever); in -6 dB bigeminy (200) it "
            "drops 7 true sinus beats for 2 extra ones; a 0.33 s atrial run under -6 dB loses "
            "12 of its 61 beats (once a beat goes, the usual interval never shortens).",
            "The step gate's neighbour spread lets an electrode pop whose jump a front-end "
            "filter spreads over two samples (0.6/0.4) read as a QRS: beats near 16 pops on "
            "MIT-BIH 100 10 -> 16 at 130-1000 Hz. Requiring both neighbours to move mends it "
            "but cost 4 true beats on the tuning records resampled to 130 Hz: not kept. At "
            "130 Hz (a Polar H10's rate) the step gate also refuses MIT-BIH 104's paced beat at "
            "5.84 s (its spike returns over two samples).",
            "The first-beat rule kept a non-beat in 2 of 600 cuts under electrodes settling "
            "with noise (and 2 true beats more). The PPG rhythm changes make no beat from a "
            "flat 10-bit line's mains flicker and gave the same results as before under motion "
            "at half or twice the heart rate.",
            "Dropping a strap's RR intervals under 200 ms at entry (this pass's range check) "
            "took the median RMSSD error on double-counted systole-rr from 1.2 to 5.5 % "
            "(pyhrv-nni-long 6.8 -> 3.9 %): a short RR now goes on to the artefact corrector, "
            "only 0 and over 6 s are left out.",
        ]),
        ("Red team on the pass's later stages", [
            "An artefact of fixed shape matches its own earlier copies, so the recurring-shape "
            "stage keeps what `ecg_rhythm` and `ecg_pair` dropped (strict xfail in "
            "tests/redteam/test_heart15b.py): MIT-BIH 105 with an electrode tap every 1.1 s at "
            "half the QRS height, 43 -> 55 extra beats; over 6 tuning records with taps, a TENS "
            "unit's bursts and a fixed-shape twitch, 95 extra beats and no true one saved "
            "(NeuroKit2 worse on each: 62, 109, 125 on the test's three cases). On real PVCs in "
            "noise it saves beats (MIT-BIH 119: 9 for 1). Mains bursts, a seat motor's 60 Hz "
            "buzz, paced leads with noise: no effect.",
            "A heart that speeds up at once in heavy noise (QT Database 117's cycles cut to "
            "0.4 s for 40 beats, -6 dB) loses 16 of the run's beats to the close-pair stage "
            "(strict xfail): a beat given out right after a drop adds no interval, so the "
            "rhythm stays at the old rate; at 0 dB 0-2. Taking the rhythm from every incoming "
            "beat instead cost 106's V1 two true beats and 72 fast runs 187 more.",
            "Streaming equals batch on these cases from 1-sample chunks to 400 s, and an hour "
            "of taps keeps the stages' state bounded. (One held-out record, MIT-BIH 201, was "
            "run once compressed and with noise by mistake; it is in no figure.)",
            "`ClosePair` skipped the interval before a pair's dropped later beat and filed the "
            "one across it; it now leaves out only an interval that spans a dropped beat, as "
            "its docstring says (every corpus record's beats bit-identical; the fast run above "
            "as it was).",
        ]),
        ("Honest labels: ectopic beats and quality in arrhythmia (no beat changed)", [
            "`signal hr` said 'no heartbeat found' (exit 3) of MIT-BIH 106's V1, a real heart "
            "in bigeminy: its window quality counted normal intervals only (0.12 against "
            "MIN_QUALITY 0.15), and a seat read 119's bigeminy and trigeminy under the heart "
            "gate (0.26 against 0.3). In an ECG a steady two-beat cycle (two intervals in a "
            "row each within 0.1 of the one two back) now counts as covered: 0.15 and 0.59. "
            "The cost: ECG noise of random spikes (40 seeds at 100, 250, 360 Hz) said "
            "'heartbeat' in 18 of 120 cases, not 12 (white, pink and mains noise: none either "
            "way); a looser rule (0.15, or any pair) gave 32. Not in a PPG: there motion's "
            "peaks alternating with the pulses make such a cycle (the simulated motion PPG's "
            "artefact windows read 0.40 with it, 0.22 without).",
            "Then: random spikes band-pass into beats of one shape at Poisson intervals with "
            "no gap after a beat, so a recording now holds no heartbeat where over 3 % of its "
            "intervals (and more than one) are under 300 ms. The spike cases above 18 -> 0 of "
            "120; 40 new seeds with 1 % spikes 23 -> 2, with 2 % 57 -> 4 (those left have 1-2 "
            "such intervals). No tuning record has over 1.4 % (wrist-s1-low-bike, 1 of 70); no "
            "held-out record, scored once after, changed its answer (at most 2 of 480). The "
            "seats' streaming gate does not use this test.",
            "The ectopic count came from the RR corrector, whose thresholds adapt to frequent "
            "ectopy: 106's V1 0 of the annotation's 104, 119 1 of 66, QT Database 233 3 of 94, "
            "106 14 of 117 (and 62 'corrected'). It now comes from `edge/ectopic_beats.py`: a "
            "beat early against the running median of two-interval means (which holds "
            "through bigeminy), followed by a compensatory pause, an on-time beat "
            "(interpolated) or a run ending so; one only a little early (0.8-0.92) counts "
            "where its ECG shape differs from the on-time beats', and on PPG only between "
            "pulse-shaped beats. A corrected artefact touching an ectopic beat counts once, as "
            "ectopic; the corrector's own 'ectopic' label (Se 0.03, +P 0.20 on the tuning ECG) "
            "is reported as a misplaced beat.",
            "Against the annotation's ectopic labels (V A a S J E F), tuning ECG records Se "
            "0.711, +P 0.926 (95 % CI by record 0.48-0.87, 0.81-0.99); held out, scored once, "
            "Se 0.641 (0.35-0.94), +P 0.946 (0.84-0.99). 106's V1 93, 119 65, 233 81, 106 115 "
            "(0 corrected), clean sinus records 0 (MIT-BIH 100: 3, as annotated). Open: "
            "atrial ectopy that is not premature (QT Database 232: 1 of 133), MIT-BIH 208 (29 "
            "of 149), false flags in 0 dB noise (118e00: 34) and atrial fibrillation (203: "
            "12). The seats' streaming HRV flag still reads the corrector's labels.",
            "RMSSD, SDNN and pNN50 now leave out every interval that begins or ends at a "
            "labelled ectopic beat (106's V1: RMSSD 64.6 -> 71.3, SDNN 217 -> 210 ms; its "
            "couplets the labeller misses still slip through: HRV of a heart half in ectopy "
            "means little). `signal hrv` reports the same NN intervals (it counted 43 beside "
            "ectopic beats on 106's V1 as normal).",
            "Every record's beats, and the RR corrector's injected-artefact figures, are as "
            "before.",
        ]),
    ]),
]


def passes_section() -> list[str]:
    """PASSES as markdown: a heading per pass, a bold line per part, a bullet per change."""
    lines = [f"## {TITLE}", "",
             "Oldest first: what was seen before the fourth pass, then pass by pass (the eighth "
             "is not in this account). Each bullet is one change or one finding: what it was "
             "tuned on, its figures, what it did to the held-out records; 'Tried, not kept' "
             "marks what was not kept.", ""]
    for name, parts in PASSES:
        lines += [f"### {name}", ""]
        for part, bullets in parts:
            lines += [f"**{part}**", ""] * bool(part) + [f"- {b}" for b in bullets] + [""]
    return lines
