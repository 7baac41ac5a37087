// The visual timeline of the whole record on /timeline (templates/_visual_macros.html).
//
// static/charts.js draws the two Vega-Lite specs (timeline.charts.overview_spec and
// brush_spec) with no data; this script reads every event once from the overview endpoint
// (plugins/timeline_overview.py) and, whenever the range in view changes, lays out the
// events in view at that zoom and hands Vega the marks with their places:
// * marks on the same dates are stacked in lanes, never drawn over each other; claims
//   take the lanes first and are drawn last, so they are seen at every zoom;
// * every mark is at least MIN_WIDTH pixels wide, so a finger can hit it;
// * where a row has no room left, the events that do not fit (claims last) are not drawn
//   but counted, and the page says how many: zooming in shows them. The others have
//   MAX_LANES lanes of their own beside the claims', so that a day crowded with claims
//   still shows, at the closest zoom, what else happened on it.
// The range changes by wheel, pinch, drag, the buttons and the brush under the chart; it
// is kept in the address (?view=2022-02-01..2022-02-28) and links the list below to it.
// It opens on the years that hold most of the events (mainRun): a lone early event (the
// 1936 treaty) would otherwise squeeze the rest of the record into a tenth of the width.

const DAY = 86_400_000;
const MIN_SPAN = 14 * DAY; // the closest zoom: two weeks across
const MIN_WIDTH = 12; // px, the narrowest mark
const POINT = 12; // px, the room a day's point takes
const GAP = 2; // px between marks in a lane
const LANE = 15; // px per lane; a mark is LANE - 3 high
const HEADER = 15; // px above a row's lanes, for its name
const MAX_LANES = 4; // lanes per row holding events other than claims: past them, counted
// Claims may open more lanes: they are what a reader must not miss. The record's claims,
// crowded in 2022, take 14 lanes in a row on a 375 px phone over the years the chart
// opens on (the browser test draws every one; 13 are too few), and 23 across the whole
// record; past this many, a claim too is counted, not drawn, and the page says how many.
// A row takes only the lanes it uses.
const MAX_CLAIM_LANES = 24;
const MIN_BRUSH = 6; // px, the narrowest brush drawn
const WHEEL_STEP = 300; // wheel delta (px) that halves or doubles the range
// Parameters of the page that place the list rather than filter it: the list link drops
// them (the range replaces them). The page's filters themselves are kept as they are.
const PLACING = ["from", "to", "view", "start", "before", "around", "year"];
const VIEW = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/;
const DATE = new Intl.DateTimeFormat("en-GB", {
  timeZone: "UTC", day: "numeric", month: "short", year: "numeric",
});

const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

function drawn(container) {
  if (container.dataset.chartState) return Promise.resolve(container.vegaView);
  return new Promise((resolve) =>
    container.addEventListener("chartdrawn", () => resolve(container.vegaView), { once: true }));
}

// The endpoint's rows as the marks' data: times in ms, the end exclusive.
function readEvents(data) {
  const at = Object.fromEntries(data.columns.map((name, i) => [name, i]));
  const claims = new Set(data.claims);
  return data.rows.map((row) => {
    const start = Date.parse(row[at.date_start]);
    const last = row[at.date_end] ? Date.parse(row[at.date_end]) : start;
    return {
      id: row[at.id],
      url: data.event_url + row[at.id],
      title: row[at.title],
      date_label: row[at.date_label],
      status: row[at.status],
      type: row[at.type],
      claim: claims.has(row[at.status]),
      vague: Boolean(row[at.approximate] || row[at.uncertain]),
      shape: row[at.precision] === "day" && last === start ? "day" : "span",
      start,
      end: last + DAY,
    };
  });
}

const yearOf = (ms) => new Date(ms).getUTCFullYear();

