// The conformance tools' typed errors. The CLI reports them as "ctsim: <Name> (<kind>): ..." with
// a non-zero exit status.

/** A suite folder or an implementation's verdict file that is not what the format says. */
export class SuiteFormatError extends Error {
  override readonly name = 'SuiteFormatError';
  readonly kind = 'input';
}

/** A peer implementation (e.g. Open vSwitch) is missing, failed to start, or misbehaved. */
export class PeerError extends Error {
  override readonly name = 'PeerError';
  readonly kind = 'peer';
}
