// Throughput against p99 latency as a self-contained SVG (log-log axes), one line per server.
// No network, no dependency: the markup is written by hand.

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];
const esc = (s) =>
  String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/**
 * series: [{ name, points: [{ x: deliveries/s held, y: p99 ms, label }] }]. Returns SVG text.
 */
export function throughputChart(series, { title = 'Fan-out: deliveries/s held against p99 latency' } = {}) {
  const W = 820;
  const H = 500;
  const m = { l: 80, r: 200, t: 50, b: 60 };
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const lo = (v) => 10 ** Math.floor(Math.log10(v));
  const hi = (v) => 10 ** Math.ceil(Math.log10(v));
  const xMin = lo(Math.min(1e4, ...pts.map((p) => p.x)));
  const xMax = hi(Math.max(1e5, ...pts.map((p) => p.x)));
  const yMin = lo(Math.min(10, ...pts.map((p) => p.y)));
  const yMax = hi(Math.max(1000, ...pts.map((p) => p.y)));
  const X = (v) =>
    m.l + ((Math.log10(v) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (W - m.l - m.r);
  const Y = (v) =>
    H - m.b - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - m.t - m.b);
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="25" font-size="15" font-weight="bold">${esc(title)}</text>`);
  const fmt = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v));
  for (let d = xMin; d <= xMax; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v > xMax) break;
      out.push(`<line x1="${X(v)}" y1="${m.t}" x2="${X(v)}" y2="${H - m.b}" stroke="#ddd"/>`);
      out.push(`<text x="${X(v)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(v)}</text>`);
    }
  }
  for (let d = yMin; d <= yMax; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v > yMax) break;
      out.push(`<line x1="${m.l}" y1="${Y(v)}" x2="${W - m.r}" y2="${Y(v)}" stroke="#ddd"/>`);
      out.push(`<text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
  }
  out.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
  );
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 15}" text-anchor="middle">deliveries per second held (log)</text>`,
  );
  out.push(
    `<text transform="translate(20 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">p99 latency, ms (log)</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const p = s.points.filter((q) => q.x > 0 && q.y > 0).sort((a, b) => a.x - b.x);
    if (p.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${p.map((q) => `${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    for (const q of p) {
      out.push(
        `<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="4" fill="${color}"><title>${esc(`${s.name}: ${q.label ?? ''} ${Math.round(q.x)}/s, p99 ${q.y} ms`)}</title></circle>`,
      );
    }
    const ly = m.t + 10 + i * 22;
    out.push(
      `<line x1="${W - m.r + 15}" y1="${ly}" x2="${W - m.r + 40}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    );
    out.push(`<text x="${W - m.r + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
