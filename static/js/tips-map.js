// The tips found as a list (the page itself, which needs no script) or on a map: a marker per
// tip of the page (its JSON block, #tips-data), the point searched around and the radius.
// Leaflet is loaded only when the map is chosen (map-common.js).
import { baseMap, formatDistance, keyboardPopup, listOrMap, say } from "./map-common.js";

const tips = JSON.parse(document.getElementById("tips-data")?.textContent || "[]");
const VIEW_KEY = "tips-view";

const views = document.querySelector("[data-views]");
const mapView = document.querySelector("[data-map-view]");
const listView = document.querySelector("[data-list-view]");
let map = null;

const nameOf = (tip) => `${tip.title} — ${tip.category_name}`;

function iconOf(L) {
  // A pin whose point is the place, in a 44 px target above it.
  return L.divIcon({
    className: "tm-marker",
    html: '<span class="tm-shape" aria-hidden="true"></span>',
    iconSize: [44, 44],
    iconAnchor: [22, 42],
    popupAnchor: [0, -34],
  });
}

function popupOf(tip) {
  const box = document.createElement("div");
  box.className = "tm-popup";
  const name = document.createElement("p");
  name.className = "tm-popup-name";
  const link = document.createElement("a");
  link.href = tip.url;
  link.textContent = tip.title;
  name.append(link);
  const about = document.createElement("p");
  about.textContent = [tip.category_name, tip.commune || tip.place].filter(Boolean).join(" · ");
  box.append(name, about);
  if (tip.distance_m !== null && tip.distance_m !== undefined) {
    const distance = document.createElement("p");
    const d = formatDistance(tip.distance_m);
    distance.textContent = say(`À ${d}`, `${d} away`);
    box.append(distance);
  }
  return box;
}

function searchArea() {
  const [lat, lon] = (mapView.dataset.near || "").split(",").map(Number);
  const radius = Number(mapView.dataset.radiusM);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || !radius) return null;
  return { at: [lat, lon], radius };
}

function buildMap(L) {
  map = baseMap(L, mapView.querySelector("[data-map]"), mapView);
  const area = searchArea();
  // A view first: until the map has one, Leaflet adds no marker to the page.
  const bounds = L.latLngBounds(tips.map((tip) => [tip.lat, tip.lon]));
  if (area) bounds.extend(L.latLng(area.at).toBounds(2 * area.radius));
  map.fitBounds(bounds.pad(0.05), { maxZoom: 15 });
  if (area) {
    L.circle(area.at, { radius: area.radius, color: "#0a5a8a", weight: 2, dashArray: "6 6", fillOpacity: 0.06, interactive: false }).addTo(map);
    L.circleMarker(area.at, { radius: 7, color: "#fff", weight: 3, fillColor: "#0a5a8a", fillOpacity: 1, interactive: false }).addTo(map);
  }
  const onPopupOpen = keyboardPopup(map, ".tm-popup a");
  const icon = iconOf(L);
  // In the list's order: Tab goes from one tip to the next as the list reads.
  for (const tip of tips) {
    const marker = L.marker([tip.lat, tip.lon], { icon, riseOnHover: true });
    marker.bindPopup(() => popupOf(tip), { maxWidth: 260 });
    marker.on("popupopen", onPopupOpen);
    marker.addTo(map);
    marker.getElement()?.setAttribute("aria-label", nameOf(tip));
  }
}

if (views && mapView && listView) {
  const choice = listOrMap({
    views,
    listView,
    mapView,
    key: VIEW_KEY,
    build: buildMap,
    refresh: () => map.invalidateSize(),
    failed: say("La carte n'a pas pu être chargée (réseau ?). La liste des bons plans reste disponible : choisissez « Liste ».", "The map could not be loaded (network?). The list of tips is still there: choose “List”."),
  });
  if (choice.saved === "map") choice.choose("map", { remember: false, fromChoice: false });
}
