/**
 * A bounded cache with approximately-least-recently-used eviction ("second chance", as in CLOCK): a hit only
 * marks its entry, so reads cost one Map lookup; when the cache is over budget, the oldest entries are looked
 * at in insertion order — a marked one is unmarked and moved to the young end, an unmarked one is evicted.
 * Entries used since they were last looked at therefore survive; cold ones go first. Nothing is ever cleared
 * wholesale.
 */
export class Lru<K, V> {
  readonly #entries = new Map<K, { value: V; weight: number; used: boolean }>();
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;
  #weight = 0;

  /** `weigh` gives an entry's cost (bytes, or 1 to bound a count); the sum stays at most `maxWeight`. */
  constructor(maxWeight: number, weigh: (value: V) => number = () => 1) {
    this.#maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The total weight held. */
  get weight(): number {
    return this.#weight;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  /** Stores `value` (an entry heavier than the whole budget is not stored), then evicts down to the budget. */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weigh(value);
    if (weight > this.#maxWeight) return;
    this.#entries.set(key, { value, weight, used: false });
    this.#weight += weight;
    this.#evict();
  }

  delete(key: K): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
    return true;
  }

  /** Re-weighs `key` after its value grew or shrank (say, an encoding was added to it). */
  reweigh(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    const weight = this.#weigh(entry.value);
    this.#weight += weight - entry.weight;
    entry.weight = weight;
    if (weight > this.#maxWeight) this.delete(key);
    else this.#evict();
  }

  #evict(): void {
    // Each pass either evicts or unmarks, so this ends: at worst every entry is unmarked once.
    for (const [key, entry] of this.#entries) {
      if (this.#weight <= this.#maxWeight) return;
      this.#entries.delete(key);
      if (entry.used) {
        entry.used = false;
        this.#entries.set(key, entry);
      } else {
        this.#weight -= entry.weight;
      }
    }
  }
}
