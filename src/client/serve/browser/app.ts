/**
 * The dashboard, in the browser: a panel per totalizer with a chart of its top groups and the whole total over
 * the window (uPlot), a table of the groups (each measure, trend, sparkline, the split per source), a window and
 * a grouping to choose. Each panel asks /api/totals again when its answers can have changed (the server says
 * when: the DNS TTL of the newest data), never sooner; a failure shows the server's diagnosis in the panel.
 * Served as a module, compiled from this file; it imports nothing (uPlot is loaded before it).
 */
import type uPlotType from 'uplot';

declare const uPlot: typeof uPlotType;

interface Listed {
  name: string;
  measure: string;
  window: number;
  by: string[];
  groupings: string[];
}

interface Group {
  group: string;
  fields: Record<string, string>;
  columns?: Record<string, string>;
  count?: number;
  sum?: number;
  avg?: number;
  max?: number;
  min?: number;
  trend?: number;
  buckets?: number[];
  sources?: Record<string, number>;
}

interface Totals {
  measure: string;
  window: number;
  groups: Group[];
  series: { from: number; step: number; points: number; total: number[] };
  refreshAfterSeconds: number;
  asOf: number;
  freshness: { atMostSeconds: number | null; staleAnswers: number };
}

const SERIES_SHOWN = 5;
const COLOURS = ['#2a6fdb', '#d9480f', '#2b8a3e', '#9c36b5', '#e67700'];
const RETRY_AFTER_FAILURE_S = 10;
const MEASURE_COLUMNS: Record<string, (keyof Group)[]> = { count: ['count'], sum: ['sum', 'count', 'avg'], max: ['max'], min: ['min'] };

const $ = <T extends HTMLElement>(sel: string, root: ParentNode = document) => root.querySelector<T>(sel)!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const format = (v: number | undefined) =>
  v === undefined ? '' : Number.isInteger(v) ? v.toLocaleString('en') : v.toLocaleString('en', { maximumFractionDigits: 3 });

const compact = (v: number) => v.toLocaleString('en', { notation: 'compact', maximumFractionDigits: 1 });

