// What the site's maps share (the passport's places, the tips found, the new tip's pin): Leaflet
// (static/vendor/leaflet/, never a CDN) loaded once and only when a map is asked for, the base map
// over the operator's tiles, popups a keyboard can enter and leave, and the choice between a
// page's list and its map, remembered on the device. A map's panel carries its settings as data
// attributes: data-leaflet-js, data-leaflet-css, data-tile-url, data-tile-attribution.
const fr = document.documentElement.lang !== "en";
export const say = (french, english) => (fr ? french : english);

export const formatDistance = (m) =>
  m < 1000 ? `${Math.max(1, Math.round(m))} m` : `${(m / 1000).toFixed(1).replace(".", fr ? "," : ".")} km`;

let leaflet = null; // the promise of window.L, once asked for

export function loadLeaflet(panel) {
  leaflet ??= new Promise((resolve, reject) => {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = panel.dataset.leafletCss;
    const script = document.createElement("script");
    script.src = panel.dataset.leafletJs;
    let waiting = 2;
    let settled = false;
    const done = () => (--waiting === 0 ? resolve(window.L) : null);
    const failed = () => {
      if (settled) return;
      settled = true;
      css.remove();
      script.remove();
      leaflet = null; // another try when the network is back
      reject(new Error("Leaflet could not be loaded"));
    };
    css.onload = done;
    script.onload = done;
    css.onerror = failed;
    script.onerror = failed;
    document.head.append(css, script);
  });
  return leaflet;
}

// The map without a view: give it one (fitBounds, setView) before adding markers, or Leaflet
// adds them to the page only later.
export function baseMap(L, canvas, panel) {
  const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
  const map = L.map(canvas, { zoomControl: false, zoomSnap: 0.5, fadeAnimation: !still, zoomAnimation: !still, markerZoomAnimation: !still });
  // Bottom right: within a thumb's reach, and not under the popups, which open upwards.
  L.control.zoom({ position: "bottomright", zoomInTitle: say("Zoomer", "Zoom in"), zoomOutTitle: say("Dézoomer", "Zoom out") }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  L.tileLayer(panel.dataset.tileUrl, { attribution: panel.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
  return map;
}

// For a marker's "popupopen": opened from the keyboard (Enter on the focused marker), the popup
// gives the focus to its link; Escape closes it and gives the focus back to the marker.
export function keyboardPopup(map, linkSelector) {
  return (event) => {
    const popup = event.popup.getElement();
    const source = event.target.getElement();
    popup.querySelector(".leaflet-popup-close-button")?.setAttribute("aria-label", say("Fermer", "Close"));
    if (document.activeElement === source) popup.querySelector(linkSelector)?.focus();
    popup.onkeydown = (key) => {
      if (key.key !== "Escape") return;
      map.closePopup();
      source.focus();
    };
  };
}

function remembered(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // private browsing
  }
}

// A page's list (the page itself, which needs no script) or its map: the buttons of `views`
// (data-view="list" or "map", aria-pressed) show one of `listView` and `mapView`. The map is
// built by `build(L)` the first time it is shown, and `refresh()`ed when shown again. A map
// remembered from last time that cannot load leaves the list; a map just chosen says why it is
// missing (`failed`) in its [data-map-status]. Returns the choice and the remembered view.
export function listOrMap({ views, listView, mapView, key, build, refresh, failed }) {
  const status = mapView.querySelector("[data-map-status]");
  let built = false;

  async function showMap(fromChoice) {
    if (built) {
      refresh?.();
      return;
    }
    status.textContent = say("Chargement de la carte…", "Loading the map…");
    try {
      const L = await loadLeaflet(mapView);
      status.textContent = "";
      mapView.classList.remove("is-failed");
      // Built once visible: a hidden map has no size to fit its markers in (the list was chosen
      // again while Leaflet was loading); the next choice of the map builds it.
      if (!built && !mapView.hidden) {
        built = true;
        build(L);
      }
    } catch {
      if (!fromChoice) {
        choose("list", { remember: false }); // a remembered map, offline
        return;
      }
      mapView.classList.add("is-failed"); // no empty frame: the message alone
      status.textContent = failed;
    }
  }

  function choose(view, { remember = true, fromChoice = true } = {}) {
    for (const button of views.querySelectorAll("[data-view]")) button.setAttribute("aria-pressed", String(button.dataset.view === view));
    mapView.hidden = view !== "map";
    listView.hidden = view === "map";
    if (remember) {
      try {
        localStorage.setItem(key, view);
      } catch {
        // private browsing: the choice lasts as long as the page
      }
    }
    if (view === "map") showMap(fromChoice);
  }

  views.hidden = false;
  views.addEventListener("click", (event) => {
    const button = event.target.closest("[data-view]");
    if (button && button.getAttribute("aria-pressed") !== "true") choose(button.dataset.view);
  });
  return { choose, saved: remembered(key) };
}
