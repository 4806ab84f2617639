/* Styles on the Generate form (issue #13): keeps the click order of the picked styles in a hidden field (the
   server applies them in that order) and numbers the chips; puts a picked style's settings into the form, where
   the member sees and can change them; closes "Save these settings as a style". No inline script (CSP). */
(function () {
  "use strict";
  if (window.miaohuaStyles) { return; }
  window.miaohuaStyles = true;
  var gettext = window.gettext || function (text) { return text; };

  function picker() { return document.querySelector("[data-style-picker]"); }

  function orderField(root) { return root.querySelector("[data-style-order]"); }

  function currentOrder(root) {
    var value = orderField(root).value;
    return value ? value.split(",").filter(Boolean) : [];
  }

  function renumber(root) {
    var order = currentOrder(root);
    root.querySelectorAll("input[data-style-settings]").forEach(function (box) {
      var rank = root.querySelector("label[for='" + box.id + "'] [data-style-rank]");
      var at = order.indexOf(box.value);
      if (rank) {
        rank.hidden = !(box.checked && at >= 0 && order.length > 1);
        rank.textContent = at >= 0 ? String(at + 1) : "";
      }
    });
  }

  function sync(root) {
    // The hidden order keeps only what is checked; a checked style it does not name goes last.
    var checked = Array.prototype.map.call(root.querySelectorAll("input[data-style-settings]:checked"), function (b) { return b.value; });
    var order = currentOrder(root).filter(function (pk) { return checked.indexOf(pk) >= 0; });
    checked.forEach(function (pk) { if (order.indexOf(pk) < 0) { order.push(pk); } });
    orderField(root).value = order.join(",");
    renumber(root);
  }

  function setValue(form, name, value) {
    var fields = form.querySelectorAll("[name='" + name + "']");
    if (!fields.length) { return false; }
    var changed = null;
    fields.forEach(function (field) {
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.value === String(value)) { field.checked = true; changed = field; }
      } else if (field.tagName === "SELECT") {
        if (Array.prototype.some.call(field.options, function (o) { return o.value === String(value); })) {
          field.value = String(value); changed = field;
        }
      } else { field.value = String(value); changed = field; }
    });
    if (changed) {
      changed.dispatchEvent(new Event("input", { bubbles: true }));
      changed.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return !!changed;
  }

  var LABELS = {
    versionid: gettext("base model"), lora_versionid: "LoRA", lora_weight: gettext("LoRA weight"),
    output_size: gettext("size"), ddim_steps: gettext("steps"), scale: gettext("guidance scale")
  };

  function applySettings(box) {
    var form = document.getElementById("generate-form");
    var settings;
    try { settings = JSON.parse(box.getAttribute("data-style-settings") || "{}"); } catch (e) { settings = {}; }
    if (!form) { return; }
    var set = [];
    Object.keys(settings).forEach(function (name) {
      var value = settings[name];
      var done;
      if (name === "output_size" && !setValue(form, "output_size", value)) {
        var sides = String(value).split("x");
        done = setValue(form, "output_size", "custom") && setValue(form, "width", sides[0]) && setValue(form, "height", sides[1]);
      } else if (name !== "output_size") {
        done = setValue(form, name, value);
      } else { done = true; }
      if (done) { set.push(LABELS[name] || name); }
    });
    var note = picker() && picker().querySelector("[data-style-note]");
    if (note && set.length) {
      note.textContent = interpolate(gettext("“%s” put its settings into the form: %s."), [box.getAttribute("data-style-name"), set.join(", ")]);
    }
  }

  function interpolate(text, values) {
    if (window.interpolate) { return window.interpolate(text, values); }
    var i = 0;
    return text.replace(/%s/g, function () { return values[i++]; });
  }

  document.addEventListener("change", function (event) {
    var box = event.target.closest && event.target.closest("input[data-style-settings]");
    if (!box) { return; }
    var root = box.closest("[data-style-picker]");
    var order = currentOrder(root).filter(function (pk) { return pk !== box.value; });
    if (box.checked) { order.push(box.value); }
    orderField(root).value = order.join(",");
    sync(root);
    if (box.checked) { applySettings(box); }
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-style-cancel]");
    if (cancel) {
      var body = document.getElementById("save-style-body");
      if (body) { body.innerHTML = ""; }
    }
  });

  function ready() { var root = picker(); if (root) { sync(root); } }
  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:afterSettle", ready);
  if (document.readyState !== "loading") { ready(); }
})();
