// The passport's places as a list (the page itself, which needs no script) or on a map; with a
// position, the nearest places first. Leaflet (static/vendor/leaflet/) is loaded only when the
// map is chosen, so a phone on a weak signal reading the list never pays for it. passport.js
// shares each fix (`passport:position`) and each stamp (`passport:stamped`) as events; what the
// site's maps share is in map-common.js.
import { baseMap, formatDistance as show, keyboardPopup, listOrMap, say } from "./map-common.js";

const places = JSON.parse(document.getElementById("passport-places")?.textContent || "[]");
const VIEW_KEY = "passport-view";
const NEAREST_SHOWN = 5;

const views = document.querySelector("[data-views]");
const mapView = document.querySelector("[data-map-view]");
const listView = document.querySelector("[data-list-view]");
const nearest = document.querySelector("[data-nearest]");
const nearestStatus = document.querySelector("[data-nearest-status]");
let fix = null; // the last position shared by passport.js
let choice = null; // the list or the map (listOrMap), with a tile server and a script
const itemOf = (id) => document.getElementById(`lieu-${id}`);
const isStamped = (id) => Boolean(itemOf(id)?.classList.contains("is-stamped"));
const distanceText = (place) => {
  if (!fix || fix.distances[place.id] === undefined) return "";
  const d = fix.distances[place.id];
  if (fix.inRange.includes(place.id)) return say(`Vous êtes sur place (à ${show(d)}).`, `You are there (${show(d)} away).`);
  return say(`À ${show(d)}.`, `${show(d)} away.`);
};
const statusText = (place) => {
  if (place.remembrance) return isStamped(place.id) ? say("Lieu de mémoire, passage noté", "Place of remembrance, visit noted") : say("Lieu de mémoire", "Place of remembrance");
  return isStamped(place.id) ? say("Tamponné", "Stamped") : say("À tamponner", "To stamp");
};

// ---- The list: the places nearest first, once the position is known ----

const rows = new Map(); // place id -> its row in the nearest-first list

function nearestRow(place) {
  const row = document.createElement("li");
  const link = document.createElement("a");
  link.href = `#lieu-${place.id}`;
  link.textContent = place.name;
  const distance = document.createElement("span");
  distance.className = "passport-nearest-distance";
  const state = document.createElement("span");
  state.className = "passport-nearest-state";
  row.append(link, " ", distance, " ", state);
  return row;
}

function updateNearest() {
  if (!nearest || !fix) return;
  const list = nearest.querySelector("[data-nearest-list]");
  const sorted = places.filter((p) => fix.distances[p.id] !== undefined).sort((a, b) => fix.distances[a.id] - fix.distances[b.id]);
  if (!rows.size) {
    for (const place of places) rows.set(place.id, nearestRow(place));
    const more = document.createElement("details");
    more.className = "passport-nearest-more";
    more.append(document.createElement("summary"), document.createElement("ol"));
    more.querySelector("ol").start = NEAREST_SHOWN + 1;
    list.after(more);
  }
  const more = nearest.querySelector(".passport-nearest-more");
  const rest = more.querySelector("ol");
  for (const place of sorted) {
    const row = rows.get(place.id);
    row.querySelector(".passport-nearest-distance").textContent = distanceText(place).replace(/\.$/, "");
    const state = isStamped(place.id) || place.remembrance ? statusText(place).toLowerCase() : "";
    row.querySelector(".passport-nearest-state").textContent = state && `· ${state}`;
    row.classList.toggle("is-stamped", isStamped(place.id));
  }
  // Rows move only when the order changes, keeping the focus of whoever is on one of them.
  const order = sorted.map((p) => rows.get(p.id));
  const current = [...list.children, ...rest.children];
  if (order.some((row, i) => current[i] !== row)) {
    const focused = nearest.contains(document.activeElement) ? document.activeElement : null;
    list.replaceChildren(...order.slice(0, NEAREST_SHOWN));
    rest.replaceChildren(...order.slice(NEAREST_SHOWN));
    focused?.focus();
  }
  const others = order.length - NEAREST_SHOWN;
  more.hidden = others <= 0;
  more.querySelector("summary").textContent = say(`Les ${others} autres lieux, par distance`, `The other ${others} places, by distance`);
  nearest.hidden = false;
  // Announced politely when the nearest place changes, not on every fix.
  const first = sorted[0];
  if (first && nearestStatus && nearestStatus.dataset.nearestId !== String(first.id)) {
    nearestStatus.dataset.nearestId = String(first.id);
    nearestStatus.textContent = say(`Lieu le plus proche : ${first.name}, ${distanceText(first).toLowerCase()}`, `Nearest place: ${first.name}, ${distanceText(first).toLowerCase()}`);
  }
}

// A link to a place (the nearest-first list, a map popup): show the list, focus the place.
function goToPlace(event) {
  if (event.defaultPrevented) return; // already handled on its way up
  const link = event.target.closest?.('a[href^="#lieu-"]');
  const item = link && document.getElementById(link.getAttribute("href").slice(1));
  if (!item) return;
  event.preventDefault();
  if (mapView && !mapView.hidden) choice?.choose("list");
  history.pushState(null, "", link.getAttribute("href"));
  item.tabIndex = -1;
  item.scrollIntoView({ block: "start" });
  item.focus({ preventScroll: true });
}
document.addEventListener("click", goToPlace);

