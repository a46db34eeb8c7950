/**
 * The dashboard's page and style sheet. Everything the page loads comes from the server it came from (the page,
 * this style, the script compiled from browser/app.ts, uPlot from the package): it works with no other network,
 * and the content security policy holds it to that.
 */

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>totalizer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header>
  <h1>totalizer</h1>
  <label>window
    <select id="window">
      <option value="">as configured</option>
      <option value="15m">15 minutes</option>
      <option value="1h">1 hour</option>
      <option value="6h">6 hours</option>
      <option value="1d">1 day</option>
    </select>
  </label>
  <span id="status" role="status">loading…</span>
</header>
<main id="panels"></main>
<noscript>The dashboard needs JavaScript; the same totals are at /api/totals/&lt;name&gt; and on /metrics.</noscript>
<script src="/assets/uplot.js"></script>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;

export const STYLE = `
:root { --fg: #1d232a; --muted: #5f6b76; --line: #d9dee3; --bad: #a4262c; --bad-bg: #fdecea; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 10px 16px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 18px; margin: 0; }
#status { color: var(--muted); font-size: 13px; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 16px; padding: 16px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; min-width: 0; }
.panel h2 { font-size: 16px; margin: 0 8px 0 0; display: inline; }
.panel .measure { color: var(--muted); }
.panel .controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; margin-bottom: 8px; }
.panel .asof { color: var(--muted); font-size: 12px; margin-left: auto; }
.panel .chart { min-height: 220px; }
.panel .error { display: none; background: var(--bad-bg); color: var(--bad); border: 1px solid var(--bad); border-radius: 4px; padding: 8px; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; }
.panel.failed .error { display: block; }
.panel.failed .chart, .panel.failed table { opacity: 0.35; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; }
td.sources { color: var(--muted); font-size: 12px; white-space: normal; }
svg.spark { width: 80px; height: 18px; vertical-align: middle; }
svg.spark polyline { fill: none; stroke: #2a6fdb; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
`;
