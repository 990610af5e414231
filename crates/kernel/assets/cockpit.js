// The cockpit's charts. The bar chart: the node's children ranked by the chosen
// figure, from the chart element's data-chart attribute
// ({"label", "names", "values", "wall"}). No inline script (CSP); tooltips are
// drawn in the chart (richText), since HTML tooltips carry inline styles.
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("ck-chart");
    if (!el || typeof echarts === "undefined") return;
    var data;
    try {
      data = JSON.parse(el.getAttribute("data-chart") || "{}");
    } catch (e) {
      return;
    }
    var names = data.names || [];
    if (names.length === 0) {
      el.hidden = true;
      return;
    }
    // Horizontal bars, the greatest at the top; the height follows the rows.
    el.style.height = Math.max(160, names.length * (data.wall ? 44 : 28) + 60) + "px";
    var dark = !!data.wall;
    var chart = echarts.init(el, dark ? "dark" : null, { renderer: "svg" });
    var fg = dark ? "#f5f5f5" : "#222";
    chart.setOption({
      backgroundColor: "transparent",
      animation: false,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      xAxis: { type: "value", axisLabel: { color: fg } },
      yAxis: {
        type: "category",
        inverse: true,
        data: names,
        axisLabel: { color: fg, fontSize: dark ? 18 : 12 }
      },
      series: [{
        name: data.label || "",
        type: "bar",
        data: (data.values || []).map(function (v) { return v === null ? 0 : v; }),
        itemStyle: { color: "#c0392b" },
        label: { show: true, position: "right", color: fg, fontSize: dark ? 18 : 12 }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    window.addEventListener("beforeprint", function () { chart.resize(); });
  }
  // The chosen figure's trend, a line over the months or quarters, from
  // the element's data-trend attribute ({"label", "periods", "counts",
  // "wall"}).
  function drawTrend() {
    var el = document.getElementById("ck-trend");
    if (!el || typeof echarts === "undefined") return;
    var data;
    try {
      data = JSON.parse(el.getAttribute("data-trend") || "{}");
    } catch (e) {
      return;
    }
    var periods = data.periods || [];
    if (periods.length === 0) {
      el.hidden = true;
      return;
    }
    var dark = !!data.wall;
    el.style.height = (dark ? 360 : 260) + "px";
    var chart = echarts.init(el, dark ? "dark" : null, { renderer: "svg" });
    var fg = dark ? "#f5f5f5" : "#222";
    chart.setOption({
      backgroundColor: "transparent",
      animation: false,
      grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: {
        type: "category",
        data: periods,
        axisLabel: { color: fg, fontSize: dark ? 16 : 11 }
      },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: fg } },
      series: [{
        name: data.label || "",
        type: "line",
        data: data.counts || [],
        itemStyle: { color: "#c0392b" },
        lineStyle: { width: dark ? 4 : 2 },
        label: { show: true, position: "top", color: fg, fontSize: dark ? 16 : 11 }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    window.addEventListener("beforeprint", function () { chart.resize(); });
  }
  function all() {
    draw();
    drawTrend();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
})();
