// Hangar's only script: uploads a version's files through the package API (one PUT per
// file, with a progress bar) and deletes files through the JSON API, sending the session's
// CSRF token. Pages read fine without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function send(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    if (onProgress) xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr) : reject(new Error(xhr.status + " " + xhr.responseText)));
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const zone = document.querySelector("form.upload");
  if (zone) {
    zone.addEventListener("submit", async (event) => {
      event.preventDefault();
      const files = Array.from(zone.querySelector("input[type=file]").files);
      const folder = zone.querySelector("input[name=subfolder]").value.trim().replace(/^\/+|\/+$/g, "");
      const bar = zone.querySelector("progress");
      const status = zone.querySelector(".status");
      if (!files.length) { status.textContent = "Choose one or more files first."; return; }
      if (/\s/.test(folder)) { status.textContent = "The subfolder may not contain spaces."; return; }
      const total = files.reduce((n, f) => n + f.size, 0) || 1;
      let done = 0;
      bar.hidden = false;
      try {
        for (const file of files) {
          const path = (folder ? folder + "/" : "") + file.name;
          const url = zone.dataset.target + "/" + path.split("/").map(encodeURIComponent).join("/");
          status.textContent = "Uploading " + path + "…";
          await send("PUT", url, file, (loaded) => { bar.value = (done + loaded) / total; });
          done += file.size;
          bar.value = done / total;
        }
        status.textContent = "Uploaded " + files.length + " file(s).";
        window.location.reload();
      } catch (e) {
        status.textContent = "Upload failed: " + e.message;
      }
    });
  }
  document.querySelectorAll("button[data-delete]").forEach((button) => {
    button.addEventListener("click", async () => {
      if (!window.confirm("Delete " + button.dataset.name + "?")) return;
      try {
        await send("DELETE", button.dataset.delete, null);
        button.closest("tr").remove();
      } catch (e) {
        window.alert("Could not delete: " + e.message);
      }
    });
  });
});
