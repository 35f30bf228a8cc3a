import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRecord } from '../dns/presentation.js';
import { detectProvider, microsoftMxHost, preset } from './presets.js';

describe('preset', () => {
  it('google-workspace: the current single smtp.google.com and the SPF include', () => {
    assert.deepEqual(preset('google-workspace', 'Example.COM.').records.map(formatRecord), [
      'example.com. 3600 IN MX 1 smtp.google.com.',
      'example.com. 3600 IN TXT "v=spf1 include:_spf.google.com ~all"',
    ]);
  });

  it('google-workspace-legacy: the five ASPMX hosts at 1, 5, 5, 10, 10', () => {
    const lines = preset('google-workspace-legacy', 'bücher.example').records.map(formatRecord);
    assert.deepEqual(lines.slice(0, 5), [
      'xn--bcher-kva.example. 3600 IN MX 1 aspmx.l.google.com.',
      'xn--bcher-kva.example. 3600 IN MX 5 alt1.aspmx.l.google.com.',
      'xn--bcher-kva.example. 3600 IN MX 5 alt2.aspmx.l.google.com.',
      'xn--bcher-kva.example. 3600 IN MX 10 alt3.aspmx.l.google.com.',
      'xn--bcher-kva.example. 3600 IN MX 10 alt4.aspmx.l.google.com.',
    ]);
  });

  it('microsoft-365: 0 <domain-with-dashes>.mail.protection.outlook.com, SPF, autodiscover', () => {
    assert.equal(microsoftMxHost('mail.contoso.co.uk'), 'mail-contoso-co-uk.mail.protection.outlook.com');
    assert.deepEqual(preset('microsoft-365', 'contoso.com').records.map(formatRecord), [
      'contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.',
      'contoso.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"',
      'autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.',
    ]);
  });

  it('refuses an unknown preset and a bad domain', () => {
    assert.throws(() => preset('gmail', 'example.com'), { code: 'MX_INVALID_ARGUMENT' });
    assert.throws(() => preset('google-workspace', 'a..b'), { code: 'MX_INVALID_NAME' });
  });
});

describe('detectProvider', () => {
  const legacy = [
    '1 aspmx.l.google.com.',
    '5 alt1.aspmx.l.google.com.',
    '5 alt2.aspmx.l.google.com.',
    '10 alt3.aspmx.l.google.com.',
    '10 alt4.aspmx.l.google.com.',
  ];

  it("recognises Google's documented sets with no deviation (preferences compared by the order they give)", () => {
    assert.deepEqual(detectProvider(legacy), {
      provider: 'google-workspace',
      name: 'Google Workspace',
      preset: 'google-workspace-legacy',
      deviations: [],
    });
    const scaled = [
      '10 ASPMX.L.GOOGLE.COM',
      '20 alt1.aspmx.l.google.com',
      '20 alt2.aspmx.l.google.com',
      '30 alt3.aspmx.l.google.com',
      '30 alt4.aspmx.l.google.com',
    ];
    assert.deepEqual(detectProvider(scaled)?.deviations, []);
    assert.deepEqual(detectProvider([{ preference: 1, exchange: 'smtp.google.com' }])?.preset, 'google-workspace');
    assert.deepEqual(detectProvider(['smtp.google.com'])?.deviations, []);
  });

  it('lists missing and extra Google hosts and preferences that reorder them', () => {
    const m = detectProvider(['1 aspmx.l.google.com', '1 alt1.aspmx.l.google.com', '20 backup.example.com']);
    assert.equal(m?.preset, 'google-workspace-legacy');
    assert.deepEqual(m?.deviations, [
      'Missing alt2.aspmx.l.google.com (Google documents it at preference 5).',
      'Missing alt3.aspmx.l.google.com (Google documents it at preference 10).',
      'Missing alt4.aspmx.l.google.com (Google documents it at preference 10).',
      "Extra host backup.example.com: not in Google's documented set.",
      'Host alt1.aspmx.l.google.com has preference 1; Google documents 5, which orders it differently.',
    ]);
    const mixed = detectProvider(['1 smtp.google.com', ...legacy.slice(0, 1)]);
    assert.match(mixed?.deviations[0] ?? '', /^The set mixes smtp\.google\.com with the legacy ASPMX hosts/);
    const first = detectProvider(['0 mx.example.net', '1 smtp.google.com']);
    assert.deepEqual(first?.deviations, [
      "Extra host mx.example.net: not in Google's documented set.",
      'Host mx.example.net (preference 0) comes before the Google hosts and takes the mail first.',
    ]);
  });

  it('Microsoft 365: one host; extra hosts, a host before it, a name not derived from the domain', () => {
    assert.deepEqual(detectProvider(['0 contoso-com.mail.protection.outlook.com.'], { domain: 'contoso.com' }), {
      provider: 'microsoft-365',
      name: 'Microsoft 365',
      preset: 'microsoft-365',
      deviations: [],
    });
    assert.deepEqual(
      detectProvider(['10 contoso-com.mail.protection.outlook.com', '5 mx.backup.example'], { domain: 'fabrikam.com' })
        ?.deviations,
      [
        'Extra host mx.backup.example: Microsoft 365 documents a single MX.',
        'Host mx.backup.example (preference 5) comes before contoso-com.mail.protection.outlook.com and takes the mail first.',
        'Host contoso-com.mail.protection.outlook.com does not start with fabrikam-com: check the name the Microsoft 365 admin centre shows.',
      ],
    );
    assert.equal(detectProvider(['0 contoso-com.l-v1.mx.microsoft'])?.provider, 'microsoft-365');
  });

  it('recognises Zoho, Fastmail, Proton, Yahoo and iCloud without judging them; null for the rest', () => {
    const cases: [string[], string][] = [
      [['10 mx.zoho.com', '20 mx2.zoho.com', '50 mx3.zoho.com'], 'zoho'],
      [['10 mx.zoho.eu'], 'zoho'],
      [['10 in1-smtp.messagingengine.com', '20 in2-smtp.messagingengine.com'], 'fastmail'],
      [['10 mail.protonmail.ch', '20 mailsec.protonmail.ch'], 'proton'],
      [['1 mx-biz.mail.am0.yahoodns.net'], 'yahoo'],
      [['10 mx01.mail.icloud.com', '10 mx02.mail.icloud.com'], 'icloud'],
    ];
    for (const [mx, provider] of cases) {
      const m = detectProvider(mx);
      assert.equal(m?.provider, provider, mx.join(', '));
      assert.equal(m?.preset, null);
      assert.deepEqual(m?.deviations, []);
    }
    assert.equal(detectProvider(['10 mail.example.com', '20 notgoogle.com']), null);
    assert.equal(detectProvider(['0 .']), null);
    assert.equal(detectProvider([]), null);
  });
});
