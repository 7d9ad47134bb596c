// Operator dashboard: renders the API's live state (WebSocket /api/v1/live) and sends
// controls (POST /api/v1/control). The token comes from the page address: /#token=...
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const $ = (id) => document.getElementById(id);
const fmt = (x, d = 2) => (x === null || x === undefined) ? "-" : Number(x).toFixed(d);

function arousalColour(a, quality) {
  // -1 blue (calm) .. +1 red (excited); poor signal fades towards grey
  const t = Math.max(0, Math.min(1, (a + 1) / 2));
  const r = Math.round(60 + 195 * t), b = Math.round(255 - 195 * t), g = 90;
  return `rgba(${r},${g},${b},${0.25 + 0.75 * quality})`;
}

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
    body.innerHTML = "";
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
  $("packets").textContent = s.packets.accepted;
  $("rejected").textContent = JSON.stringify(s.packets.rejected);

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

  const map = $("seatmap"); map.innerHTML = "";
  for (const seat of s.seats) {
    const el = document.createElement("div");
    el.className = "seat"; el.id = `seat-${seat.seat}`;
    el.style.background = arousalColour(seat.arousal, seat.quality);
    el.title = `seat ${seat.seat}: arousal ${fmt(seat.arousal)}, HR ${fmt(seat.hr_bpm, 0)}, quality ${fmt(seat.quality)}`;
    el.innerHTML = `<b>${seat.seat}</b><span>${fmt(seat.arousal)}</span>`;
    map.appendChild(el);
  }
  const ub = $("units").tBodies[0]; ub.innerHTML = "";
  for (const u of s.units) {
    ub.insertRow().innerHTML = `<td>${u.unit}</td><td>${u.seats.join(", ")}</td>` +
      `<td class="${u.contact ? "ok" : "bad"}">${u.contact ? "yes" : "no"}</td>` +
      `<td>${u.mains ? "mains" : (u.battery_pct === null ? "n/a" : fmt(u.battery_pct, 0) + " %")}</td>` +
      `<td>${fmt(u.loss_pct, 1)}</td><td>${fmt(u.clock_offset_ms, 1)}</td>` +
      `<td class="${u.silent_s > 2 ? "bad" : ""}">${fmt(u.silent_s, 1)}</td>` +
      `<td>${u.firmware || "-"} / wire v${u.wire_version}</td>`;
  }
  const op = s.operator;
  $("mode").textContent = op.killed ? "KILL SWITCH: director's cut" :
    (op.forced ? `forced: ${op.forced} at next decision` : "audience decides");
  $("mode").className = op.killed ? "bad" : "ok";
  $("policy").textContent = op.policy;
  $("control-log").innerHTML = op.controls.map(
    (c) => `<li>${fmt(c.at_s, 1)} s: ${c.action} = ${JSON.stringify(c.value)} by ${c.by}</li>`).join("");
}

async function control(doc) {
  const r = await fetch("/api/v1/control", {method: "POST", body: JSON.stringify(doc),
    headers: {"Content-Type": "application/json", "Authorization": `Bearer ${token}`}});
  const res = await r.json();
  $("control-msg").textContent = res.ok ? `sent: ${doc.action}` : `refused: ${res.error}`;
  $("control-msg").className = res.ok ? "ok" : "bad";
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/live?token=${encodeURIComponent(token)}`);
  ws.onopen = () => { $("link").textContent = "live"; $("link").className = "ok"; };
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
