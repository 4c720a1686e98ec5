// Minimal typings for buffer-layout 1.2 (the package ships none): only what ctsim uses.
declare module 'buffer-layout' {
  export class Layout<T = unknown> {
    span: number;
    property?: string;
    decode(b: Uint8Array, offset?: number): T;
    encode(src: T, b: Uint8Array, offset?: number): number;
  }
  export class Structure<T = Record<string, unknown>> extends Layout<T> {
    fields: Layout[];
    offsetOf(property: string): number | undefined;
    layoutFor(property: string): Layout | undefined;
  }
  export function struct<T = Record<string, unknown>>(fields: Layout[], property?: string): Structure<T>;
  export function u8(property?: string): Layout<number>;
  export function u16(property?: string): Layout<number>;
  export function u16be(property?: string): Layout<number>;
  export function u32(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function blob(length: number, property?: string): Layout<Uint8Array>;
  export function seq<T>(elementLayout: Layout<T>, count: number, property?: string): Layout<T[]>;
}
