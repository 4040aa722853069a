/** The bench's result table, as cells: for the text output (bench/run.mjs) and bench/README.md (bench/readme.mjs). */

const fmt = (n) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2)) : '—');

export const HEADER = ['measure', 'unit', 'socat', 'tsocat', 'ratio', 'better', 'runs', 'reference (tsocat / it)'];

/** One array of cells per result row, in HEADER's order. */
export function cells(results) {
  return results.map((r) => [
    r.name,
    r.unit,
    fmt(r.socat),
    fmt(r.tsocat),
    fmt(r.ratio),
    r.better,
    String(r.runs ?? 1),
    r.reference ? `${fmt(r.reference.value)} ${r.reference.label} (${fmt(r.reference.ratio)})` : '',
  ]);
}

/** The table as padded text lines (numbers right-aligned); none when there are no rows. */
export function tableLines(results) {
  if (!results.length) return [];
  const lines = [HEADER, ...cells(results)];
  const widths = HEADER.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : i === 6 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
}
