// The command line as the user typed it (for reports: "run it again" must be copyable).
export function commandLine(): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['ctsim', ...process.argv.slice(2).map(quote)].join(' ');
}
