// Small progressive enhancements for every page; the pages work without them.
"use strict";

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");  // fallback for plain-http deployments
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  try {
    await copyText(source.textContent.trim());
    if (status) status.textContent = "Copied.";
  } catch (err) {
    if (status) status.textContent = "Copy failed: select the text and copy it by hand.";
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// On a phone the navigation is one row that scrolls sideways: keep the current page's link in view.
document.addEventListener("DOMContentLoaded", () => {
  const current = document.querySelector(".top nav a[aria-current=page]");
  const row = current && current.closest("ul");
  if (row && row.scrollWidth > row.clientWidth) {
    row.scrollLeft = current.offsetLeft - row.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
  }
});
