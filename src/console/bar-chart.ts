import { html } from 'hono/html';
import type { Html } from './layout.ts';

// A bar chart as inline SVG, server-rendered: no script, no library, no inline style (the
// console's CSP); colours come from console.css. Every text is escaped by hono/html.

export type Bar = { label: string; value: number };
export type BarChart = { id: string; title: string; description: string; xAxis: string; yAxis: string; bars: Bar[] };

const WIDTH = 720;
const HEIGHT = 260;
const M = { top: 16, right: 12, bottom: 52, left: 64 };
const PLOT_W = WIDTH - M.left - M.right;
const PLOT_H = HEIGHT - M.top - M.bottom;

/** The top of the y axis: the smallest 1, 2 or 5 × 10^n at or above the largest value (1 when all are 0). */
export function axisMax(max: number): number {
  if (max <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((f) => f * p).find((v) => v >= max)!;
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Bars for the values above 0 (each with a <title> naming its label and value), the y axis with
 * 0, half and the top, and at most 12 labels on the x axis. The chart is an image named by its
 * title and description; the data table beside it carries every value.
 */
export function barChart(c: BarChart): Html {
  const top = axisMax(Math.max(0, ...c.bars.map((b) => b.value)));
  const step = PLOT_W / Math.max(c.bars.length, 1);
  const y = (v: number) => round(M.top + PLOT_H - (v / top) * PLOT_H);
  const every = Math.ceil(c.bars.length / 12);
  const bars = c.bars.map((b, i) =>
    b.value > 0
      ? html`<rect class="bar" x="${round(M.left + i * step + step * 0.1)}" y="${y(b.value)}" width="${round(step * 0.8)}" height="${round(M.top + PLOT_H - y(b.value))}" data-label="${b.label}" data-value="${b.value}"><title>${b.label}: ${b.value}</title></rect>`
      : '',
  );
  const xLabels = c.bars.map((b, i) =>
    i % every === 0
      ? html`<text class="tick" x="${round(M.left + (i + 0.5) * step)}" y="${M.top + PLOT_H + 16}" text-anchor="middle">${b.label}</text>`
      : '',
  );
  const yTicks = [0, top / 2, top].map(
    (v) => html`<line class="grid" x1="${M.left}" x2="${M.left + PLOT_W}" y1="${y(v)}" y2="${y(v)}"></line>
      <text class="tick" x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
  );
  return html`<svg class="chart" id="${c.id}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${c.id}-title ${c.id}-desc" xmlns="http://www.w3.org/2000/svg">
    <title id="${c.id}-title">${c.title}</title>
    <desc id="${c.id}-desc">${c.description}</desc>
    ${yTicks}
    <line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PLOT_H}"></line>
    <line class="axis" x1="${M.left}" x2="${M.left + PLOT_W}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H}"></line>
    ${bars}${xLabels}
    <text class="axis-title" x="${M.left + PLOT_W / 2}" y="${HEIGHT - 8}" text-anchor="middle">${c.xAxis}</text>
    <text class="axis-title" x="14" y="${M.top + PLOT_H / 2}" text-anchor="middle" transform="rotate(-90 14 ${M.top + PLOT_H / 2})">${c.yAxis}</text>
  </svg>`;
}
