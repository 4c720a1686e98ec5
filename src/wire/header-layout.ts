// What the public API says about a header's buffer-layout declaration: its length and field
// offsets (wire's headers, pcap's blocks). buffer-layout ships no typings (ctsim keeps its own in src/types), so the exported
// layouts are typed with this interface and the package's .d.ts never names buffer-layout.
export interface HeaderLayout {
  /** The fixed header's length in bytes. */
  readonly span: number;
  /** A field's byte offset, or undefined for a name the layout does not have. */
  offsetOf(property: string): number | undefined;
  decode(b: Uint8Array, offset?: number): Record<string, unknown>;
  /** Writes the fixed part; answers the bytes written. */
  encode(src: Record<string, unknown>, b: Uint8Array, offset?: number): number;
}
