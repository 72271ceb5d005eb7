/**
 * An O(1) least-recently-used map: a Map from key to node plus a doubly linked list ordered from
 * least to most recently used. get/set/delete/touch/evictOldest are all constant time.
 *
 * Why not rely on Map insertion order alone: V8 leaves a hole for every deleted entry until the
 * table is rehashed, and `map.keys().next()` walks those holes, so "delete the oldest, insert a new
 * one" degrades to O(n) per operation on large maps (measured: 14 s for 300k ops at n = 100k).
 */

class LruNode<K, V> {
  prev: LruNode<K, V> | null = null;
  next: LruNode<K, V> | null = null;
  constructor(
    readonly key: K,
    public value: V,
  ) {}
}

export interface LruEntry<K, V> {
  key: K;
  value: V;
}

export interface LruMapOptions<K, V> {
  /** Most entries kept; `set` beyond it evicts the least recently used. Default: unbounded. */
  capacity?: number;
  /** Called for entries evicted because of `capacity` (not for delete/evictOldest). */
  onEvict?: (key: K, value: V) => void;
}

export class LruMap<K, V> {
  private readonly nodes = new Map<K, LruNode<K, V>>();
  /** Least recently used. */
  private head: LruNode<K, V> | null = null;
  /** Most recently used. */
  private tail: LruNode<K, V> | null = null;
  private readonly capacity: number;
  private readonly onEvict: ((key: K, value: V) => void) | undefined;

  constructor(options: LruMapOptions<K, V> = {}) {
    const capacity = options.capacity ?? Infinity;
    if (!(capacity >= 1)) throw new RangeError(`LruMap capacity must be >= 1, got ${capacity}`);
    this.capacity = capacity;
    this.onEvict = options.onEvict;
  }

  get size(): number {
    return this.nodes.size;
  }

  has(key: K): boolean {
    return this.nodes.has(key);
  }

  /** Read without changing recency. */
  peek(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Read and mark as most recently used. */
  get(key: K): V | undefined {
    const node = this.nodes.get(key);
    if (!node) return undefined;
    this.moveToTail(node);
    return node.value;
  }

  /** Mark as most recently used; false when absent. */
  touch(key: K): boolean {
    const node = this.nodes.get(key);
    if (!node) return false;
    this.moveToTail(node);
    return true;
  }

  /** Insert or replace, and mark as most recently used. */
  set(key: K, value: V): this {
    const existing = this.nodes.get(key);
    if (existing) {
      existing.value = value;
      this.moveToTail(existing);
      return this;
    }
    const node = new LruNode(key, value);
    this.nodes.set(key, node);
    this.append(node);
    if (this.nodes.size > this.capacity) {
      const evicted = this.evictOldest();
      if (evicted && this.onEvict) this.onEvict(evicted.key, evicted.value);
    }
    return this;
  }

  delete(key: K): boolean {
    const node = this.nodes.get(key);
    if (!node) return false;
    this.nodes.delete(key);
    this.unlink(node);
    return true;
  }

  oldestKey(): K | undefined {
    return this.head?.key;
  }

  oldestValue(): V | undefined {
    return this.head?.value;
  }

  newestKey(): K | undefined {
    return this.tail?.key;
  }

  /** Remove and return the least recently used entry. */
  evictOldest(): LruEntry<K, V> | undefined {
    const node = this.head;
    if (!node) return undefined;
    this.nodes.delete(node.key);
    this.unlink(node);
    return { key: node.key, value: node.value };
  }

  clear(): void {
    this.nodes.clear();
    this.head = this.tail = null;
  }

  /** Entries from least to most recently used. Do not mutate the map while iterating. */
  *entries(): IterableIterator<[K, V]> {
    for (let n = this.head; n; n = n.next) yield [n.key, n.value];
  }

  *keys(): IterableIterator<K> {
    for (let n = this.head; n; n = n.next) yield n.key;
  }

  *values(): IterableIterator<V> {
    for (let n = this.head; n; n = n.next) yield n.value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  private moveToTail(node: LruNode<K, V>): void {
    if (node === this.tail) return;
    this.unlink(node);
    this.append(node);
  }

  private append(node: LruNode<K, V>): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  private unlink(node: LruNode<K, V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
  }
}
