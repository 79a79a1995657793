import { describe, expect, it } from 'vitest';
import { axisMax, barChart } from '../../../src/console/bar-chart.ts';

const render = (bars: { label: string; value: number }[]) =>
  String(barChart({ id: 'c', title: 'Sightings <of> X', description: 'desc', xAxis: 'Hour (UTC)', yAxis: 'Sightings', bars }));

describe('barChart', () => {
  it('draws a bar per value above 0, as tall as its share of the axis, each named by a title', () => {
    const svg = render([
      { label: '09:00', value: 0 },
      { label: '10:00', value: 5 },
      { label: '11:00', value: 10 },
    ]);
    const bars = [
      ...svg.matchAll(/<rect class="bar"[^>]*height="([\d.]+)"[^>]*data-label="([^"]+)" data-value="(\d+)"><title>([^<]+)<\/title>/g),
    ];
    expect(bars.map((b) => [b[2], b[3], b[4]])).toEqual([
      ['10:00', '5', '10:00: 5'],
      ['11:00', '10', '11:00: 10'],
    ]);
    expect(Number(bars[1]![1])).toBeCloseTo(2 * Number(bars[0]![1]), 0);
  });

  it('is an image named by its title and description, with labelled axes, and escapes every text', () => {
    const svg = render([{ label: '<b>', value: 1 }]);
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="c-title c-desc"/);
    expect(svg).toContain('<title id="c-title">Sightings &lt;of&gt; X</title>');
    expect(svg).toContain('>Hour (UTC)</text>');
    expect(svg).toContain('>Sightings</text>');
    expect(svg).not.toContain('<b>');
    // No inline style: the console's CSP allows none.
    expect(svg).not.toMatch(/style=|<style/);
  });

  it('labels at most 12 ticks on the x axis, and draws nothing but axes when every value is 0', () => {
    const svg = render(Array.from({ length: 24 }, (_, i) => ({ label: `h${i}`, value: 0 })));
    expect(svg.match(/class="tick"[^>]*text-anchor="middle"/g)).toHaveLength(12);
    expect(svg).not.toContain('class="bar"');
  });

  it('tops the y axis at 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 3, 7, 10, 11, 180, 999].map(axisMax)).toEqual([1, 1, 5, 10, 10, 20, 200, 1000]);
  });
});
