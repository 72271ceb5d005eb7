/**
 * A binary max-heap whose items remember their own position, so an item whose priority changed can
 * be re-sifted (or removed) in O(log n). The protected store keeps its peers in one, ordered by
 * storage share, to find the eviction victim (the largest holder) in O(1).
 */

export interface HeapItem {
  /** Position in the heap; -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

export class IndexedMaxHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  /** `higher(a, b)` is true when `a` must sit above `b`. */
  constructor(private readonly higher: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item;
  }

  /** Insert, or restore order after the item's priority changed. */
  upsert(item: T): void {
    if (!this.has(item)) {
      item.heapIndex = this.items.length;
      this.items.push(item);
      this.up(item.heapIndex);
      return;
    }
    this.down(this.up(item.heapIndex));
  }

  remove(item: T): void {
    if (!this.has(item)) return;
    const i = item.heapIndex;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(this.up(i));
  }

  /** Items in heap order (not sorted). */
  values(): readonly T[] {
    return this.items;
  }

  private up(i: number): number {
    const h = this.items;
    const item = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.higher(item, parent)) break;
      h[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    h[i] = item;
    item.heapIndex = i;
    return i;
  }

  private down(i: number): number {
    const h = this.items;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.higher(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.higher(child, item)) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = item;
    item.heapIndex = i;
    return i;
  }
}