// The first start and the last end of the events, by a loop: spreading a large record's
// dates into Math.min's arguments overflows the call stack.
function extent(events) {
  let first = Infinity;
  let last = -Infinity;
  for (const e of events) {
    if (e.start < first) first = e.start;
    if (e.end > last) last = e.end;
  }
  return [first, last];
}

// The run of years the chart opens on: the events' years split wherever more than
// `gapYears` years in a row have none (the rule that marks gaps on the home page's chart,
// timeline.charts.MAX_EMPTY_YEARS), and the run where most events start (the later of
// two as large). Null when the events' years make one run: the chart opens on all of it.
function mainRun(events, gapYears) {
  const runs = []; // {first, last, events}, in order
  for (const year of [...new Set(events.map((e) => yearOf(e.start)))].sort((a, b) => a - b)) {
    const run = runs[runs.length - 1];
    if (run && year - run.last - 1 <= gapYears) run.last = year;
    else runs.push({ first: year, last: year, events: 0 });
  }
  if (runs.length < 2) return null;
  for (const e of events) runs.find((r) => yearOf(e.start) <= r.last).events += 1;
  const main = runs.reduce((best, r) => (r.events >= best.events ? r : best));
  const inside = events.filter((e) => yearOf(e.start) >= main.first && yearOf(e.start) <= main.last);
  const label = (r) => (r.first === r.last ? `${r.first}` : `${r.first}–${r.last}`);
  const others = runs.filter((r) => r !== main);
  const [from, to] = extent(inside);
  return {
    from,
    to,
    years: label(main),
    outside: others.reduce((n, r) => n + r.events, 0),
    elsewhere: others.map(label).join(", "),
  };
}

function perYear(events) {
  const counts = new Map();
  for (const e of events) {
    const year = new Date(e.start).getUTCFullYear();
    counts.set(year, (counts.get(year) || 0) + 1);
  }
  return [...counts].map(([year, n]) => ({
    year, events: n, start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1),
  }));
}

// Lanes of one row: claims first, then the others in the gaps left, a new lane opened for
// them while fewer than MAX_LANES lanes hold one; each in the order of its mark's left
// edge (not of its date: a day's point reaches half a point before its day, so it can
// start left of a span that begins a little earlier). Each lane keeps its claims' extents
// (sorted, apart) and the end of its last other mark.
function layOut(items, px) {
  const extent = (e) => {
    const left = px(e.start);
    if (e.shape === "day") return [left - POINT / 2, left + POINT / 2];
    return [left, Math.max(px(e.end), left + MIN_WIDTH)];
  };
  // (a stable sort: marks with the same left edge keep their date order)
  const ordered = items.map((e) => ({ e, at: extent(e) })).sort((a, b) => a.at[0] - b.at[0]);
  const lanes = []; // {claims: [[l, r]], end, next}
  const placed = [];
  let hidden = 0;
  for (const { e, at: [l, r] } of ordered.filter(({ e }) => e.claim)) {
    let lane = lanes.findIndex((k) => k.end + GAP <= l);
    if (lane < 0 && lanes.length < MAX_CLAIM_LANES) {
      lane = lanes.push({ claims: [], end: -Infinity, next: 0 }) - 1;
    }
    if (lane < 0) {
      hidden += 1;
      continue;
    }
    lanes[lane].claims.push([l, r]);
    lanes[lane].end = r;
    placed.push({ e, lane });
  }
  for (const k of lanes) k.end = -Infinity;
  let others = 0; // lanes holding an event other than a claim
  for (const { e, at: [l, r] } of ordered.filter(({ e }) => !e.claim)) {
    let lane = lanes.findIndex((k) => {
      while (k.next < k.claims.length && k.claims[k.next][1] + GAP <= l) k.next += 1;
      const claim = k.claims[k.next];
      return k.end + GAP <= l && (!claim || claim[0] >= r + GAP);
    });
    if (lane < 0 && others < MAX_LANES) {
      lane = lanes.push({ claims: [], end: -Infinity, next: 0 }) - 1;
    }
    if (lane < 0) {
      hidden += 1;
      continue;
    }
    if (lanes[lane].end === -Infinity) others += 1;
    lanes[lane].end = r;
    placed.push({ e, lane });
  }
  return { placed, lanes: Math.max(1, lanes.length), hidden };
}

