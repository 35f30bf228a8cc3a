import assert from 'node:assert/strict';
import { it } from 'node:test';
import { seededRng } from '../../core/random.js';
import { IdTable } from './id-table.js';

it('IdTable behaves as a Map of IDs under a long random run of sets, deletes and look-ups', () => {
  const rng = seededRng(11);
  const table = new IdTable<string>();
  const model = new Map<number, string>();
  // IDs from a small range as well as the whole one, so that sets replace and deletes hit often.
  const pick = (): number => (rng() < 0.5 ? Math.floor(rng() * 64) : Math.floor(rng() * 65_536));
  for (let step = 0; step < 50_000; step++) {
    const id = pick();
    const r = rng();
    if (r < 0.45) {
      table.set(id, `v${step}`);
      model.set(id, `v${step}`);
    } else if (r < 0.9) {
      assert.equal(table.delete(id), model.delete(id), `delete ${id} at step ${step}`);
    } else if (r < 0.99) {
      assert.equal(table.get(id), model.get(id), `get ${id} at step ${step}`);
      assert.equal(table.has(id), model.has(id));
    } else {
      assert.deepEqual(table.values().sort(), [...model.values()].sort(), `values at step ${step}`);
    }
    assert.equal(table.size, model.size);
  }
  table.clear();
  assert.equal(table.size, 0);
  for (const id of model.keys()) assert.equal(table.has(id), false);
  table.set(5, 'again');
  assert.deepEqual(table.values(), ['again']);
});

it('IdTable takes the edges of the ID range and says no to what is outside it', () => {
  const table = new IdTable<number>();
  table.set(0, 1);
  table.set(65_535, 2);
  assert.equal(table.get(0), 1);
  assert.equal(table.get(65_535), 2);
  // What a reply too short to hold an ID is looked up as, and other numbers that are not IDs.
  for (const id of [-1, 65_536, 1.5, Number.NaN]) {
    assert.equal(table.get(id), undefined);
    assert.equal(table.has(id), false);
    assert.equal(table.delete(id), false);
    assert.throws(() => table.set(id, 3), /not a DNS ID/);
  }
  assert.equal(table.size, 2);
});

it('IdTable.values is a copy: deleting while going through it visits every entry once', () => {
  const table = new IdTable<number>();
  for (let id = 100; id < 110; id++) table.set(id, id);
  const seen: number[] = [];
  for (const v of table.values()) {
    seen.push(v);
    table.delete(v);
  }
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    [100, 101, 102, 103, 104, 105, 106, 107, 108, 109],
  );
  assert.equal(table.size, 0);
});

it('IdTable holds 65,535 entries, refuses one more, and stays right at its fullest', () => {
  const table = new IdTable<number>();
  for (let id = 0; id < 65_535; id++) table.set(id, id);
  assert.equal(table.size, 65_535);
  assert.throws(() => table.set(65_535, 0), /full/);
  // Replacing an entry is no new one.
  table.set(7, 70);
  assert.equal(table.get(7), 70);
  // The last places of the index point right: delete from the middle moves the last entry into the hole.
  assert.equal(table.get(65_534), 65_534);
  assert.equal(table.delete(100), true);
  assert.equal(table.get(65_534), 65_534);
  table.set(65_535, 1);
  assert.equal(table.get(65_535), 1);
  assert.equal(table.size, 65_535);
});
