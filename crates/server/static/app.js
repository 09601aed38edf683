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

// The chosen files of a form and its subfolder, or an error message.
function chosenFiles(form) {
  const files = Array.from(form.querySelector("input[type=file]").files);
  const folder = form.querySelector("input[name=subfolder]").value.trim().replace(/^\/+|\/+$/g, "");
  if (/\s/.test(folder)) throw new Error("The subfolder may not contain spaces.");
  return { files, folder };
}

// PUTs each file to `target/<folder>/<name>` (the package API), one after the other,
// moving the form's progress bar; rejects on the first failure.
async function uploadAll(form, target, files, folder) {
  const bar = form.querySelector("progress");
  const status = form.querySelector(".status");
  const total = files.reduce((n, f) => n + f.size, 0) || 1;
  let done = 0;
  bar.hidden = false;
  for (const file of files) {
    const path = (folder ? folder + "/" : "") + file.name;
    const url = target + "/" + path.split("/").map(encodeURIComponent).join("/");
    status.textContent = "Uploading " + path + "…";
    await send("PUT", url, file, (loaded) => { bar.value = (done + loaded) / total; });
    done += file.size;
    bar.value = done / total;
  }
  status.textContent = "Uploaded " + files.length + " file(s).";
}

document.addEventListener("DOMContentLoaded", () => {
  // No inline handlers: the pages' Content-Security-Policy runs this file's script only.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll("button[data-version]").forEach((button) => {
    button.addEventListener("click", () => { button.form.version.value = button.dataset.version; });
  });
  const zone = document.querySelector("form.upload");
  if (zone) {
    zone.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = zone.querySelector(".status");
      try {
        const { files, folder } = chosenFiles(zone);
        if (!files.length) { status.textContent = "Choose one or more files first."; return; }
        await uploadAll(zone, zone.dataset.target, files, folder);
        window.location.reload();
      } catch (e) {
        status.textContent = "Upload failed: " + e.message;
      }
    });
  }
  // The new-version form: with files chosen, create the version (the form's own post, whose
  // answer redirects to the new version's page), then upload the files into its package.
  const newVersion = document.querySelector("form[data-upload]");
  if (newVersion) {
    newVersion.addEventListener("submit", async (event) => {
      const status = newVersion.querySelector(".status");
      let chosen;
      try { chosen = chosenFiles(newVersion); } catch (e) { event.preventDefault(); status.textContent = e.message; return; }
      if (!chosen.files.length) return;
      event.preventDefault();
      const body = new URLSearchParams();
      for (const [name, value] of new FormData(newVersion)) if (typeof value === "string") body.append(name, value);
      status.textContent = "Creating the version…";
      try {
        const answer = await fetch(newVersion.action, { method: "POST", body, credentials: "same-origin" });
        if (!answer.redirected || !answer.ok) {
          const page = new DOMParser().parseFromString(await answer.text(), "text/html");
          const why = page.querySelector(".error") || page.querySelector("main");
          status.textContent = why ? why.textContent.trim() : answer.status + " " + answer.statusText;
          return;
        }
        const versionId = new URL(answer.url).pathname.split("/").pop();
        await uploadAll(newVersion, newVersion.dataset.upload + "/" + versionId + "/files", chosen.files, chosen.folder);
        window.location.assign(answer.url);
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
