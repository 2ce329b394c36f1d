// Draws the page's charts with the ECharts copy djbot serves itself; the figures come
// from the JSON block the server rendered into the page (no request for data).
(function () {
  var block = document.getElementById("chart-data");
  if (!block || !window.echarts) return;
  var specs = JSON.parse(block.textContent);
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = specs[el.getAttribute("data-chart")];
    if (!spec) return;
    el.hidden = false;  // hidden until drawn: without this script its table shows instead
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 36, right: 12, top: 24, bottom: 28 },
      // Drawn on the canvas: the HTML tooltip's inline styles are refused by the page's
      // Content-Security-Policy (style-src 'self'), which left it an unstyled jumble.
      tooltip: { trigger: "axis", renderMode: "richText", confine: true,
                 // As the page's table and the chart's label say it: 71.4%, 无活动.
                 valueFormatter: function (v) { return v == null ? "无活动" : v + spec.unit; } },
      legend: { show: spec.series.length > 1, top: 0 },
      xAxis: { type: "category", data: spec.labels },
      // A rate is 0–100; points may be below 0 (缺席 costs one), so their axis follows them.
      yAxis: { type: "value", min: spec.min, max: spec.max },
      series: spec.series.map(function (s) {
        return { name: s.name, type: spec.kind, data: s.data, connectNulls: true,
                 itemStyle: { color: "#c62828" }, label: { show: spec.kind === "bar", position: "top", fontSize: 10 } };
      })
    });
    el.setAttribute("data-drawn", "1");
    var figures = document.querySelector('[data-for="' + el.id + '"]');
    if (figures) figures.parentNode.hidden = true;
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
