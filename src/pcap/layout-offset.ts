// buffer-layout's offsetOf() answers `number | undefined`; the field names below are
// constants, so a missing one is a typo we want to hear about at module load.
import type { HeaderLayout } from '../wire/index.js';

export function fieldOffset(layout: HeaderLayout, field: string): number {
  const offset = layout.offsetOf(field);
  if (offset === undefined) throw new Error(`layout has no field ${field}`);
  return offset;
}
