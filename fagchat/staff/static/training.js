/* The training page's progress: polls /training/status.json while a candidate trains.
   The page works without it (reload to see progress); the CSP lets only this file run. */
(function () {
  "use strict";
  var box = document.getElementById("training");
  if (!box || box.getAttribute("data-state") !== "running") {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("training-progress");
  var percent = document.getElementById("training-percent");
  var status = document.getElementById("training-status");
  var stages = box.querySelectorAll("[data-stage]");
  var said = status.textContent;

  function show(s) {
    var value = Math.max(0, Math.min(100, Number(s.percent) || 0));
    bar.value = value;
    bar.textContent = value + " %";
    percent.textContent = value + " %";
    for (var i = 0; i < stages.length; i++) {
      var current = stages[i].getAttribute("data-stage") === s.stage;
      stages[i].className = current ? "current" : "";
      if (current) {
        stages[i].setAttribute("aria-current", "step");
      } else {
        stages[i].removeAttribute("aria-current");
      }
    }
    // The live region speaks when the step or its message changes, not at every percent.
    if (s.message && s.message !== said) {
      said = s.message;
      status.textContent = s.message;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error("status " + answer.status);
        }
        return answer.json();
      })
      .then(function (s) {
        show(s);
        if (s.state === "starting" || s.state === "running") {
          window.setTimeout(poll, 2000);
        } else {
          window.location.reload(); // finished: the page shows the gates and the figures
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // the app restarting, or the network: try again
      });
  }

  window.setTimeout(poll, 2000);
})();
