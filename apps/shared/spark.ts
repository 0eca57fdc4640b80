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
  let highest = 0;
  let length = 0;
  for (const s of series) {
    for (const v of s.values) if (v > highest) highest = v;
    length = Math.max(length, s.values.length);
  }
  const { max, step } = chartScale(highest, options.minMax ?? 4);
  const left = 48;
  const bottom = 8;
  const top = 8;
  const plotW = w - left - 4;
  const plotH = h - top - bottom;
  // One y for the gridlines, their labels and the series, so a value sits exactly on its gridline.
  const y = (v: number) => top + plotH - (v / max) * plotH;
  ctx.font = '11px ui-sans-serif, system-ui, Arial, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  const ticks: { label: string; y: number }[] = [];
  for (let v = 0; v <= max; v += step) {
    const yy = Math.round(y(v)) + 0.5;
    ctx.strokeStyle = options.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(w - 4, yy);
    ctx.stroke();
    ctx.fillStyle = options.text;
    ctx.fillText(format(v), left - 8, yy);
    ticks.push({ label: format(v), y: y(v) });
  }
  canvas.dataset.ticks = JSON.stringify(ticks); // read by the browser test
  if (length < 2) return;
  const slots = Math.max(length, 60);
  for (const s of series) {
    const offset = slots - s.values.length;
    const x = (i: number) => left + ((i + offset) / (slots - 1)) * plotW;
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

/**
 * The y axis for values up to `highest` (at least `minMax`): a step of 1, 2 or 5 times a power of ten (never
 * below 1: the charts show counts and rates), and a top that is a whole number of steps, so the gridlines
 * are evenly spaced and each is labelled with its exact value (at most five of them, 0 included).
 */
export function chartScale(highest: number, minMax: number): { max: number; step: number } {
  const target = Math.max(highest, minMax, 1) / 4;
  const exp = 10 ** Math.floor(Math.log10(target));
  let step = 10 * exp;
  for (const m of [1, 2, 5]) {
    if (m * exp >= target) {
      step = m * exp;
      break;
    }
  }
  step = Math.max(1, step);
  return { max: step * Math.max(1, Math.ceil(Math.max(highest, minMax) / step)), step };
}
