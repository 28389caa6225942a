// bench/web_pages.py's chart renderer: Apache ECharts drawn server-side (no browser, no DOM) to SVG.
// stdin: a JSON list of {option, width, height}; stdout: a JSON list of SVG strings, in the same order.
// The library comes from NODE_PATH (bench/node_modules: `npm install --prefix bench`).
const echarts = require("echarts");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const svgs = JSON.parse(input).map(({ option, width, height }) => {
    const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
    chart.setOption({ animation: false, ...option });
    const svg = chart.renderToSVGString();
    chart.dispose();
    return svg;
  });
  process.stdout.write(JSON.stringify(svgs));
});
