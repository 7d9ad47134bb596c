"""What an edge unit reports of its run when it stops (`empathy edge run --json`, `--stats`):
what it read and sent, what it refused and why, per seat where a seat's own sensor is the
cause (a venue finds the seat to look at), its link and its clock."""

from __future__ import annotations

import math
from typing import Callable

from empathy.transports import redacted


def per_seat(unit, value: Callable, every: bool = False) -> dict:
    """Seat id -> value(its features): every seat's, or those with something to say."""
    out = {str(seat.seat_id): value(f) for seat, f in zip(unit.cfg.seats, unit.features)}
    return {k: v for k, v in out.items() if every or v}


def seat_eda(unit) -> dict:
    """Skin conductance per seat that has it: tonic level, responses a minute, the last
    response, its quality and its share of the arousal evidence (the wire's sample has no
    room for it; docs/sensors.md)."""
    return per_seat(unit, lambda f: f.eda_report and {
        **f.eda_report, "arousal_confidence": round(f.affect.confidence, 3)})


def unit_stats(unit, t_us: int) -> dict:
    sync, screen = unit.sync, unit.screen
    c = sync.clock
    return {"unit_id": unit.cfg.unit_id, "packets_sent": unit.link.sent,
            "readings": unit.readings, "face_model": unit.face_model,
            "uplink": {**unit.link.stats(redacted(unit.cfg.uplink), sync.answered,
                                         getattr(unit.uplink, "reached", None)),
                       "refused_by_broker": dict(getattr(unit.uplink, "denied", {}))},
            "samples_impossible": unit.impossible,  # sent with values dropped (wire.RANGES)
            "samples_unsent": unit.unsent,
            "estimate_latency_s": unit.estimate_lag_s,  # arousal refers to the body then
            "eda": seat_eda(unit),
            # per seat with an accelerometer: PPG beats judged and left out for motion
            "motion": per_seat(unit, lambda f: f.motion_report() if f.motion.track is not None else None),
            # per seat: estimates with HR whose heart left the arousal (a paced rhythm)
            "heart_out": per_seat(unit, lambda f: f.heart_out),
            # per seat: estimates whose rate, of quality enough, the waveform's own evidence
            # withheld, by why (seat_heart): 'ecg_lone_spikes', 'ppg_no_pulse' (no pulse's
            # shape nor repeat: no heart, or artefacts over it, as a viewer eating with no
            # accelerometer to say so)
            "heart_withheld": per_seat(unit, lambda f: f.heart_withheld),
            # per seat: figures no heart makes from its heart-rate device (edge.device_hr)
            "device_hr_rejected": per_seat(unit, lambda f: f.device_rejected),
            # per seat: frames its serial board sent over a second behind its newest (a
            # third-party firmware's retransmit or late task: sensors/serial/board_clock.py)
            "frames_out_of_order": {str(seat.seat_id): n for seat, src in zip(
                unit.cfg.seats, unit.sources) if (n := getattr(src, "frames_out_of_order", 0))},
            # per seat: what its source dropped as impossible, in the source's own unit
            # (brainflow://, lsl://: samples not finite or out of range; ble://: notifications)
            "source_rejected": {str(seat.seat_id): n for seat, src in zip(
                unit.cfg.seats, unit.sources) if (n := getattr(src, "rejected", 0))},
            # per seat: its sensor faults at the end, as sent to the host (wire kind 7)
            "faults": unit.faults.stats(),
            # per seat: what it loaded, and with a heart sensor's correction, whether the
            # device read is the one it was measured on ("uncalibrated device": not applied)
            "calibration": per_seat(unit, lambda f: f.profile.names and {
                **f.profile.names, **({"heart_device": f.heart.status} if f.heart.status
                                      else {})}),
            "cues_taken": screen.taken if screen else 0,
            "cues_rejected": screen.rejected if screen else 0,
            "cues_stale": screen.stale if screen else 0,
            "cues_shed": screen.shed if screen else 0,
            "baselines": per_seat(unit, lambda f: f.baselines_taken, every=True),
            # seats that went on with the viewer of before the restart (viewer_state)
            "baselines_resumed": unit.resumed,
            "clock": {"synced": sync.synced, "offset_us": round(c.to_host(t_us) - t_us),
                      "drift_ppm": round(c.drift_ppm, 3),
                      "drift_se_ppm": (round(sync.drift_se_ppm, 3)
                                       if math.isfinite(sync.drift_se_ppm) else None),
                      "rtt_us": sync.rtt_us,
                      "residual_us": round(sync.residual_us(), 1) if sync.synced else None,
                      "sync_loss_permille": sync.loss_permille,
                      "sync_replies_rejected": sync.rejected,
                      "host_clock_jumps": sync.jumps}}
