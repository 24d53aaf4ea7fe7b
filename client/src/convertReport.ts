// What "Convert env.py to Async" tells the user: how many places changed, a way to see them,
// and what is left to change by hand (a database URL the rewrite cannot change, e.g. one
// read from an environment variable). The server's result may say all of it; what it leaves
// out is found here: changes by comparing the text before and after, the URL by the ENV001
// diagnostics the server publishes for the converted file.

export interface ConvertResult {
  applied: boolean;
  reason: string | null;
  /** Number of changes, when the server counts them. */
  changes?: number;
  /** What the user must still do by hand, when the server says. */
  manual?: string[];
}

export function parseConvertResult(value: unknown): ConvertResult | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.applied !== 'boolean') return undefined;
  const out: ConvertResult = { applied: v.applied, reason: typeof v.reason === 'string' ? v.reason : null };
  if (typeof v.changes === 'number' && Number.isInteger(v.changes) && v.changes >= 0) out.changes = v.changes;
  if (Array.isArray(v.manual)) out.manual = v.manual.filter((m): m is string => typeof m === 'string' && m.trim() !== '');
  return out;
}

/** Changed regions between two texts, line by line (a run of removed/added lines is one change). */
export function countChanges(before: string, after: string): number {
  const a = before.split(/\r?\n/);
  const b = after.split(/\r?\n/);
  // Common prefix and suffix first: the LCS table is then only as big as the changed middle.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length === 0 && y.length === 0) return 0;
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  let i = 0;
  let j = 0;
  let regions = 0;
  let inChange = false;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      inChange = false;
      i++;
      j++;
      continue;
    }
    if (!inChange) regions++;
    inChange = true;
    if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) j++;
    else i++;
  }
  return regions;
}

export interface DiagnosticLike {
  code?: string | number | { value: string | number } | undefined;
  message: string;
  range: { start: { line: number } };
}

const codeOf = (d: DiagnosticLike) => String(typeof d.code === 'object' && d.code !== null ? d.code.value : (d.code ?? ''));

/** The database URL problems left after the conversion (ENV001: an async engine with a sync driver). */
export function urlLeftovers(diagnostics: readonly DiagnosticLike[]): string[] {
  return diagnostics.filter((d) => codeOf(d) === 'ENV001').map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

export function convertMessage(file: string, changes: number, manual: readonly string[]): string {
  const what = `Converted ${file} to the async pattern: ${changes} ${changes === 1 ? 'change' : 'changes'}.`;
  if (manual.length === 0) return what;
  return `${what} Still to change by hand: ${manual.join(' · ')}`;
}