function spark(values: readonly number[]): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${Math.max(1, values.length - 1)} 10`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const top = Math.max(...values, 0) || 1;
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', values.map((v, i) => `${i},${10 - (v / top) * 10}`).join(' '));
  svg.append(line);
  return svg;
}

class Panel {
  readonly root: HTMLElement;
  private chart: uPlotType | null = null;
  private chartLabels = '';
  private timer: number | undefined;
  private by: string;

  constructor(
    private readonly t: Listed,
    private readonly windowOf: () => string,
  ) {
    this.by = t.by.join(',');
    this.root = el('section', { class: 'panel', 'data-totalizer': t.name });
    const controls = el('div', { class: 'controls' });
    controls.append(el('h2', {}, t.name), el('span', { class: 'measure' }, t.measure));
    const select = el('select', { 'aria-label': `${t.name}: group by`, class: 'by' });
    for (const g of new Set([this.by, ...t.groupings])) select.append(el('option', { value: g }, `by ${g}`));
    select.addEventListener('change', () => {
      this.by = select.value;
      this.refresh();
    });
    controls.append(select, el('span', { class: 'asof' }));
    this.root.append(controls, el('div', { class: 'error', role: 'alert' }), el('div', { class: 'chart' }), el('div', { class: 'scroll' }));
  }

  url(): string {
    const q = new URLSearchParams({ by: this.by, top: '10' });
    if (this.windowOf()) q.set('window', this.windowOf());
    return `/api/totals/${encodeURIComponent(this.t.name)}?${q}`;
  }

  refresh(): void {
    window.clearTimeout(this.timer);
    void fetch(this.url(), { headers: { accept: 'application/json' } })
      .then(async (res) => {
        const body: unknown = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
        if (!res.ok) throw new Error((body as { error?: string }).error ?? `${res.status}`);
        return body as Totals;
      })
      .then(
        (totals) => {
          this.root.classList.remove('failed');
          this.show(totals);
          this.timer = window.setTimeout(() => this.refresh(), totals.refreshAfterSeconds * 1000);
        },
        (e: Error) => {
          this.root.classList.add('failed');
          $('.error', this.root).textContent = `${this.t.name}: ${e.message}`;
          this.timer = window.setTimeout(() => this.refresh(), RETRY_AFTER_FAILURE_S * 1000);
        },
      );
  }

  private show(r: Totals): void {
    const fresh = r.freshness.atMostSeconds;
    const age = r.freshness.staleAnswers > 0 ? ', stale: the resolver cannot reach rkvdns' : fresh === null ? '' : `, ≤ ${fresh} s old`;
    $('.asof', this.root).textContent = `as of ${new Date(r.asOf * 1000).toLocaleTimeString()}${age}`;
    this.draw(r);
    this.table(r);
  }

  private draw(r: Totals): void {
    const shown = r.groups.slice(0, SERIES_SHOWN);
    const x = Array.from({ length: r.series.points }, (_, i) => r.series.from + (i + 0.5) * r.series.step);
    const data = [x, ...shown.map((g) => g.buckets ?? []), r.series.total] as uPlotType.AlignedData;
    const labels = shown.map((g) => g.group).join('\n');
    const box = $('.chart', this.root);
    if (this.chart && labels === this.chartLabels) return this.chart.setData(data);
    this.chart?.destroy();
    this.chartLabels = labels;
    const width = Math.max(280, box.clientWidth || 520);
    this.chart = new uPlot(
      {
        width,
        height: 220,
        series: [
          {},
          ...shown.map((g, i) => ({ label: g.group, stroke: COLOURS[i % COLOURS.length]!, width: 1.5 })),
          { label: 'total', stroke: '#1d232a', width: 2, dash: [4, 3] },
        ],
        axes: [{}, { size: 56, values: (_u: uPlotType, splits: number[]) => splits.map(compact) }],
      },
      data,
      box,
    );
  }

  private table(r: Totals): void {
    const measures = MEASURE_COLUMNS[r.measure] ?? ['count'];
    const first = r.groups[0];
    const names = first ? Object.keys(first.columns ?? first.fields) : [];
    const table = el('table');
    const head = el('tr');
    for (const n of names) head.append(el('th', {}, n));
    for (const m of measures) head.append(el('th', { class: 'num' }, m));
    head.append(el('th', { class: 'num' }, 'trend'), el('th', {}, 'buckets'), el('th', {}, 'per source'));
    const thead = el('thead');
    thead.append(head);
    table.append(thead);
    const body = el('tbody');
    for (const g of r.groups) {
      const row = el('tr', { 'data-group': g.group });
      for (const n of names) row.append(el('td', {}, (g.columns ?? g.fields)[n] ?? ''));
      for (const m of measures) row.append(el('td', { class: 'num', 'data-measure': m }, format(g[m] as number | undefined)));
      row.append(el('td', { class: 'num' }, g.trend === undefined ? '' : g.trend.toFixed(2)));
      const cell = el('td');
      cell.append(spark(g.buckets ?? []));
      row.append(cell);
      const sources = Object.entries(g.sources ?? {}).sort((a, b) => b[1] - a[1]);
      row.append(el('td', { class: 'sources' }, sources.map(([s, v]) => `${s} ${format(v)}`).join(' · ')));
      body.append(row);
    }
    if (r.groups.length === 0) {
      const empty = el('tr');
      empty.append(el('td', { colspan: String(names.length + measures.length + 3) }, 'nothing in this window'));
      body.append(empty);
    }
    table.append(body);
    $('.scroll', this.root).replaceChildren(table);
  }
}

async function main(): Promise<void> {
  const status = $('#status');
  const windowSelect = $<HTMLSelectElement>('#window');
  const fromUrl = new URLSearchParams(location.search).get('window');
  if (fromUrl) windowSelect.value = fromUrl;
  let listed: Listed[];
  try {
    const res = await fetch('/api/totalizers');
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    listed = (await res.json()) as Listed[];
  } catch (e) {
    status.textContent = `cannot list the totalizers: ${(e as Error).message}`;
    return;
  }
  status.textContent = `${listed.length} totalizer(s); each refreshes when its DNS answers can have changed`;
  const panels = listed.map((t) => new Panel(t, () => windowSelect.value));
  $('#panels').replaceChildren(...panels.map((p) => p.root));
  windowSelect.addEventListener('change', () => {
    const u = new URL(location.href);
    if (windowSelect.value) u.searchParams.set('window', windowSelect.value);
    else u.searchParams.delete('window');
    history.replaceState(null, '', u);
    for (const p of panels) p.refresh();
  });
  for (const p of panels) p.refresh();
}

void main();
