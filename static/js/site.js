// Small enhancements for every page; the site works without them.

// Move focus to the error summary so screen readers read it and keyboards start there.
const summary = document.querySelector(".error-summary");
if (summary) {
  summary.focus();
}

// Live countdowns on <time data-countdown datetime="…">: "dans 3 j 4 h" / "in 3 d 4 h".
const lang = document.documentElement.lang === "en" ? "en" : "fr";
const words = {
  fr: { prefix: "dans", d: "j", h: "h", m: "min", now: "maintenant" },
  en: { prefix: "in", d: "d", h: "h", m: "min", now: "now" },
}[lang];

function remaining(target) {
  const seconds = Math.max(0, Math.floor((target - Date.now()) / 1000));
  if (seconds === 0) return words.now;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const parts = d ? [`${d} ${words.d}`, `${h} ${words.h}`] : [`${h} ${words.h}`, `${m} ${words.m}`];
  return `${words.prefix} ${parts.join(" ")}`;
}

const countdowns = [...document.querySelectorAll("time[data-countdown]")].map((el) => {
  const badge = document.createElement("span");
  badge.className = "countdown";
  el.after(" ", badge);
  return { target: Date.parse(el.getAttribute("datetime")), badge };
});
function tick() {
  for (const { target, badge } of countdowns) badge.textContent = `(${remaining(target)})`;
}
if (countdowns.length) {
  tick();
  setInterval(tick, 30000);
}
