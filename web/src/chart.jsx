// A time-series chart (uPlot): x in unix seconds, one or more series. The chart is made
// once and given new data as it comes, without being drawn anew from scratch.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLOURS = ['#1f6fb2', '#c2410c', '#15803d', '#7c3aed'];

// series: [{ label, unit }]; data: [xs, ys1, ys2, ...]
export function Chart({ title, series, data, height = 180 }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    const opts = {
      width: el.clientWidth || 480,
      height,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { values: (u, ticks) => ticks.map((v) => `${fmt(v)}${series[0].unit || ''}`), size: 70 }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: false } }))],
    };
    plot.current = new uPlot(opts, data, el);
    const observer = new ResizeObserver(() => plot.current && plot.current.setSize({ width: el.clientWidth || 480, height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, [series.map((s) => s.label).join()]);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);
  const latest = data[1] && data[1].length ? data[1][data[1].length - 1] : null;
  return (
    <figure class="chart" data-points={data[0] ? data[0].length : 0}>
      <figcaption>
        {title}
        {latest != null && (
          <span class="muted">
            {' '}
            now {fmt(latest)}
            {series[0].unit || ''}
          </span>
        )}
      </figcaption>
      <div ref={box} role="img" aria-label={`${title}: a chart over time`} />
    </figure>
  );
}

function fmt(v) {
  if (v == null) return '';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
