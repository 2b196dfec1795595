// Draws the bar charts marked up by the pages (a <figure class="chart"> with data-labels and
// data-values, in cents), with the vendored uPlot. Without JavaScript the caption lists the data.
(function () {
  function draw(figure) {
    var labels = JSON.parse(figure.dataset.labels);
    var values = JSON.parse(figure.dataset.values).map(function (cents) { return cents / 100; });
    var accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#2563eb";
    var xs = labels.map(function (_, i) { return i; });
    var options = {
      width: figure.clientWidth || 600,
      height: 220,
      legend: { show: false },
      scales: { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: [0, Math.max.apply(null, values.concat([1])) * 1.15] } },
      axes: [
        { values: function (_, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); }, splits: function () { return xs; } },
        { values: function (_, ticks) { return ticks.map(function (t) { return "$" + t.toFixed(t < 10 ? 2 : 0); }); } }
      ],
      series: [{}, { label: "Charged", stroke: accent, fill: accent + "55", paths: uPlot.paths.bars({ size: [0.6, 48] }), points: { show: false } }]
    };
    var chart = new uPlot(options, [xs, values], figure);
    new ResizeObserver(function () { chart.setSize({ width: figure.clientWidth, height: 220 }); }).observe(figure);
  }
  document.querySelectorAll("figure.chart").forEach(draw);
})();
