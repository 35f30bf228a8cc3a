import assert from 'node:assert/strict';
import { it } from 'node:test';
import { planReceivers } from './receivers.js';
import { remapZones } from './remap.js';
import { parseZone } from './zone.js';

const ZONE = `$ORIGIN company.test.
$TTL 300
@        IN SOA ns1 hostmaster 1 3600 600 86400 60
         IN NS  ns1
ns1      IN A   127.0.9.53
@        IN MX  10 mail
@        IN MX  20 mail-backup
@        IN MX  30 shared
mail     IN A   192.168.1.100
mail     IN AAAA 2001:db8::100
mail-backup IN A 203.0.113.101
shared   IN A   192.168.1.100
`;

it('moves every non-loopback address onto its own 127/8 address, one per original, and drops other IPv6', () => {
  const { zones, map } = remapZones([parseZone(ZONE)]);
  const a = (name: string) => zones[0]!.records.filter((r) => r.name === name && r.type === 'A').map((r) => r.data);
  assert.deepEqual(a('mail.company.test'), ['127.100.0.1']);
  assert.deepEqual(a('shared.company.test'), ['127.100.0.1'], 'one original address, one loopback address');
  assert.deepEqual(a('mail-backup.company.test'), ['127.100.0.2']);
  assert.deepEqual(a('ns1.company.test'), ['127.0.9.53'], 'loopback addresses stay');
  assert.equal(zones[0]!.records.filter((r) => r.type === 'AAAA').length, 0);
  assert.deepEqual(map, [
    { original: '192.168.1.100', loopback: '127.100.0.1', names: ['mail.company.test', 'shared.company.test'] },
    { original: '2001:db8::100', loopback: null, names: ['mail.company.test'] },
    { original: '203.0.113.101', loopback: '127.100.0.2', names: ['mail-backup.company.test'] },
  ]);
  for (const r of zones[0]!.records) {
    if (r.type === 'A') assert.match(String(r.data), /^127\./);
  }
});

it('plans one receiver per loopback address, shared by the exchanges on it', () => {
  const { zones } = remapZones([parseZone(ZONE)]);
  const { plan, unserved } = planReceivers(zones);
  assert.deepEqual(plan, [
    { address: '127.100.0.1', hosts: ['mail.company.test', 'shared.company.test'] },
    { address: '127.100.0.2', hosts: ['mail-backup.company.test'] },
  ]);
  assert.deepEqual(unserved, []);
});
