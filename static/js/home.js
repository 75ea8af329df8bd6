// Home page: the team customer counts as a bar chart (data from json_script "team-chart-data").
(function () {
  "use strict";
  var source = document.getElementById("team-chart-data");
  var canvas = document.getElementById("team-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: data.label, data: data.data, backgroundColor: "rgba(13, 110, 253, 0.7)" }]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
})();
