// The event map: one marker per place, sized by its events, over the country borders the
// site serves; Leaflet gives zoom and pan by wheel, pinch, keys and buttons. Markers that
// would overlap at the current zoom are merged into one (Leaflet.markercluster), so no
// marker sits inside another; selecting a marker lists every event of its places, each
// linked to its page. The places come grouped by the server (plugins/event_map.py) in a
// JSON block named by the container: <div data-map="ID">, <script type="application/json"
// id="ID">. Areas far from the rest are small inset maps, whose markers lead the main map
// there, so the main map is not stretched over an empty ocean.
// Loaded as a module (deferred): the page is parsed and Leaflet loaded by now.

const LAND = { fillColor: "#eef0ea", fillOpacity: 1, color: "#8a9a9a", weight: 0.6 };
const PADDING = [28, 28]; // pixels kept around the places when fitting the map to them
// Markers whose centres are closer than the largest marker (pixels) at a zoom become one.
const LARGEST = 44;
const MERGE_RADIUS = LARGEST;
const MAX_ZOOM = 12;
const POPUP_CHROME = 90; // px a popup takes beyond its list: its head, padding and tip

const plural = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;

// A marker's diameter in pixels: at least 30 (a fingertip), growing with the events.
const diameter = (events) => Math.round(Math.min(LARGEST, 30 + 3 * Math.log2(events)));
const busiestFirst = (places) => [...places].sort((a, b) => b.events - a.events);
const nameOf = (place) => place.name || "an unnamed place";

// A round marker showing its number of events, named for screen readers.
const LabelledIcon = L.DivIcon.extend({
  createIcon(old) {
    const icon = L.DivIcon.prototype.createIcon.call(this, old);
    icon.setAttribute("aria-label", this.options.label);
    icon.dataset.events = this.options.events;
    return icon;
  },
});

function icon(places) {
  const events = places.reduce((sum, p) => sum + p.events, 0);
  const names = busiestFirst(places).map(nameOf).join("; ");
  const where = places.length === 1 ? "" : ` at ${places.length} places`;
  const size = diameter(events);
  return new LabelledIcon({
    className: places.length === 1 ? "map-marker" : "map-marker map-group",
    html: `<span>${events}</span>`,
    iconSize: [size, size],
    label: `${names}: ${plural(events, "event")}${where}`,
    events,
  });
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.textContent = text;
  return node;
}

// One place's part of a popup: its name, its events in date order, each linked to its
// page, and the timeline of all of them when more than are listed.
function placeSection(place) {
  const section = element("section");
  section.append(element("h3", {}, nameOf(place)));
  const note = element("p", {}, plural(place.events, "event"));
  if (place.listed.length < place.events) note.append(`, the latest ${place.listed.length} listed`);
  if (place.timeline) {
    note.append(" · ");
    note.append(element("a", { href: place.timeline }, "all on the timeline"));
  }
  section.append(note);
  const list = element("ol");
  for (const [url, date, title] of place.listed) {
    const item = element("li");
    item.append(element("a", { href: url }, title), " ", element("span", { class: "date" }, date));
    list.append(item);
  }
  section.append(list);
  return section;
}

function popupContent(places, zoomIn) {
  const content = element("div", { class: "map-popup" });
  if (places.length > 1) {
    const events = places.reduce((sum, p) => sum + p.events, 0);
    content.append(element("p", { class: "map-popup-head" },
      `${plural(events, "event")} at ${places.length} places near each other`));
    const button = element("button", { type: "button" }, "Zoom in to tell them apart");
    button.addEventListener("click", zoomIn);
    content.append(button);
  }
  for (const place of busiestFirst(places)) {
    content.append(placeSection(place));
  }
  return content;
}

// A popup as wide as the map allows beside the zoom buttons (kept clear of them; 120 px:
// the buttons, the margins and the popup's own padding), and the whole popup no taller
// than the map unless told: a long list scrolls inside it.
function popupOptions(map, maxHeight = Math.max(160, map.getSize().y - POPUP_CHROME)) {
  const size = map.getSize();
  return { maxWidth: Math.min(360, size.x - 120), maxHeight,
           autoPanPaddingTopLeft: [56, 12], autoPanPaddingBottomRight: [12, 12] };
}

function borders(map, land) {
  L.geoJSON(land, { style: LAND, interactive: false }).addTo(map);
}

// A control that fits the map to its places again.
function resetControl(fit) {
  const Control = L.Control.extend({
    onAdd() {
      const button = element("button", { type: "button", class: "map-reset" }, "All places");
      L.DomEvent.disableClickPropagation(button);
      button.addEventListener("click", fit);
      return button;
    },
  });
  return new Control({ position: "bottomleft" });
}

// The layer that merges the markers that would overlap at the map's zoom into one, which
// shows the events of all their places; selecting it calls open(places, cluster).
function mergingGroup(open) {
  const group = L.markerClusterGroup({
    maxClusterRadius: MERGE_RADIUS,
    zoomToBoundsOnClick: false, // selecting a group lists its events instead
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: false,
    iconCreateFunction: (cluster) => icon(cluster.getAllChildMarkers().map((m) => m.place)),
  });
  group.on("clusterclick", (event) => {
    open(event.layer.getAllChildMarkers().map((m) => m.place), event.layer);
  });
  return group;
}

