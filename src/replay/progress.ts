// The one-line progress display of `ctsim replay` on a terminal (the CLI draws it on stderr).

export interface ProgressState {
  packets: number;
  /** Bytes of the capture consumed so far. */
  bytes: number;
  /** Size of the capture when known (a regular file), else null (a pipe). */
  totalBytes: number | null;
  elapsedMs: number;
  /** Compare mode: differing verdicts so far. */
  differ?: number;
}

const group = (n: number) => Math.round(n).toLocaleString('en-US');

/** "[#######.......]  45.2%  1,234,567 packets  812,345 pkt/s  ETA 3 s" (no bar without a size). */
export function formatProgress(s: ProgressState, barWidth = 24): string {
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? s.packets / secs : 0;
  const parts: string[] = [];
  if (s.totalBytes !== null && s.totalBytes > 0) {
    const frac = Math.min(1, s.bytes / s.totalBytes);
    const done = Math.round(frac * barWidth);
    parts.push(`[${'#'.repeat(done)}${'.'.repeat(barWidth - done)}] ${(frac * 100).toFixed(1).padStart(5)}%`);
  }
  parts.push(`${group(s.packets)} packets`);
  parts.push(`${group(rate)} pkt/s`);
  if (s.differ !== undefined) parts.push(`${group(s.differ)} differ`);
  if (s.totalBytes !== null && s.totalBytes > 0 && s.bytes > 0 && secs > 0.5) {
    const eta = (secs * (s.totalBytes - s.bytes)) / s.bytes;
    parts.push(`ETA ${eta < 60 ? `${Math.ceil(eta)} s` : `${Math.floor(eta / 60)} min ${Math.ceil(eta % 60)} s`}`);
  }
  return `replay ${parts.join('  ')}`;
}
