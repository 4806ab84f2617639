// Small behaviours htmx does not cover. Keep it small.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      var root = document.documentElement;
      var next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
      root.setAttribute("data-bs-theme", next);
      localStorage.setItem("theme", next);
      return;
    }
    var seed = event.target.closest("[data-seed]");
    if (seed) {
      var input = document.getElementById("id_select_seed");
      input.value = seed.dataset.seed === "dice" ? Math.floor(Math.random() * 10000000) : -1;
      return;
    }
    var remove = event.target.closest("[data-remove-unit]");
    if (remove) {
      remove.closest("[data-cn-unit]").remove();
      return;
    }
    var openDescribe = event.target.closest("[data-open-describe]");
    if (openDescribe) {
      var panel = document.getElementById("describe");
      if (panel) { event.preventDefault(); panel.open = true; panel.scrollIntoView({ block: "nearest" }); }
      return;
    }
    var usePrompt = event.target.closest("[data-use-prompt]");
    if (usePrompt) {
      // The Describe panel's caption becomes the Generate form's prompt.
      var prompt = document.getElementById("id_prompt");
      var caption = usePrompt.closest("#describe-panel").querySelector("[data-caption]");
      if (prompt && caption) {
        prompt.value = caption.textContent.trim().slice(0, parseInt(prompt.getAttribute("maxlength"), 10) || 1000);
        updateCounter(prompt);
        prompt.focus();
        prompt.scrollIntoView({ block: "center" });
      }
      return;
    }
    var pick = event.target.closest("[data-pick]");
    if (pick) {
      // A history image chosen in the picker: fill the hidden field, clear any upload, show the thumbnail.
      var target = document.querySelector("[name='" + pick.dataset.pickTarget + "']");
      if (!target) return;
      var source = target.closest("[data-image-source]");
      target.value = pick.dataset.pick;
      source.querySelectorAll("input[type=file]").forEach(function (f) { f.value = ""; });
      source.querySelectorAll("input[type=hidden][name$='_input']").forEach(function (f) { f.value = ""; });
      source.querySelector("[data-preview]").innerHTML = "";
      var chosen = document.createElement("img");
      chosen.alt = gettext("Chosen image");
      chosen.src = pick.dataset.pickSrc;
      source.querySelector("[data-preview]").appendChild(chosen);
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.type === "file" && el.closest("[data-image-source]")) {
      // A new upload replaces an earlier choice; preview it locally.
      var source = el.closest("[data-image-source]");
      source.querySelectorAll("input[type=hidden]").forEach(function (f) { f.value = ""; });
      if (el.files && el.files[0]) {
        var img = document.createElement("img");
        img.alt = gettext("Chosen image");
        img.src = URL.createObjectURL(el.files[0]);
        var box = source.querySelector("[data-preview]");
        box.innerHTML = "";
        box.appendChild(img);
      }
    }
    if (el.name && /^cn-\d-cn$/.test(el.name)) updateUnit(el.closest("[data-cn-unit]"));
    if (el.name === "versionid") updateControlNetTypes();
    if (el.name === "versionid" || el.name === "lora_versionid") updateLoraWarning();
    if (el.name === "mode" || el.name === "output_size") updateVisibility();
  });

  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute("data-counter")) updateCounter(event.target);
    if (event.target.name === "width" || event.target.name === "height") updateVisibility();
  });

  function form() { return document.getElementById("generate-form"); }

  function updateCounter(area) {
    var counter = document.querySelector("[data-counter-for='" + area.id + "']");
    if (!counter) return;
    var max = parseInt(area.getAttribute("maxlength"), 10);
    counter.textContent = area.value.length + " / " + max;
    counter.classList.toggle("text-danger", area.value.length > max * 0.95);
  }

  function updateVisibility() {
    var f = form();
    if (!f) return;
    var mode = (f.querySelector("[name=mode]:checked") || {}).value;
    f.querySelectorAll("[data-when-mode]").forEach(function (el) { el.hidden = el.dataset.whenMode !== mode; });
    var size = f.querySelector("[name=output_size]");
    f.querySelectorAll("[data-when-custom-size]").forEach(function (el) { el.hidden = !size || size.value !== "custom"; });
    updateSizeWarning(f, size);
  }

  function updateSizeWarning(f, size) {
    // Sides from 512 are accepted; below the documented floor the form warns beside the size (not an error).
    var warning = f.querySelector("[data-size-warning]");
    if (!warning || !size) return;
    var value = size.value;
    if (value === "custom") {
      value = (f.querySelector("[name=width]") || {}).value + "x" + (f.querySelector("[name=height]") || {}).value;
    }
    var sides = value.split("x").map(function (n) { return parseInt(n, 10); });
    var floor = parseInt(warning.dataset.sizeWarning, 10);
    warning.hidden = !(sides.length === 2 && sides.every(function (n) { return n >= parseInt(warning.dataset.sizeMin, 10); }) &&
                       Math.min(sides[0], sides[1]) < floor);
  }

  function processorMap() {
    try { return JSON.parse(form().dataset.cnProcessors); } catch (e) { return { processors: {}, options: {} }; }
  }

  function updateUnit(unit) {
    if (!unit) return;
    var map = processorMap();
    var type = unit.querySelector("select[name$='-cn']").value;
    var processors = map.processors[type] || [];
    var select = unit.querySelector("select[name$='-control_processor']");
    var previous = select.value;
    select.innerHTML = "";
    processors.forEach(function (p) { select.add(new Option(p, p, false, p === previous)); });
    unit.querySelector("[data-cn-processor]").hidden = processors.length === 0;
    var options = map.options[type] || [];
    unit.querySelectorAll("[data-cn-option]").forEach(function (el) { el.hidden = options.indexOf(el.dataset.cnOption) < 0; });
  }

  function updateControlNetTypes() {
    // ControlNet types come from cn/opensource for open-source base models, cn/artist otherwise; the lists
    // arrive with the ControlNet picker (while they load, the units keep their type).
    var f = form();
    var lists = document.getElementById("picker-controlnets");
    if (!f || !lists || !lists.dataset.cnArtist) return;
    var model = (f.querySelector("[name=versionid]:checked") || {}).value || "";
    var open = (" " + lists.dataset.opensourceModels + " ").indexOf(" " + model + " ") >= 0;
    var list = JSON.parse(open ? lists.dataset.cnOpensource : lists.dataset.cnArtist);
    f.querySelectorAll("select[name$='-cn']").forEach(function (select) {
      var previous = select.value;
      select.innerHTML = "";
      list.forEach(function (c) { select.add(new Option(c.label, c.name, false, c.name === previous)); });
      updateUnit(select.closest("[data-cn-unit]"));
    });
  }

  function updateLoraWarning() {
    // The chosen LoRA was made for another base model than the one chosen: say so beside the LoRA. A LoRA names
    // its base model by name (or versionid); one that matches none of the listed models is not warned about.
    var f = form();
    var note = document.getElementById("lora-mismatch");
    if (!f || !note) return;
    var data;
    try { data = JSON.parse(note.dataset.loraMadeFor); } catch (e) { return; }
    var lora = (f.querySelector("[name=lora_versionid]") || {}).value || "";
    var chosen = f.querySelector("[name=versionid]:checked");
    var madeFor = data.loras[lora];
    function names(radio) { return [(radio.dataset.modelName || "").trim().toLowerCase(), radio.value.toLowerCase()]; }
    var wanted = madeFor ? madeFor[0].trim().toLowerCase() : "";
    var base = Array.prototype.find.call(f.querySelectorAll("[name=versionid]"), function (r) { return names(r).indexOf(wanted) >= 0; });
    if (!madeFor || !chosen || !base || base === chosen) { note.hidden = true; note.textContent = ""; return; }
    note.textContent = data.message.replace("{lora}", madeFor[1]).replace(/\{made_for\}/g, base.dataset.modelName || base.value)
      .replace("{chosen}", chosen.dataset.modelName || chosen.value);
    note.hidden = false;
  }

  function keyboardViewer(event) {
    // The page of one image (the overlay's viewer has its own keys: viewer.js).
    var viewer = document.querySelector(".image-viewer");
    if (!viewer || viewer.closest("#viewer-overlay") || event.target.closest("input, textarea, select")) return;
    var target = { ArrowLeft: viewer.dataset.prev, ArrowRight: viewer.dataset.next, Escape: viewer.dataset.close }[event.key];
    if (target) window.location.href = target;
  }
  document.addEventListener("keydown", keyboardViewer);

  // Ctrl + Enter (Cmd + Enter on a Mac) anywhere on the Generate page generates, unless it is already being sent.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.defaultPrevented) return;
    var f = form();
    var overlay = document.getElementById("viewer-overlay");
    if (!f || (overlay && !overlay.hidden)) return;
    var button = f.querySelector("button[type=submit][data-once]");
    if (button && button.disabled) return;
    event.preventDefault();
    f.requestSubmit(button || undefined);
  });

  // The form's sections (LoRA, ControlNet) stay as the member folded them, unless they hold a value or an error.
  function applyFolds() {
    document.querySelectorAll("details[data-fold]").forEach(function (d) {
      if (!d.hasAttribute("data-keep-open") && localStorage.getItem("fold:" + d.dataset.fold) === "closed") d.open = false;
    });
    if (/Mac|iPhone|iPad/.test(navigator.platform || "")) {
      document.querySelectorAll("[data-shortcut]").forEach(function (k) { k.textContent = "⌘ ⏎"; });
    }
  }
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (d.matches && d.matches("details[data-fold]")) localStorage.setItem("fold:" + d.dataset.fold, d.open ? "open" : "closed");
  }, true);

  // A form is sent once: a double click does not send it twice (the idempotency key covers the rest).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-once]");
    if (button) { setTimeout(function () { button.disabled = true; button.textContent = gettext("Sending…"); }, 0); }
  });

  // History: multi-select with a bulk bar; filters apply as soon as they change.
  function updateBulk() {
    var bar = document.querySelector("[data-bulk]");
    if (!bar) return;
    var checked = document.querySelectorAll("input[form=bulk]:checked");
    bar.hidden = checked.length === 0;
    bar.querySelector("[data-bulk-count]").textContent = checked.length;
    var compare = bar.querySelector("[data-compare]");
    if (compare) compare.disabled = checked.length !== 2;
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[form=bulk]")) updateBulk();
    var auto = event.target.closest("form[data-autosubmit]");
    if (auto && event.target.name !== "q") auto.requestSubmit();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-bulk-clear]")) {
      document.querySelectorAll("input[form=bulk]:checked").forEach(function (c) { c.checked = false; });
      updateBulk();
    }
    var compare = event.target.closest("[data-compare]");
    if (compare) {
      var ids = Array.prototype.map.call(document.querySelectorAll("input[form=bulk]:checked"), function (c) { return c.value; });
      if (ids.length === 2) window.location.href = compare.dataset.compare + "?a=" + ids[0] + "&b=" + ids[1];
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.dataset.copy);
      navigator.clipboard.writeText(source.textContent).then(function () {
        copy.textContent = gettext("Copied");
        setTimeout(function () { copy.textContent = gettext("Copy as JSON"); }, 1500);
      });
    }
  });

  // An image file dropped anywhere on the Generate page, outside its image fields (which take drops themselves),
  // is read for its settings: it goes into "Read settings from an image", whose form htmx then posts.
  function settingsReader(event) {
    var input = document.getElementById("id_parameters_image");
    if (!input || !event.dataTransfer || event.target.closest("[data-image-source]")) return null;
    return Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0 ? input : null;
  }
  document.addEventListener("dragover", function (event) {
    if (settingsReader(event)) { event.preventDefault(); event.dataTransfer.dropEffect = "copy"; }
  });
  document.addEventListener("drop", function (event) {
    var input = settingsReader(event);
    if (!input || !event.dataTransfer.files.length) return;
    event.preventDefault();  // not the browser's "open the file"
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  function init() {
    document.querySelectorAll("[data-counter]").forEach(updateCounter);
    updateVisibility();
    applyFolds();
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSwap", function (event) {
    updateVisibility();  // a picker that arrived (e.g. the output sizes) may show or hide the custom size
    updateLoraWarning();
    document.querySelectorAll("[data-counter]").forEach(updateCounter);  // a re-rendered form (settings read from an image)
    if (event.detail.target && event.detail.target.id === "generate-area") applyFolds();
    if (event.detail.target && event.detail.target.id === "cn-units") {
      var transient = event.detail.target.querySelector("[data-transient]");
      if (transient) setTimeout(function () { transient.remove(); }, 3000);
    }
  });
})();

// Polls pause while the tab is hidden. The triggers carry no htmx filter ("every 2s [cond]"): htmx evaluates a
// filter as JavaScript, which the Content-Security-Policy forbids, so a hidden tab's poll is dropped here.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.visibilityState === "visible") return;
    var trigger = event.detail.elt.getAttribute("hx-trigger") || "";
    if (!event.detail.requestConfig.triggeringEvent && /(^|,)\s*every\s/.test(trigger)) event.preventDefault();
  });
})();
