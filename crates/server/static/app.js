// Hangar's only script: uploads a version's files through the package API (one PUT per
// file, with a progress bar), and sends the settings and token forms and the delete buttons
// to the JSON API, with the session's CSRF token. Pages read fine without it.
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
      const verb = button.textContent.trim() || "Delete";
      if (!window.confirm(verb + " " + button.dataset.name + "?")) return;
      try {
        await send("DELETE", button.dataset.delete, null);
        if (button.dataset.reload) window.location.reload();
        else button.closest("tr").remove();
      } catch (e) {
        window.alert("Could not delete: " + e.message);
      }
    });
  });
  // A form[data-api] is sent to the JSON API as a form-encoded body. A created token is
  // shown in the form (its secret is never shown again); any other success reloads the
  // page, and an error is shown beside the button with the API's message.
  document.querySelectorAll("form[data-api]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = form.querySelector(".status");
      const body = new URLSearchParams(new FormData(form));
      status.textContent = "Saving…";
      status.classList.remove("error");
      try {
        const xhr = await sendForm(form.dataset.method || "POST", form.dataset.api, body);
        const answer = xhr.responseText ? JSON.parse(xhr.responseText) : {};
        const secret = form.querySelector(".secret");
        if (secret && answer.token) {
          secret.querySelector(".token-value").textContent = answer.token;
          secret.hidden = false;
          status.textContent = "Token created.";
          form.reset();
        } else {
          window.location.reload();
        }
      } catch (e) {
        status.classList.add("error");
        status.textContent = e.message;
      }
    });
  });
});

// Sends a form body; rejects with the API's own message (GitLab's `message` or `error`).
function sendForm(method, url, body) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
    xhr.onload = () => {
      if (xhr.status < 300) return resolve(xhr);
      let message = xhr.status + " " + xhr.statusText;
      try {
        const answer = JSON.parse(xhr.responseText);
        const text = answer.message || answer.error;
        if (text) message = typeof text === "string" ? text : JSON.stringify(text);
      } catch (_) { /* not JSON: keep the status line */ }
      reject(new Error(message));
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body.toString());
  });
}