const placeMarker = (place) => {
  const marker = L.marker([place.lat, place.lon], { icon: icon([place]), keyboard: true });
  marker.place = place;
  return marker;
};

// A popup on the map at `at` listing the events of places near each other, with a button
// that zooms in to `bounds`, far enough to tell them apart (its list at most `maxHeight`).
function openGroup(map, places, at, bounds, maxHeight) {
  const zoomIn = () => {
    map.closePopup();
    map.fitBounds(bounds, { padding: PADDING, maxZoom: map.getMaxZoom() });
  };
  L.popup(popupOptions(map, maxHeight)).setLatLng(at).setContent(popupContent(places, zoomIn))
    .openOn(map);
}

// Whether `bounds` lie in the lower half of the map, clear of its edges.
function inLowerHalf(map, bounds) {
  const size = map.getSize();
  const ne = map.latLngToContainerPoint(bounds.getNorthEast());
  const sw = map.latLngToContainerPoint(bounds.getSouthWest());
  return ne.y >= size.y / 2 && sw.y <= size.y - PADDING[1]
    && sw.x >= PADDING[0] && ne.x <= size.x - PADDING[0];
}

// Lists the events of places near each other (within `bounds`) above them, pointing at their
// northern edge, so that no place is under the list: opened at their centre, the list
// covered the northern places, and a list as tall as the map panned the map to fit it,
// past the southern ones. Unless the places are in the map's lower half already, the map
// first shows them there, zoomed in at most to `maxZoom`.
function listAbove(map, places, bounds, maxZoom) {
  if (!inLowerHalf(map, bounds)) {
    const half = Math.round(map.getSize().y / 2);
    map.fitBounds(bounds, { paddingTopLeft: [PADDING[0], half], paddingBottomRight: PADDING,
                            maxZoom, animate: false });
  }
  const north = L.latLng(bounds.getNorth(), bounds.getCenter().lng);
  const room = Math.round(map.latLngToContainerPoint(north).y) - POPUP_CHROME;
  openGroup(map, places, north, bounds, Math.max(80, room));
}

function mainMap(view, data, land) {
  const map = L.map(view, { zoomSnap: 0.25, minZoom: 1, maxZoom: MAX_ZOOM,
                            worldCopyJump: false, attributionControl: false });
  const [main] = data.regions;
  const fit = () => map.fitBounds(main.bounds, { padding: PADDING });
  fit();
  borders(map, land);
  resetControl(fit).addTo(map);
  // a group's list keeps the map's zoom: the reader chose it
  const group = mergingGroup((places, cluster) =>
    listAbove(map, places, cluster.getBounds(), map.getZoom()));
  const markers = data.places.map((place) =>
    placeMarker(place).bindPopup(() => popupContent([place]), popupOptions(map)));
  group.addLayers(markers);
  map.addLayer(group);
  return { map, group, markers };
}

// A small map of an outlying area: not zoomable itself; its markers lead the main map to
// the place and open its events there, and a marker merging places near each other leads
// it to them and lists all their events.
function insetMap(holder, region, data, land, main) {
  const names = busiestFirst(region.places.map((i) => data.places[i])).map(nameOf);
  const others = names.length > 1 ? ` and ${plural(names.length - 1, "other place")}` : "";
  const frame = element("div", { class: "map-inset" });
  const view = element("div", { class: "map-inset-view", role: "region",
                                "aria-label": `Elsewhere: ${names.join("; ")}` });
  frame.append(view, element("p", {}, names[0] + others));
  holder.append(frame);
  const map = L.map(view, { zoomControl: false, attributionControl: false, dragging: false,
                            touchZoom: false, scrollWheelZoom: false, doubleClickZoom: false,
                            boxZoom: false, keyboard: false, zoomSnap: 0.25,
                            maxZoom: MAX_ZOOM }); // (the merging layer needs one)
  map.fitBounds(region.bounds, { padding: [14, 14] });
  borders(map, land);
  const group = mergingGroup((places, cluster) =>
    listAbove(main.map, places, cluster.getBounds(), MAX_ZOOM));
  group.addLayers(region.places.map((i) => {
    const target = main.markers[i];
    return placeMarker(data.places[i])
      .on("click", () => main.group.zoomToShowLayer(target, () => target.openPopup()));
  }));
  map.addLayer(group);
}

async function draw(container) {
  const start = performance.now();
  const figure = container.closest("figure");
  try {
    const data = JSON.parse(document.getElementById(container.dataset.map).textContent);
    const topology = await (await fetch(data.borders)).json();
    const land = topojson.feature(topology, topology.objects.countries);
    // Antarctica (ISO 3166 numeric 010) has no finite shape in Mercator
    land.features = land.features.filter((country) => country.id !== "010");
    container.textContent = "";
    const main = mainMap(container, data, land);
    const insets = figure.querySelector(".map-insets");
    for (const region of data.regions.slice(1)) insetMap(insets, region, data, land, main);
    // how long reading the data and drawing took (browser devtools, benchmarks/bench_map.py)
    performance.measure("map event-map", { start, end: performance.now() });
    container.leafletMap = main.map; // for the tests and for readers' consoles
    container.dataset.mapState = "drawn";
  } catch (error) {
    container.dataset.mapState = "failed";
    container.textContent = "The map could not be drawn; the events are listed below.";
    console.error("map", error);
  }
}

for (const container of document.querySelectorAll("[data-map]")) {
  draw(container);
}