// The marks in view between from and to, across `width` pixels, and the rows they sit in.
function marksInView(events, types, from, to, width) {
  const px = (t) => ((t - from) / (to - from)) * width;
  const marks = [];
  const rows = [];
  let top = 0;
  let hidden = 0;
  for (const type of types) {
    const items = events.filter((e) => e.type === type && e.start < to && e.end > from);
    if (!items.length) continue; // a row with nothing in view takes no room
    const row = layOut(items, px);
    const shortest = (MIN_WIDTH / width) * (to - from);
    for (const { e, lane } of row.placed) {
      const markTop = top + HEADER + lane * LANE;
      const end = Math.max(e.end, e.start + shortest); // drawn at least MIN_WIDTH wide
      marks.push({ ...e, end, top: markTop, bottom: markTop + LANE - 3, middle: markTop + (LANE - 3) / 2 });
    }
    hidden += row.hidden;
    const bottom = top + HEADER + row.lanes * LANE;
    rows.push({ label: type, top, bottom });
    top = bottom + 3;
  }
  return { marks, rows, height: top, hidden };
}

// A range around the first and last times: a hundredth of it either side, at least a day,
// and at least the closest zoom across.
function padded(first, last) {
  const pad = Math.max((last - first) * 0.01, DAY, (MIN_SPAN - (last - first)) / 2);
  return [first - pad, last + pad];
}

class Overview {
  constructor(figure, view, brush, data) {
    this.figure = figure;
    this.view = view;
    this.brush = brush;
    this.events = readEvents(data);
    const present = new Set(this.events.map((e) => e.type));
    this.types = data.types.filter((t) => present.has(t));
    this.whole = padded(...extent(this.events));
    this.run = mainRun(this.events, data.gap_years);
    [this.from, this.to] = this.clamp(...this.opening());
    this.pending = false;
    this.syncing = false;
  }

  // The range the page opens on: ?view=, else the page's from/to filters, else the main
  // run of years (said under the chart, with what it leaves out), else everything.
  opening() {
    const view = VIEW.exec(new URLSearchParams(location.search).get("view") || "");
    if (view) return [Date.parse(view[1]), Date.parse(view[2]) + DAY];
    const { from, to } = this.figure.dataset;
    if (from || to) {
      return [from ? Date.parse(from) : this.whole[0], to ? Date.parse(to) + DAY : this.whole[1]];
    }
    if (this.run) {
      this.openedOnRun = true;
      return padded(this.run.from, this.run.to);
    }
    return this.whole;
  }

  clamp(from, to) {
    const [min, max] = this.whole;
    const span = Math.min(Math.max(to - from, MIN_SPAN), max - min);
    const start = Math.min(Math.max(from, min), max - span);
    return [start, start + span];
  }

  show(from, to) {
    this.moved = true;
    [this.from, this.to] = this.clamp(from, to);
    if (!this.pending) {
      this.pending = true;
      this.figure.dataset.overviewState = "drawing";
      requestAnimationFrame(() => this.draw());
    }
  }

  zoom(factor, at = (this.from + this.to) / 2) {
    this.show(at - (at - this.from) * factor, at + (this.to - at) * factor);
  }

  pan(share) {
    const shift = (this.to - this.from) * share;
    this.show(this.from + shift, this.to + shift);
  }

