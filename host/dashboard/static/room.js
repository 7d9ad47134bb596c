// Seat map: the room as the host config's [seatmap] lays it out (row A nearest the screen,
// each row left to right as the audience faces the screen), or a grid of the seats heard.
// Tiles are coloured by arousal and faded by signal quality; dead seats are marked and
// listed by row and number, grouped by the unit that carries them. The tiles are built
// once per layout and repainted in place; everything from the wire goes in as text.
"use strict";

const STATUS_TEXT = {never_heard: "never heard", silent: "silent", no_signal: "no signal",
                     no_contact: "no contact", good: "good"};
let shownLayout = "";

function arousalColour(a, quality) {
  // -1 blue (calm) .. +1 red (excited); poor signal fades towards grey
  const t = Math.max(0, Math.min(1, (a + 1) / 2));
  const r = Math.round(60 + 195 * t), b = Math.round(255 - 195 * t), g = 90;
  return `rgba(${r},${g},${b},${0.25 + 0.75 * quality})`;
}

function seatLabel(row, i) {
  return row.name ? `${row.name}${row.numbers[i]}` : `seat ${row.seats[i]}`;
}

// el(tag, text, cls) and fmt come from dashboard.js, loaded after this file.

function buildRoom(map, rows) {
  map.replaceChildren();
  map.appendChild(el("div", "SCREEN", "screen"));
  // Tiles as wide as the widest row allows in the space there is (readable at 300+ seats).
  const widest = Math.max(1, ...rows.map((r) => r.seats.length));
  const label = rows.some((r) => r.name) ? 28 : 0;
  const w = Math.max(14, Math.min(44, Math.floor((map.clientWidth - 2 * label) / widest) - 3));
  // Seat numbers fit their tile: up to 3 digits at full size, longer ids (no seat map) smaller.
  const digits = Math.max(1, ...rows.flatMap((r) => r.numbers.map((n) => String(n).length)));
  map.style.setProperty("--seat-w", `${w}px`);
  map.style.setProperty("--seat-font", `${Math.min(0.32 * w, (w - 6) / (0.62 * digits))}px`);
  map.style.setProperty("--row-label-w", `${label}px`);
  for (const row of rows) {
    const line = el("div", "", "room-row");
    line.dataset.row = row.name;
    line.appendChild(el("span", row.name, "row-name"));
    row.seats.forEach((id, i) => {
      const tile = el("div", String(row.numbers[i]), "seat");
      tile.id = `seat-${id}`;
      tile.dataset.label = seatLabel(row, i);
      line.appendChild(tile);
    });
    line.appendChild(el("span", row.name, "row-name"));
    map.appendChild(line);
  }
}

function paintSeat(id, status, seat) {
  const tile = document.getElementById(`seat-${id}`);
  if (!tile) return;
  tile.className = `seat ${status}`;
  const live = seat && (status === "good" || status === "no_signal");
  tile.style.background = live ? arousalColour(seat.arousal, seat.quality) : "";
  const parts = [`${tile.dataset.label} (seat id ${id}${seat ? `, unit ${seat.unit}` : ""})`,
                 STATUS_TEXT[status] || status];
  if (seat) parts.push(`arousal ${fmt(seat.arousal)}`, `HR ${fmt(seat.hr_bpm, 0)}`,
                       `quality ${fmt(seat.quality)}`);
  for (const f of (seat && seat.faults) || []) parts.push(`${f.text}: ${f.action}`);
  tile.classList.toggle("fault", Boolean(seat && seat.faults && seat.faults.length));
  tile.title = parts.join(", ");
}

function listFaults(seats) {
  // Why a seat's sensor is out, as its unit says: what the usher does, seat by seat.
  const items = [];
  for (const s of seats) {
    const tile = document.getElementById(`seat-${s.seat}`);
    const label = tile ? tile.dataset.label : `seat ${s.seat}`;
    for (const f of s.faults || []) {
      const li = el("li", "", "fault");
      li.appendChild(el("b", label));
      li.appendChild(document.createTextNode(`: ${f.text}: ${f.action} (${fmt(f.since_s, 0)} s)`));
      items.push(li);
    }
  }
  const box = document.getElementById("seat-faults");
  if (!items.length) { box.replaceChildren(); return; }
  const list = el("ul");
  list.append(...items);
  box.replaceChildren(el("div", `sensor faults (${items.length})`, "bad"), list);
}

function groupByUnit(seats) {
  // [{status, unit, silent_s, labels}] in the room's order: one line per unit and status
  const groups = new Map();
  for (const d of seats) {
    const key = `${d.status}/${d.unit}`;
    if (!groups.has(key)) groups.set(key, {status: d.status, unit: d.unit, silent_s: d.silent_s, labels: []});
    const g = groups.get(key);
    g.labels.push(d.label);
    if (d.silent_s !== null && (g.silent_s === null || d.silent_s > g.silent_s)) g.silent_s = d.silent_s;
  }
  return [...groups.values()];
}

function listDead(room) {
  const box = document.getElementById("dead-seats");
  const head = el("div",
    room.dead.length ? `${room.dead.length} dead of ${room.seats_total} seats` :
                       `no dead seats (${room.seats_good} of ${room.seats_total} good)`,
    room.dead.length ? "bad" : "ok");
  const list = el("ul");
  for (const g of groupByUnit(room.dead)) {
    const why = STATUS_TEXT[g.status] + (g.status === "silent" && g.silent_s !== null ? ` ${fmt(g.silent_s, 0)} s` : "");
    const li = el("li", "", `dead-${g.status}`);
    li.appendChild(el("b", g.labels.join(" ")));
    li.appendChild(document.createTextNode(` - ${why}` + (g.unit === null ? "" : `, unit ${g.unit}`)));
    list.appendChild(li);
  }
  const parts = [head, list];
  if (room.no_contact.length) {
    parts.push(el("div", `no contact (empty, or the sensor is off the viewer): ` +
                                  room.no_contact.map((d) => d.label).join(" "), "quiet"));
  }
  box.replaceChildren(...parts);
}

function renderRoom(s) {
  const room = s.room, map = document.getElementById("seatmap");
  const layout = JSON.stringify(room.rows.map((r) => [r.name, r.seats, r.numbers]));
  if (layout !== shownLayout) {
    shownLayout = layout;
    buildRoom(map, room.rows);
  }
  const seats = new Map(s.seats.map((x) => [x.seat, x]));
  for (const row of room.rows) row.seats.forEach((id, i) => paintSeat(id, row.status[i], seats.get(id)));
  document.getElementById("room-count").textContent = `${room.seats_good} of ${room.seats_total} good`;
  listDead(room);
  listFaults(s.seats);
}

window.addEventListener("resize", () => { shownLayout = ""; });  // re-fit the tiles
