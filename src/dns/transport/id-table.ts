/**
 * @module dns/transport/id-table
 * The queries in flight on one socket or connection, by their 16-bit DNS ID. Every query of a scan sets its
 * entry, and its reply finds and clears it: hundreds of thousands of entries a second coming and going. A `Map`
 * kept rehashing under that churn (its deleted entries stay until the table is rebuilt). Here an ID indexes a
 * typed array (128 KiB, which the garbage collector does not scan) that points into a dense list of the entries:
 * set, get and delete are an array access or two, and a 100k-domain scan took 5 % less time (bench/README.md).
 * A table holds 65,535 entries at most, as many as the pools let be in flight in all.
 */

/** An integer 0–65,535 (not -1, 65,536, 1.5 or NaN). */
function isId(id: number): boolean {
  return (id & 0xffff) === id;
}

/** IDs 0–65,535, each with at most one entry. */
export class IdTable<T> {
  /** Position + 1 in `entries` of each ID's entry; 0 when the ID is free. */
  private readonly at = new Uint16Array(65_536);
  private readonly entries: T[] = [];
  /** The ID of each entry, at the same position. */
  private readonly ids: number[] = [];

  get size(): number {
    return this.entries.length;
  }

  get(id: number): T | undefined {
    const at = isId(id) ? this.at[id]! : 0;
    return at === 0 ? undefined : this.entries[at - 1];
  }

  has(id: number): boolean {
    return isId(id) && this.at[id] !== 0;
  }

  /** Sets the entry of `id` (an integer 0–65,535), replacing the one it had. */
  set(id: number, value: T): void {
    if (!isId(id)) throw new RangeError(`not a DNS ID: ${id}`);
    const at = this.at[id]!;
    if (at !== 0) {
      this.entries[at - 1] = value;
      return;
    }
    // Positions + 1 up to 65,535 fit the index; one ID of the 65,536 always stays free.
    if (this.entries.length >= 65_535) throw new RangeError('the ID table is full (65,535 entries)');
    this.entries.push(value);
    this.ids.push(id);
    this.at[id] = this.entries.length;
  }

  /** Frees `id`; the last entry moves into its place. True when it had an entry. */
  delete(id: number): boolean {
    if (!this.has(id)) return false;
    const hole = this.at[id]! - 1;
    const last = this.entries.length - 1;
    if (hole !== last) {
      const moved = this.ids[last]!;
      this.entries[hole] = this.entries[last]!;
      this.ids[hole] = moved;
      this.at[moved] = hole + 1;
    }
    this.entries.pop();
    this.ids.pop();
    this.at[id] = 0;
    return true;
  }

  /** The entries as they are now (a copy: the table may change while the caller goes through them). */
  values(): T[] {
    return this.entries.slice();
  }

  clear(): void {
    for (const id of this.ids) this.at[id] = 0;
    this.entries.length = 0;
    this.ids.length = 0;
  }
}