  async draw() {
    this.pending = false;
    this.figure.dataset.overviewState = "drawing";
    const start = performance.now();
    const { from, to, view } = this;
    const laid = marksInView(this.events, this.types, from, to, view.width());
    view.change("events", vega.changeset().remove(vega.truthy).insert(laid.marks))
      .change("rows", vega.changeset().remove(vega.truthy).insert(laid.rows))
      .signal("x_from", from).signal("x_to", to).height(laid.height);
    await view.runAsync();
    performance.measure("timeline layout and draw", { start, end: performance.now() });
    this.describe(laid.hidden);
    await this.moveBrush();
    // what the tests (and a curious reader) can read: what is drawn, what did not fit
    Object.assign(this.figure.dataset, {
      marks: laid.marks.length, hidden: laid.hidden, draws: Number(this.figure.dataset.draws || 0) + 1,
      overviewState: this.pending ? "drawing" : "drawn",
    });
  }

  describe(hidden) {
    const { from, to, figure } = this;
    const last = to - 1;
    figure.querySelector(".overview-range").textContent =
      `${DATE.format(from)} – ${DATE.format(last)}`;
    const view = `${isoDay(from)}..${isoDay(last)}`;
    const params = new URLSearchParams(location.search);
    for (const name of PLACING) params.delete(name);
    params.set("from", isoDay(from));
    params.set("to", isoDay(last));
    params.set("view", view);
    figure.querySelector(".overview-list-link").href = `${figure.dataset.listUrl}?${params}`;
    figure.querySelector(".overview-crowded").textContent = hidden
      ? `(${hidden.toLocaleString("en")} event${hidden === 1 ? " is" : "s are"} too close to others to draw at this zoom: zoom in to see ${hidden === 1 ? "it" : "them"}.)`
      : "";
    const run = this.openedOnRun && !this.moved ? this.run : null;
    figure.querySelector(".overview-outside").textContent = run
      ? `Opened on ${run.years}, the years that hold most of these events; ${run.outside.toLocaleString("en")} event${run.outside === 1 ? "" : "s"} from ${run.elsewhere} ${run.outside === 1 ? "is" : "are"} outside this range: “Whole record” shows every one.`
      : "";
    figure.dataset.range = view;
    if (!this.moved) return; // the address changes once the reader moves the range
    // the address keeps the range, so the view can be shared (no new history entry)
    const here = new URLSearchParams(location.search);
    here.set("view", view);
    history.replaceState(history.state, "", `${location.pathname}?${here}${location.hash}`);
  }

  // The brush shows the range in view; moving the brush moves the range. Over the whole
  // record there is none: a brush over all the strip could only be moved, not drawn anew.
  async moveBrush() {
    const x = this.brush.scale("x");
    const all = this.from <= this.whole[0] && this.to >= this.whole[1];
    this.syncing = true;
    let [left, right] = [x(this.from), x(this.to)];
    if (right - left < MIN_BRUSH) { // a month of a century: still to be seen and grabbed
      const middle = (left + right) / 2;
      [left, right] = [middle - MIN_BRUSH / 2, middle + MIN_BRUSH / 2];
    }
    this.brush.signal("brush_x", all ? [0, 0] : [left, right]);
    await this.brush.runAsync();
    this.syncing = false;
  }

  brushed(range) {
    if (this.syncing || !range || range.length !== 2) return;
    const [from, to] = range.map(Number);
    if (to - from > 0 && (Math.abs(from - this.from) > DAY || Math.abs(to - this.to) > DAY)) {
      this.show(from, to);
    }
  }

  // Time at a pointer's clientX, and milliseconds per pixel, on the chart's x scale.
  timeAt(clientX) {
    const svg = this.view.container().querySelector("svg, canvas");
    const left = svg.getBoundingClientRect().left + this.view.padding().left + this.view.origin()[0];
    return this.view.scale("x").invert(clientX - left).getTime();
  }

  msPerPixel() {
    return (this.to - this.from) / this.view.width();
  }
}

