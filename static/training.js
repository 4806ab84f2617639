// Datasets and training: sending files to the dashboard with per-file progress, and drag and drop. The notices of
// finished trainings become toasts in static/notices.js, like every notice; htmx does the rest.
(function () {
  "use strict";

  var EXTENSIONS = [".png", ".jpg", ".jpeg", ".jfif", ".pjpeg", ".pjp", ".webp"];

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sizeText(bytes) {
    return bytes >= 100 * 1024 ? (bytes / 1048576).toFixed(1) + " MB" : Math.round(bytes / 1024) + " KB";
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // --- Uploads: one request per file (so one failure is retried alone), a few at a time ------------------

  function Uploader(form) {
    this.form = form;
    this.panel = document.querySelector("[data-upload-panel]");
    this.list = this.panel.querySelector("[data-upload-list]");
    this.overall = this.panel.querySelector("[data-upload-overall]");
    this.summary = this.panel.querySelector("[data-upload-summary]");
    this.maxBytes = parseInt(form.dataset.maxBytes, 10) * 1048576;
    this.parallel = Math.max(1, parseInt(form.dataset.parallel, 10) || 3);
    this.items = [];
    this.active = 0;
    this.refreshTimer = null;
  }

  Uploader.prototype.add = function (files) {
    var self = this;
    Array.prototype.forEach.call(files, function (file) {
      // Every file goes to the dashboard, which decides and lists it (a refused one with its reason). One over
      // the limit is not sent at all: only its name, so it is listed as refused like the others.
      var item = { file: file, loaded: 0, state: "queued", reason: "", id: null, vendor: "", tooLarge: file.size > self.maxBytes };
      item.row = self.row(item);
      self.items.push(item);
    });
    this.panel.hidden = false;
    this.pump();
    this.update();
  };

  Uploader.prototype.row = function (item) {
    var li = element("li", "upload-row");
    li.dataset.state = "queued";
    var name = element("span", "upload-name text-truncate", item.file.name);
    name.title = item.file.name;
    li.appendChild(name);
    li.appendChild(element("span", "upload-size text-body-secondary", sizeText(item.file.size)));
    var bar = element("div", "progress upload-bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", interpolate(gettext("Sending %(name)s"), {name: item.file.name}, true));
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.appendChild(element("div", "progress-bar"));
    li.appendChild(bar);
    li.appendChild(element("span", "upload-state", gettext("Queued")));
    this.list.appendChild(li);
    return li;
  };

  Uploader.prototype.pump = function () {
    while (this.active < this.parallel) {
      var next = this.items.find(function (item) { return item.state === "queued"; });
      if (!next) break;
      this.send(next);
    }
    var busy = this.items.some(function (item) { return item.state === "queued" || item.state === "sending"; });
    if (!busy && this.active === 0 && this.items.length && !this.flushed) {
      this.flushed = true;
      this.flush();
    }
  };

  Uploader.prototype.send = function (item) {
    var self = this;
    var xhr = new XMLHttpRequest();
    var data = new FormData();
    if (item.tooLarge) data.append("too_large", item.file.name);
    else data.append("images", item.file, item.file.name);
    data.append("more", "1");
    item.state = "sending";
    item.loaded = 0;
    this.active += 1;
    this.flushed = false;
    this.show(item, gettext("Sending…"));
    xhr.open("POST", this.form.action);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        item.loaded = Math.min(item.file.size, (event.loaded / event.total) * item.file.size);
        self.show(item, Math.round((100 * event.loaded) / event.total) + " %");
        self.update();
      }
    });
    xhr.addEventListener("load", function () {
      self.active -= 1;
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
      if (xhr.status === 200 && answer && answer.files && answer.files.length) {
        var file = answer.files[0];
        item.id = String(file.id);
        if (file.state === "refused") self.finish(item, "refused", file.error);
        else { item.vendor = file.state; self.finish(item, "received", ""); }
      } else if (xhr.status === 403) {
        self.finish(item, "error", gettext("Not allowed (signed out, or not an admin of this dataset)."));
      } else {
        self.finish(item, "error", interpolate(gettext("The dashboard did not take the file (%(status)s)."), {status: xhr.status || gettext("no answer")}, true));
      }
      self.refreshSoon();
      self.pump();
    });
    xhr.addEventListener("error", function () {
      self.active -= 1;
      self.finish(item, "error", gettext("The connection broke off."));
      self.pump();
    });
    xhr.send(data);
  };

  Uploader.prototype.finish = function (item, state, reason) {
    item.state = state;
    item.reason = reason || "";
    if (state !== "error") item.loaded = item.file.size;
    this.show(item, this.stateText(item));
    if (state === "error") {
      var self = this;
      var retry = element("button", "btn btn-sm btn-link py-0 upload-retry", gettext("Retry"));
      retry.type = "button";
      retry.setAttribute("aria-label", interpolate(gettext("Retry %(name)s"), {name: item.file.name}, true));
      retry.addEventListener("click", function () {
        retry.remove();
        item.state = "queued";
        self.show(item, gettext("Queued"));
        self.pump();
        self.update();
      });
      item.row.appendChild(retry);
    }
    this.update();
  };

  // What a row says: the dashboard's answer, then the image's state in the dataset as the page's list shows it.
  var VENDOR_TEXT = {
    waiting: gettext("Received — waiting to be sent to Miaohua"),
    sending: gettext("Sending to Miaohua…"),
    added: gettext("At Miaohua"),
    removing: gettext("Being removed"),
    gone: gettext("Removed from the dataset"),
  };

  Uploader.prototype.stateText = function (item) {
    if (item.state === "refused") return interpolate(gettext("Refused: %(reason)s"), {reason: item.reason}, true);
    if (item.state === "error") return interpolate(gettext("Failed: %(reason)s"), {reason: item.reason}, true);
    if (item.vendor === "failed") {
      return interpolate(gettext("Not sent to Miaohua: %(reason)s"), {reason: item.reason || gettext("see the image below")}, true);
    }
    return VENDOR_TEXT[item.vendor] || VENDOR_TEXT.waiting;
  };

  // The page's list of images changed (htmx swapped it in): each received file follows its image's state.
  Uploader.prototype.sync = function () {
    var grid = document.getElementById("images");
    if (!grid || !this.items.length) return;
    var self = this;
    this.items.forEach(function (item) {
      if (!item.id) return;
      var tile = grid.querySelector("[data-image-id='" + item.id + "']");
      if (item.state === "received") {
        item.vendor = tile ? tile.dataset.state : "gone";
        item.reason = tile && item.vendor === "failed" ? tile.dataset.error || "" : "";
        self.show(item, self.stateText(item));
        item.row.dataset.vendorState = item.vendor;
      }
    });
    this.update();
  };

  Uploader.prototype.show = function (item, text) {
    item.row.dataset.state = item.state;
    item.row.querySelector(".upload-state").textContent = text;
    var percent = item.file.size ? Math.round((100 * item.loaded) / item.file.size) : 100;
    var bar = item.row.querySelector(".upload-bar");
    bar.setAttribute("aria-valuenow", String(percent));
    bar.firstChild.style.width = percent + "%";
  };

  Uploader.prototype.update = function () {
    var total = 0, loaded = 0, done = 0, refused = 0, failed = 0, atMiaohua = 0, notSent = 0;
    this.items.forEach(function (item) {
      if (item.state === "refused") { refused += 1; return; }
      if (item.state === "error") failed += 1;
      if (item.tooLarge) return;  // never sent: not part of the bytes on their way
      total += item.file.size;
      loaded += item.loaded;
      if (item.state === "received") done += 1;
      if (item.vendor === "added") atMiaohua += 1;
      if (item.vendor === "failed") notSent += 1;
    });
    var percent = total ? Math.round((100 * loaded) / total) : 100;
    this.overall.setAttribute("aria-valuenow", String(percent));
    this.overall.firstElementChild.style.width = percent + "%";
    var counted = this.items.length - refused;
    var parts = [
      interpolate(ngettext("%(done)s of %(count)s file", "%(done)s of %(count)s files", counted), {done: done, count: counted}, true),
      interpolate(gettext("%(loaded)s of %(total)s"), {loaded: sizeText(loaded), total: sizeText(total)}, true),
    ];
    if (atMiaohua) parts.push(interpolate(gettext("%(count)s at Miaohua"), {count: atMiaohua}, true));
    if (refused) parts.push(interpolate(gettext("%(count)s refused"), {count: refused}, true));
    if (failed) parts.push(interpolate(gettext("%(count)s failed"), {count: failed}, true));
    if (notSent) parts.push(interpolate(gettext("%(count)s not sent to Miaohua"), {count: notSent}, true));
    this.summary.textContent = parts.join(" · ");
  };

  // The page's list of images (with their states from our database) is refreshed as files arrive.
  Uploader.prototype.refreshSoon = function () {
    var self = this;
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(function () {
      self.refreshTimer = null;
      self.refresh();
    }, 1500);
  };

  Uploader.prototype.refresh = function () {
    if (window.htmx && document.getElementById("images")) {
      window.htmx.ajax("GET", this.form.dataset.imagesUrl, { target: "#images", swap: "outerHTML" });
    }
  };

  // Every file is in: the worker sends what waits now (it has started already for each full batch).
  Uploader.prototype.flush = function () {
    var self = this;
    var received = this.items.some(function (item) { return item.state === "received"; });
    if (!received) return;
    fetch(this.form.dataset.sendUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
    }).finally(function () { self.refresh(); });
  };

  function setUpUploads() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var uploader = new Uploader(form);
    document.addEventListener("htmx:afterSettle", function () { uploader.sync(); });
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-drop-zone]");
    var plain = form.querySelector("[data-plain-upload]");
    if (plain) plain.hidden = true; // files go as soon as they are chosen
    input.addEventListener("change", function () {
      if (input.files && input.files.length) uploader.add(input.files);
      input.value = "";
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("drop-zone-over");
      });
    });
    ["dragleave", "dragend"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("drop-zone-over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("drop-zone-over");
      if (event.dataTransfer && event.dataTransfer.files.length) uploader.add(event.dataTransfer.files);
    });
  }

  document.addEventListener("click", function (event) {
    var confirmed = event.target.closest("[data-confirm]");
    if (confirmed && !window.confirm(confirmed.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", setUpUploads);
})();
