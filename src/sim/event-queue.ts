// A binary min-heap of events ordered by (time, insertion sequence): events at the same virtual
// time run in the order they were scheduled, which keeps runs deterministic.

export interface QueuedEvent {
  at: number;
  seq: number;
  fn: () => void;
  active: boolean;
}

export class EventQueue {
  private heap: QueuedEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, fn: () => void): QueuedEvent {
    const ev: QueuedEvent = { at, seq: this.seq++, fn, active: true };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
    return ev;
  }

  peek(): QueuedEvent | undefined {
    return this.heap[0];
  }

  pop(): QueuedEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: QueuedEvent, y: QueuedEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
