// Dashboards (apps/dashboards): every <canvas data-chart="KEY"> is drawn from
// charts[KEY] of json_script "dashboard-charts": {type, labels, datasets: [{label, data}],
// horizontal, stacked, legend, integer, percent, axis}. The same numbers are in the table
// under each chart. No inline script: a content-security-policy may forbid them.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var colours = ["rgba(13, 110, 253, 0.75)", "rgba(25, 135, 84, 0.8)", "rgba(255, 193, 7, 0.85)",
                 "rgba(220, 53, 69, 0.75)", "rgba(33, 37, 41, 0.75)", "rgba(13, 202, 240, 0.8)",
                 "rgba(108, 117, 125, 0.75)"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = charts[canvas.getAttribute("data-chart")];
    if (!spec) { return; }
    var valueAxis = { beginAtZero: true, stacked: !!spec.stacked, ticks: {} };
    if (spec.integer) { valueAxis.ticks.precision = 0; }
    if (spec.percent) { valueAxis.suggestedMax = 100; }
    if (spec.axis) { valueAxis.title = { display: true, text: spec.axis }; }
    var categoryAxis = { stacked: !!spec.stacked };
    var scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    new Chart(canvas, {
      type: spec.type || "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          var colour = colours[i % colours.length];
          return { label: set.label, data: set.data, backgroundColor: colour, borderColor: colour,
                   spanGaps: true, tension: 0.2 };
        })
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: spec.legend !== false } },
        scales: scales
      }
    });
  });
})();
