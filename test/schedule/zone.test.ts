import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalZone } from '../../src/definitions/zone.ts';
import { nextTransition, offsetMinutes } from '../../src/schedule/zone.ts';

test('canonicalZone accepts IANA names and canonicalises them through Intl', () => {
  const accepted: Array<[string, string]> = [
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['America/New_York', 'America/New_York'],
    ['US/Eastern', 'America/New_York'],
    ['America/Argentina/Buenos_Aires', 'America/Buenos_Aires'],
    ['Australia/Lord_Howe', 'Australia/Lord_Howe'],
    ['UTC', 'UTC'],
    ['Etc/UTC', 'UTC'],
  ];
  for (const [name, canonical] of accepted) assert.equal(canonicalZone(name), canonical, name);
});

test('canonicalZone rejects abbreviations, offsets and unknown names', () => {
  const rejected = ['EST', 'CET', 'GMT', 'EST5EDT', '+02:00', '-05:00', 'GMT+2', 'UTC+1', 'Etc/GMT+2', 'Etc/GMT',
    'Nope/Zone', 'Europe/Berlinn', '', 'Europe/', '/Berlin', 'Europe Berlin'];
  for (const name of rejected) assert.equal(canonicalZone(name), null, name);
});

test('offsetMinutes at instants on both sides of daylight saving time', () => {
  const rows: Array<[string, string, number]> = [
    ['UTC', '2026-07-01T00:00:00Z', 0],
    ['Europe/Berlin', '2026-01-15T12:00:00Z', 60],
    ['Europe/Berlin', '2026-07-15T12:00:00Z', 120],
    ['Europe/Berlin', '2026-03-29T00:59:59Z', 60], // 01:59:59 CET, the last second before the gap
    ['Europe/Berlin', '2026-03-29T01:00:00Z', 120], // 03:00 CEST
    ['America/New_York', '2026-01-15T12:00:00Z', -300],
    ['America/New_York', '2026-07-15T12:00:00Z', -240],
    ['Australia/Lord_Howe', '2026-07-15T12:00:00Z', 630],
    ['Australia/Lord_Howe', '2026-01-15T12:00:00Z', 660],
    ['Asia/Kathmandu', '2026-01-15T12:00:00Z', 345],
  ];
  for (const [zone, iso, minutes] of rows) assert.equal(offsetMinutes(zone, Date.parse(iso)), minutes, `${zone} ${iso}`);
});

test('nextTransition finds the first offset change to the millisecond', () => {
  const rows: Array<[string, string, string, string | null]> = [
    ['Europe/Berlin', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z', '2026-03-29T01:00:00.000Z'],
    ['Europe/Berlin', '2026-04-01T00:00:00Z', '2026-12-31T00:00:00Z', '2026-10-25T01:00:00.000Z'],
    ['Europe/Berlin', '2026-04-01T00:00:00Z', '2026-10-25T00:59:59Z', null],
    ['America/New_York', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z', '2026-03-08T07:00:00.000Z'],
    ['Australia/Lord_Howe', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z', '2026-04-04T15:00:00.000Z'],
    ['Australia/Lord_Howe', '2026-05-01T00:00:00Z', '2026-12-31T00:00:00Z', '2026-10-03T15:30:00.000Z'],
    ['UTC', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', null],
  ];
  for (const [zone, from, to, expected] of rows) {
    const change = nextTransition(zone, Date.parse(from), Date.parse(to));
    assert.equal(change === null ? null : new Date(change).toISOString(), expected, `${zone} ${from}`);
  }
});
