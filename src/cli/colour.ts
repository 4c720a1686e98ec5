// Colour for a terminal only: INVALID and failures red, IGNORE and stalls yellow, successes
// green. Off when the stream is not a TTY, when NO_COLOR is set (https://no-color.org), or for
// TERM=dumb; FORCE_COLOR=1 turns it on (for a pager that understands it: `less -R`).
export interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  grey(s: string): string;
  bold(s: string): string;
}

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const plain = (s: string) => s;

export function paint(on: boolean): Paint {
  return on
    ? { red: sgr('31'), yellow: sgr('33'), green: sgr('32'), grey: sgr('90'), bold: sgr('1') }
    : { red: plain, yellow: plain, green: plain, grey: plain, bold: plain };
}

/** Paint for standard output. */
export function stdoutPaint(): Paint {
  return paint(colourEnabled(process.stdout));
}
