// Vangnet web: after an htmx swap, move keyboard focus to the message that says what happened; draw the charts.
document.addEventListener("htmx:afterSettle", function (event) {
  var target = event.detail.target || document;
  var focus = target.querySelector ? target.querySelector("[data-focus]") : null;
  if (focus) { focus.focus(); }
});

document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { display: spec.datasets.length > 1 } },
                 scales: spec.type === "doughnut" ? {} : { y: { beginAtZero: true } } }
    });
  });
});