// Wheel zooms around the pointer (a sideways wheel pans); one finger or the mouse drags
// the range; two fingers pinch it. A drag is not a click on the mark it started on.
function listen(overview, element) {
  element.addEventListener("wheel", (event) => {
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 16 : 1;
    if (Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      overview.pan((event.deltaX * unit) / overview.view.width());
    } else {
      overview.zoom(2 ** ((event.deltaY * unit) / WHEEL_STEP), overview.timeAt(event.clientX));
    }
  }, { passive: false });
  const pointers = new Map();
  let gesture = null;
  let dragged = false;
  const begin = () => {
    const xs = [...pointers.values()];
    gesture = { xs, from: overview.from, to: overview.to, perPixel: overview.msPerPixel() };
    if (xs.length === 2) gesture.at = overview.timeAt((xs[0] + xs[1]) / 2);
  };
  element.addEventListener("pointerdown", (event) => {
    if (event.button > 0) return;
    pointers.set(event.pointerId, event.clientX);
    dragged = false;
    begin();
  });
  element.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId) || !gesture) return;
    pointers.set(event.pointerId, event.clientX);
    const xs = [...pointers.values()];
    if (xs.length === 1 && gesture.xs.length === 1) {
      const dx = xs[0] - gesture.xs[0];
      if (!dragged && Math.abs(dx) < 5) return;
      if (!dragged) element.setPointerCapture(event.pointerId);
      dragged = true;
      const shift = -dx * gesture.perPixel;
      overview.show(gesture.from + shift, gesture.to + shift);
    } else if (xs.length === 2 && gesture.xs.length === 2) {
      dragged = true;
      const before = Math.abs(gesture.xs[0] - gesture.xs[1]) || 1;
      const factor = before / (Math.abs(xs[0] - xs[1]) || 1);
      const at = gesture.at;
      overview.show(at - (at - gesture.from) * factor, at + (gesture.to - at) * factor);
    }
  });
  const end = (event) => {
    if (!pointers.delete(event.pointerId)) return;
    begin();
  };
  element.addEventListener("pointerup", end);
  element.addEventListener("pointercancel", end);
  element.addEventListener("click", (event) => {
    if (dragged) {
      event.stopPropagation();
      event.preventDefault();
      dragged = false;
    }
  }, true);
}

function buttons(overview, figure) {
  const actions = {
    in: () => overview.zoom(0.5),
    out: () => overview.zoom(2),
    earlier: () => overview.pan(-0.5),
    later: () => overview.pan(0.5),
    all: () => overview.show(...overview.whole),
  };
  for (const button of figure.querySelectorAll("[data-zoom]")) {
    button.addEventListener("click", actions[button.dataset.zoom]);
  }
}

async function start(figure) {
  const [view, brush, response] = await Promise.all([
    drawn(figure.querySelector(".overview-view")),
    drawn(figure.querySelector(".overview-brush")),
    fetch(figure.dataset.overviewUrl),
  ]);
  if (!view || !brush || !response.ok) {
    throw new Error(`the timeline could not be drawn (${response.status})`);
  }
  const data = await response.json();
  if (!data.rows.length) {
    figure.querySelector(".overview-view").textContent = "No event to draw.";
    figure.dataset.overviewState = "empty";
    return;
  }
  const overview = new Overview(figure, view, brush, data);
  const years = perYear(overview.events);
  brush.change("years", vega.changeset().insert(years))
    .signal("x_min", overview.whole[0]).signal("x_max", overview.whole[1])
    .signal("y_max", Math.max(...years.map((y) => y.events)));
  await brush.runAsync();
  brush.addSignalListener("brush_start", (_, range) => overview.brushed(range));
  listen(overview, figure.querySelector(".overview-view"));
  buttons(overview, figure);
  figure.querySelector(".overview-controls").hidden = false;
  figure.querySelector(".overview-list").hidden = false;
  figure.overview = overview; // for the tests and for readers' consoles
  await overview.draw();
}

for (const figure of document.querySelectorAll("figure.overview[data-overview-url]")) {
  start(figure).catch((error) => {
    figure.dataset.overviewState = "failed";
    console.error("timeline", error);
  });
}
