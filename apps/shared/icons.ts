/** Inline SVG icons (no icon font, no emoji: they render the same everywhere). */
const svg = (body: string, size = 16, view = '0 0 24 24') =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="${view}" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;

export const icons = {
  ball: (s = 16) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="10" fill="#fff" stroke="currentColor" stroke-width="1.6"/><path d="M12 7.2l3.3 2.4-1.3 3.9h-4l-1.3-3.9z" fill="currentColor"/><path d="M12 7.2V3M15.3 9.6l3.9-1.4M14 13.5l2.5 3.4M10 13.5l-2.5 3.4M8.7 9.6 4.8 8.2" stroke="currentColor" stroke-width="1.4"/></svg>`,
  yellow: (s = 14) =>
    `<svg width="${s * 0.75}" height="${s}" viewBox="0 0 12 16" aria-hidden="true"><rect x="1" y="1" width="10" height="14" rx="2" fill="#facc15"/></svg>`,
  red: (s = 14) =>
    `<svg width="${s * 0.75}" height="${s}" viewBox="0 0 12 16" aria-hidden="true"><rect x="1" y="1" width="10" height="14" rx="2" fill="#ef4444"/></svg>`,
  sub: (s = 16) =>
    svg(
      '<path d="M7 4v14M3 14l4 4 4-4" stroke="#16a34a"/><path d="M17 20V6M13 10l4-4 4 4" stroke="#ef4444"/>',
      s,
    ),
  whistle: (s = 16) => svg('<circle cx="9" cy="14" r="5"/><path d="M12 10h9v4h-5M4 9 2 7"/>', s),
  back: (s = 16) => svg('<path d="M15 18l-6-6 6-6"/>', s),
  bell: (s = 20) =>
    svg('<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>', s),
  heart: (s = 16) =>
    svg(
      '<path d="M19 14c1.49-1.46 3-3.21 3-5.5A5.5 5.5 0 0 0 16.5 3c-1.76 0-3 .5-4.5 2-1.5-1.5-2.74-2-4.5-2A5.5 5.5 0 0 0 2 8.5c0 2.3 1.5 4.05 3 5.5l7 7Z"/>',
      s,
    ),
  comment: (s = 16) => svg('<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/>', s),
  follow: (s = 16) =>
    svg(
      '<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/><path d="M19 8v6M22 11h-6"/>',
      s,
    ),
  message: (s = 16) => svg('<path d="m22 2-7 20-4-9-9-4Z"/><path d="M22 2 11 13"/>', s),
  at: (s = 16) =>
    svg('<circle cx="12" cy="12" r="4"/><path d="M16 8v5a3 3 0 0 0 6 0v-1a10 10 0 1 0-4 8"/>', s),
  star: (s = 16, filled = false) =>
    svg(
      '<path d="m12 2 3.09 6.26L22 9.27l-5 4.87 1.18 6.88L12 17.77l-6.18 3.25L7 14.14 2 9.27l6.91-1.01z"/>',
      s,
    ).replace('fill="none"', filled ? 'fill="currentColor"' : 'fill="none"'),
  search: (s = 16) => svg('<circle cx="11" cy="11" r="7"/><path d="m21 21-4.3-4.3"/>', s),
  check: (s = 16) => svg('<path d="M20 6 9 17l-5-5"/>', s),
  logout: (s = 16) => svg('<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9"/>', s),
};
