// The poster's print button (a plain page otherwise: the browser's own print works too).
document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
