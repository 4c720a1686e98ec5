// Configuration problems (unknown kernel, a sysctl the kernel does not have, a value out of
// range): typed, with a message that says what to do instead.
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly kind = 'config';
}
