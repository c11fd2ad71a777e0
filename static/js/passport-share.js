// The share page's "Partager" button: the phone's share sheet with the image when the browser
// can share files (Web Share API), else the download. Without script the download link works.
const button = document.querySelector("[data-share]");
const image = document.querySelector("[data-share-image]");
const download = document.querySelector("[data-share-download]");
const status = document.querySelector("[data-share-status]");

if (button && image && download && status) {
  const { shareTitle, shareText, shareFile, shareDone, shareFallback } = button.dataset;
  let data = null;

  // The file is fetched before the click (the image's own URL, already in the HTTP cache):
  // Safari opens the share sheet only within the click, not after an await.
  if (navigator.canShare) {
    fetch(image.currentSrc || image.src, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.blob() : Promise.reject(response.status)))
      .then((blob) => {
        const candidate = {
          files: [new File([blob], shareFile, { type: "image/png" })],
          title: shareTitle,
          text: shareText,
        };
        if (navigator.canShare(candidate)) data = candidate;
      })
      .catch(() => {});
  }

  const fallBack = () => {
    status.textContent = shareFallback;
    download.click();
  };

  button.hidden = false;
  button.addEventListener("click", () => {
    if (!data) {
      fallBack();
      return;
    }
    navigator.share(data).then(
      () => {
        status.textContent = shareDone;
      },
      (error) => {
        // Closing the share sheet is no failure; a refusal falls back to the download.
        if (error.name !== "AbortError") fallBack();
      },
    );
  });
}