// ---- The map ----

let map = null;
const markers = new Map(); // place id -> marker
let you = null; // the circle of the position's accuracy and its dot
let frameYou = false; // the first fix: bring it into view once the map can show it

function iconOf(L, place) {
  const kind = place.remembrance ? "pm-remembrance" : "pm-todo";
  return L.divIcon({
    className: `pm-marker ${kind}${isStamped(place.id) ? " pm-stamped" : ""}`,
    html: '<span class="pm-shape" aria-hidden="true"></span>',
    iconSize: [44, 44],
    iconAnchor: [22, 22],
    popupAnchor: [0, -14],
  });
}

function popupOf(place) {
  const box = document.createElement("div");
  box.className = "pm-popup";
  const name = document.createElement("p");
  name.className = "pm-popup-name";
  name.textContent = place.name;
  const state = document.createElement("p");
  state.textContent = statusText(place);
  box.append(name, state);
  const distance = distanceText(place);
  if (distance) {
    const where = document.createElement("p");
    where.textContent = distance;
    box.append(where);
  }
  const link = document.createElement("a");
  link.href = `#lieu-${place.id}`;
  link.textContent = isStamped(place.id) || place.remembrance ? say("Voir dans la liste", "See in the list") : say("Voir dans la liste pour tamponner", "See in the list to stamp");
  link.addEventListener("click", goToPlace); // Leaflet keeps a popup's clicks to itself
  box.append(link);
  return box;
}

function refreshMarker(place) {
  const marker = markers.get(place.id);
  if (!marker) return;
  marker.setIcon(iconOf(window.L, place));
  marker.getElement()?.setAttribute("aria-label", `${place.name} — ${statusText(place)}`);
}

function showPosition() {
  if (!map || !fix) return;
  const L = window.L;
  const at = [fix.latitude, fix.longitude];
  if (!you) {
    you = {
      circle: L.circle(at, { radius: fix.accuracy, color: "#0a5a8a", weight: 1, fillOpacity: 0.12, interactive: false }).addTo(map),
      dot: L.circleMarker(at, { radius: 7, color: "#fff", weight: 3, fillColor: "#0a5a8a", fillOpacity: 1, interactive: false }).addTo(map),
    };
  } else {
    you.circle.setLatLng(at).setRadius(fix.accuracy);
    you.dot.setLatLng(at);
  }
  if (frameYou && !mapView.hidden) {
    // Once: the position and the nearest place in view; afterwards the map is the visitor's.
    frameYou = false;
    const close = places.filter((p) => fix.distances[p.id] !== undefined).sort((a, b) => fix.distances[a.id] - fix.distances[b.id])[0];
    const bounds = L.latLngBounds([at]);
    if (close) bounds.extend([close.lat, close.lon]);
    map.fitBounds(bounds.pad(0.2), { maxZoom: 17 });
  }
}

function buildMap(L) {
  map = baseMap(L, mapView.querySelector("[data-map]"), mapView);
  // A view first: until the map has one, Leaflet adds no marker to the page.
  map.fitBounds(L.latLngBounds(places.map((p) => [p.lat, p.lon])).pad(0.1));
  const onPopupOpen = keyboardPopup(map, "a[href^='#lieu-']");
  for (const place of places) {
    if (place.polygon) {
      L.polygon(place.polygon, { color: place.remembrance ? "#4d5661" : "#0b3d5c", weight: 2, fillOpacity: 0.08, interactive: false }).addTo(map);
    }
    // The small square of a place of remembrance stays above the circles around it.
    const marker = L.marker([place.lat, place.lon], { icon: iconOf(L, place), riseOnHover: true, zIndexOffset: place.remembrance ? 500 : 0 });
    marker.bindPopup(() => popupOf(place), { maxWidth: 260 });
    marker.on("popupopen", onPopupOpen);
    marker.addTo(map);
    markers.set(place.id, marker);
    refreshMarker(place);
  }
  showPosition();
}

if (views && mapView && listView) {
  choice = listOrMap({
    views,
    listView,
    mapView,
    key: VIEW_KEY,
    build: buildMap,
    refresh: () => {
      map.invalidateSize();
      for (const place of places) refreshMarker(place);
      showPosition();
    },
    failed: say("La carte n'a pas pu être chargée (réseau ?). La liste des lieux reste disponible : choisissez « Liste ».", "The map could not be loaded (network?). The list of places is still there: choose “List”."),
  });
  // A link to a place opens the list, whatever was chosen last time.
  if (choice.saved === "map" && !location.hash.startsWith("#lieu-")) choice.choose("map", { remember: false, fromChoice: false });
}

document.addEventListener("passport:position", (event) => {
  if (!fix) frameYou = true;
  fix = event.detail;
  updateNearest();
  showPosition();
});

document.addEventListener("passport:stamped", (event) => {
  const place = places.find((p) => p.id === event.detail.location);
  if (place) refreshMarker(place);
  updateNearest();
});
