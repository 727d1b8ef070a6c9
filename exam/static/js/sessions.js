/* Exam sessions: the session form (components, rooms), bulk selection, printing, and the
   check-in scanner (BarcodeDetector where the browser has it, else the vendored jsQR). */
(function () {
  "use strict";

  // --- session form: show the parts of the chosen components -------------------------------
  var form = document.getElementById("session-form");
  if (form) {
    var boxes = form.querySelectorAll("input[name=components]");
    var showComponents = function () {
      var chosen = {};
      boxes.forEach(function (b) { chosen[b.value] = b.checked; });
      form.querySelectorAll("[data-component]").forEach(function (el) {
        var wanted = el.getAttribute("data-component").split(" ");
        var visible = wanted.some(function (c) { return chosen[c]; });
        el.classList.toggle("is-hidden-component", !visible);
      });
    };
    boxes.forEach(function (b) { b.addEventListener("change", showComponents); });
    showComponents();

    // Proctors needed per room: 1 per 15 candidates, at least 2.
    var updateNeed = function (room) {
      var capacity = room.querySelector(".room-capacity input");
      var need = room.querySelector(".room-need");
      if (!capacity || !need) { return; }
      var n = parseInt(capacity.value, 10);
      need.textContent = n > 0 ? need.getAttribute("data-template").replace("{n}", String(Math.max(2, Math.ceil(n / 15)))) : "";
    };
    var rooms = document.getElementById("rooms");
    if (rooms) {
      rooms.addEventListener("input", function (event) {
        var room = event.target.closest("[data-room]");
        if (room) { updateNeed(room); }
      });
      rooms.querySelectorAll("[data-room]").forEach(updateNeed);
    }

    // Add a room: copy the last room's fields with the next index, empty.
    var add = document.getElementById("add-room");
    if (add && rooms) {
      add.hidden = false;
      add.addEventListener("click", function () {
        var all = rooms.querySelectorAll("[data-room]");
        var last = all[all.length - 1];
        var index = all.length;
        var copy = last.cloneNode(true);
        copy.querySelectorAll("[name], [id], [for]").forEach(function (el) {
          ["name", "id", "for"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value) { el.setAttribute(attr, value.replace(/^rooms-\d+-/, "rooms-" + index + "-")); }
          });
          if (el.matches("input[type=checkbox], input[type=radio]")) { el.checked = false; }
          else if (el.matches("input, textarea")) { el.value = ""; }
        });
        copy.querySelectorAll(".error-text").forEach(function (e) { e.remove(); });
        copy.querySelectorAll(".has-error").forEach(function (e) { e.classList.remove("has-error"); });
        var removeField = copy.querySelector("input[name$='-remove']");
        if (removeField) { removeField.closest(".field").remove(); }
        var number = copy.querySelector(".room-number");
        if (number) { number.textContent = String(index + 1); }
        rooms.appendChild(copy);
        updateNeed(copy);
        var first = copy.querySelector("input[type=text]");
        if (first) { first.focus(); }
      });
    }
  }

  // --- select all rows of a table ----------------------------------------------------------
  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    var name = master.getAttribute("data-select-all");
    master.addEventListener("change", function () {
      document.querySelectorAll("input[name='" + name + "']").forEach(function (b) { b.checked = master.checked; });
    });
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // --- check-in: scan the ticket's QR code ---------------------------------------------------
  var scanner = document.getElementById("scanner");
  var startButton = document.getElementById("scanner-start");
  var lookup = document.getElementById("lookup-form");
  if (!scanner || !startButton || !lookup || !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
    return;
  }
  var video = document.getElementById("scanner-video");
  var status = document.getElementById("scanner-status");
  var stopButton = document.getElementById("scanner-stop");
  var canvas = document.createElement("canvas");
  var stream = null;
  var running = false;

  function loadJsQR() {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) { resolve(window.jsQR); return; }
      var script = document.createElement("script");
      script.src = scanner.getAttribute("data-decoder");
      script.onload = function () { resolve(window.jsQR); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function makeDetector() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") === -1) { throw new Error("no qr"); }
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return function () {
          return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        };
      }).catch(function () { return jsQRDetector(); });
    }
    return jsQRDetector();
  }

  function jsQRDetector() {
    return loadJsQR().then(function (decode) {
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function () {
        var w = video.videoWidth, h = video.videoHeight;
        if (!w || !h) { return Promise.resolve(null); }
        var scale = Math.min(1, 640 / w);
        canvas.width = Math.round(w * scale);
        canvas.height = Math.round(h * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var found = decode(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        return Promise.resolve(found ? found.data : null);
      };
    });
  }

  function stop() {
    running = false;
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    scanner.hidden = true;
    startButton.hidden = false;
  }

  function start() {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        scanner.hidden = false;
        startButton.hidden = true;
        return video.play().then(makeDetector);
      })
      .then(function (detect) {
        running = true;
        var tick = function () {
          if (!running) { return; }
          detect().then(function (text) {
            if (text && running) {
              stop();
              lookup.querySelector("input[name=code]").value = text.trim();
              lookup.submit();
            } else {
              window.setTimeout(tick, 180);
            }
          }).catch(function () { window.setTimeout(tick, 400); });
        };
        tick();
      })
      .catch(function () {
        stop();
        startButton.hidden = true;
        if (status) { status.textContent = ""; }
      });
  }

  startButton.hidden = false;
  startButton.addEventListener("click", start);
  if (stopButton) { stopButton.addEventListener("click", stop); }
})();
