// Operator dashboard: renders the API's live state (WebSocket /api/v1/live) and sends
// controls (POST /api/v1/control). The token comes from the page address (/#token=...);
// it is moved to this tab's session storage and out of the address bar at once, and goes
// to the server only in a header or the WebSocket's first message. Every piece of text
// from the server is set as text (textContent), never parsed as HTML.
"use strict";
const token = (() => {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {
    sessionStorage.setItem("empathy-token", given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("empathy-token") || "";
})();
const $ = (id) => document.getElementById(id);
// A new element with text (never HTML) and an optional class.
function el(tag, text = "", cls = "") {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
const fmt = (x, d = 2) => (x === null || x === undefined) ? "-" : Number(x).toFixed(d);
// a unit on another release than the host's (host/unit_release.py), and what to do
const RELEASE = {older: ": older than the host, update it", newer: ": newer than the host, update the host"};

function drawCurve(curve) {
  const c = $("curve"), g = c.getContext("2d");
  g.fillStyle = "#0d1014"; g.fillRect(0, 0, c.width, c.height);
  if (curve.length < 2) return;
  const t0 = curve[0][0], t1 = curve[curve.length - 1][0] || t0 + 1;
  const x = (t) => (t - t0) / Math.max(1e-6, t1 - t0) * (c.width - 10) + 5;
  const y = (a) => (1 - (a + 1) / 2) * (c.height - 10) + 5;
  g.strokeStyle = "#333"; g.beginPath(); g.moveTo(0, y(0)); g.lineTo(c.width, y(0)); g.stroke();
  for (const [col, idx] of [["#54a0ff", 2], ["#ff9f43", 1]]) {
    g.strokeStyle = col; g.lineWidth = 2; g.beginPath();
    curve.forEach((p, i) => { if (p[idx] === null) return; i ? g.lineTo(x(p[0]), y(p[idx])) : g.moveTo(x(p[0]), y(p[idx])); });
    g.stroke();
  }
}

// The options table is rebuilt only when the decision changes, and its numbers updated in
// place, so a "force" button never disappears under the operator's click.
let shownDecision = "";
function renderOptions(d) {
  const body = $("options").tBodies[0];
  const key = d ? d.id + ":" + Object.keys(d.options).join(",") : "";
  if (key !== shownDecision) {
    shownDecision = key;
    body.replaceChildren();
    if (d) for (const o of Object.keys(d.options)) {
      const tr = body.insertRow();
      tr.dataset.option = o;
      for (let i = 0; i < 4; i++) tr.insertCell();
      tr.cells[0].textContent = o;
      const b = document.createElement("button");
      b.textContent = "force"; b.className = "force"; b.dataset.option = o;
      b.onclick = () => control({action: "force_branch", option: o});
      tr.insertCell().appendChild(b);
    }
  }
  if (d) for (const tr of body.rows) {
    const v = d.options[tr.dataset.option];
    tr.cells[1].textContent = fmt(v.lift);
    tr.cells[2].textContent = fmt(v.predicted_arousal);
    tr.cells[3].textContent = fmt(v.distance_to_aim);
  }
}

// A rehearsal (`empathy demo --rehearse`): push the simulated audience, see which branches
// are still unwalked. Hidden for a real audience.
function renderRehearsal(r) {
  $("rehearsal").hidden = !r;
  if (!r) return;
  $("push-now").textContent = fmt(r.push);
  if (document.activeElement !== $("push")) $("push").value = r.push;
  const body = $("branches").tBodies[0];
  body.replaceChildren();
  for (const [d, opts] of Object.entries(r.branches)) {
    const tr = body.insertRow();
    tr.insertCell().textContent = d;
    const cell = tr.insertCell();
    for (const [o, n] of Object.entries(opts)) {
      const span = document.createElement("span");
      span.className = n ? "ok" : "bad";
      span.textContent = `${o} (${n}) `;
      cell.appendChild(span);
    }
  }
}

function render(s) {
  $("story").textContent = s.story;
  $("t").textContent = fmt(s.t_s, 1);
  const seg = s.segment;
  $("segment").textContent = seg ? seg.id : "-";
  $("segment-t").textContent = seg ? fmt(seg.t_s, 1) : "-";
  $("segment-d").textContent = seg && seg.duration_s ? `${seg.duration_s} s` : "-";
  $("lut").textContent = s.grade ? s.grade.lut : "-";
  $("strength").textContent = s.grade ? fmt(s.grade.strength) : "-";
  const a = s.audience;
  $("arousal").textContent = a ? fmt(a.arousal) : "-";
  $("arousal-se").textContent = a ? fmt(a.arousal_se) : "-";
  $("valence").textContent = a ? fmt(a.valence) : "-";
  $("seats-good").textContent = a ? `${a.seats_good}/${a.seats_total}` : "-";
  $("synchrony").textContent = a ? fmt(a.synchrony) : "-";
  // faults the operator must know of (an output that did not open, a clip or LUT that
  // failed): the latest few, newest last
  $("alerts").textContent = (s.alerts || []).slice(-3).map(
    (a) => a.event === "seat_fault" ? `seat ${a.seat}: ${a.text}` :
           `${a.event}: ${a.output || a.segment || a.lut || ""} ${a.why || ""}` +
           (a.next ? ` -> ${a.next}` : "")).join(" | ");
  $("packets").textContent = s.packets.accepted;
  $("rejected").textContent = JSON.stringify(s.packets.rejected);
  const dropped = s.packets.dropped || {};
  $("dropped").textContent = `${dropped.kernel || 0} by the kernel, ${dropped.queue || 0} by the queue`;

  const d = s.next_decision;
  $("decision-id").textContent = d ? d.id : "(none after this segment)";
  $("countdown").textContent = d ? (d.decided ? "decided" : fmt(d.closes_in_s, 1)) : "-";
  $("aim").textContent = d ? fmt(d.aim_arousal) : "-";
  $("default").textContent = d ? d.default : "-";
  renderOptions(d);
  const ld = s.last_decision;
  $("last-decision").textContent = ld ? `${ld.decision} -> ${ld.chosen}` : "-";
  $("last-reason").textContent = ld ? `(${ld.reason})` : "";
  drawCurve(s.curve);
  renderRehearsal(s.rehearsal);
  $("kiosk").hidden = !s.kiosk;
  if (s.kiosk) {
    const phases = {attract: "attract loop, nobody there", baseline: "resting baseline",
                    film: "the film", ended: "the story has ended"};
    $("kiosk-phase").textContent = phases[s.kiosk.phase] || s.kiosk.phase;
    $("kiosk-visits").textContent = (s.kiosk.visit ? `visit ${s.kiosk.visit}; ` : "") +
      `${s.kiosk.visits} visits so far`;
  }

  renderRoom(s);  // room.js
  const ub = $("units").tBodies[0];
  ub.replaceChildren(...s.units.map((u) => {
    const tr = document.createElement("tr");
    tr.append(el("td", String(u.unit)), el("td", u.seats.join(", ")),
      el("td", u.contact ? "yes" : "no", u.contact ? "ok" : "bad"),
      el("td", u.mains ? "mains" : (u.battery_pct === null ? "n/a" : fmt(u.battery_pct, 0) + " %")),
      el("td", fmt(u.loss_pct, 1)), el("td", fmt(u.clock_offset_ms, 1)),
      el("td", u.estimate_lag_s === null || u.estimate_lag_s === undefined ? "default"
        : fmt(u.estimate_lag_s, 1)),
      el("td", fmt(u.silent_s, 1), u.silent_s > 2 ? "bad" : ""),
      el("td", `${u.gaps} (${fmt(u.gap_s, 0)} s), ${u.restarts} restart(s)` +
        (u.replayed ? `, ${u.replayed} replayed` : ""), u.gaps || u.replayed ? "bad" : ""),
      el("td", `${u.firmware || "-"}${RELEASE[u.release] || ""} / wire v${u.wire_version}`,
        RELEASE[u.release] ? "bad" : ""));
    return tr;
  }));
  const op = s.operator;
  $("mode").textContent = op.killed ? "KILL SWITCH: director's cut" :
    (op.forced ? `forced: ${op.forced} at next decision` : "audience decides");
  $("mode").className = op.killed ? "bad" : "ok";
  $("policy").textContent = op.policy;
  $("control-log").replaceChildren(...op.controls.map(
    (c) => el("li", `${fmt(c.at_s, 1)} s: ${c.action} = ${JSON.stringify(c.value)} by ${c.by}`)));
}

async function control(doc) {
  const r = await fetch("/api/v1/control", {method: "POST", body: JSON.stringify(doc),
    headers: {"Content-Type": "application/json", "Authorization": `Bearer ${token}`}});
  const res = await r.json();
  $("control-msg").textContent = res.ok ? `sent: ${doc.action}` : `refused: ${res.error}`;
  $("control-msg").className = res.ok ? "ok" : "bad";
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/live`);
  ws.onopen = () => {
    ws.send(JSON.stringify({type: "auth", token}));  // first message: never in the URL
    $("link").textContent = "live"; $("link").className = "ok";
  };
  ws.onclose = () => {
    $("link").textContent = token ? "disconnected - retrying" : "no operator token in the address (#token=...)";
    $("link").className = "bad"; setTimeout(connect, 1000);
  };
  ws.onmessage = (m) => { const doc = JSON.parse(m.data); if (doc.type === "state") render(doc); };
}

$("kill").onclick = () => control({action: "kill_switch", on: true});
$("resume").onclick = () => control({action: "kill_switch", on: false});
$("grade-apply").onclick = () => control({action: "grade_strength", strength: Number($("grade").value)});
$("freeze").onclick = () => control({action: "freeze_learning"});
$("unfreeze").onclick = () => control({action: "unfreeze_learning"});
$("reset").onclick = () => control({action: "reset_learning"});
const push = (v) => control({action: "audience", push: Math.max(-1, Math.min(1, v))});
$("push").onchange = () => push(Number($("push").value));
$("push-calm").onclick = () => push(Number($("push").value) - 0.25);
$("push-zero").onclick = () => push(0);
$("push-up").onclick = () => push(Number($("push").value) + 0.25);
connect();
