/** Canvas sparklines and line charts, drawn at the device's pixel ratio. */

export function sizeCanvas(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}

/** A sparkline of `values` (oldest first), green when it ends above where it started, red otherwise. */
export function drawSparkline(
  canvas: HTMLCanvasElement,
  values: readonly number[],
  up: string,
  down: string,
  fill = true,
): void {
  const ctx = sizeCanvas(canvas);
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (values.length < 2 || w === 0) return;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min || 1;
  const pad = 2;
  const x = (i: number) => (i / (values.length - 1)) * w;
  const y = (v: number) => pad + (1 - (v - min) / span) * (h - pad * 2);
  const color = values[values.length - 1]! >= values[0]! ? up : down;
  ctx.beginPath();
  ctx.moveTo(0, y(values[0]!));
  for (let i = 1; i < values.length; i++) ctx.lineTo(x(i), y(values[i]!));
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.stroke();
  if (fill) {
    ctx.lineTo(w, h);
    ctx.lineTo(0, h);
    ctx.closePath();
    const gradient = ctx.createLinearGradient(0, 0, 0, h);
    gradient.addColorStop(0, `${color}55`);
    gradient.addColorStop(1, `${color}00`);
    ctx.fillStyle = gradient;
    ctx.fill();
  }
}

export interface Series {
  label: string;
  color: string;
  values: readonly number[];
}

/** A line chart with a y grid and labels; `format` prints axis values. */
export function drawChart(
  canvas: HTMLCanvasElement,
  series: readonly Series[],
  options: { grid: string; text: string; format?: (n: number) => string; minMax?: number },
): void {
  const ctx = sizeCanvas(canvas);
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  const format = options.format ?? ((n: number) => String(Math.round(n)));
  let max = options.minMax ?? 4;
  let length = 0;
  for (const s of series) {
    for (const v of s.values) if (v > max) max = v;
    length = Math.max(length, s.values.length);
  }
  max = niceCeil(max);
  const left = 48;
  const bottom = 8;
  const top = 8;
  const plotW = w - left - 4;
  const plotH = h - top - bottom;
  ctx.font = '11px ui-sans-serif, system-ui, Arial, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const yy = top + plotH - (plotH * i) / 4;
    ctx.strokeStyle = options.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(yy) + 0.5);
    ctx.lineTo(w - 4, Math.round(yy) + 0.5);
    ctx.stroke();
    ctx.fillStyle = options.text;
    ctx.fillText(format(v), left - 8, yy);
  }
  if (length < 2) return;
  const slots = Math.max(length, 60);
  for (const s of series) {
    const offset = slots - s.values.length;
    const x = (i: number) => left + ((i + offset) / (slots - 1)) * plotW;
    const y = (v: number) => top + plotH - (v / max) * plotH;
    ctx.beginPath();
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]!;
      if (i === 0) ctx.moveTo(x(i), y(v));
      else ctx.lineTo(x(i), y(v));
    }
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.stroke();
    ctx.lineTo(x(s.values.length - 1), top + plotH);
    ctx.lineTo(x(0), top + plotH);
    ctx.closePath();
    const gradient = ctx.createLinearGradient(0, top, 0, top + plotH);
    gradient.addColorStop(0, `${s.color}40`);
    gradient.addColorStop(1, `${s.color}00`);
    ctx.fillStyle = gradient;
    ctx.fill();
  }
}

function niceCeil(n: number): number {
  const exp = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= n) return m * exp;
  return 10 * exp;
}
