import { describe, expect, it } from 'vitest';
import { toHex } from '../agent/crypto/keys.js';
import { encodeOwnerKeyFile, generateOwnerKeys } from '../companion/keys.js';
import { decodeVault, encodeVault, newVault } from '../web/vault.js';

/** The web app's backup format (the same checks guard the IndexedDB copy): whole or refused, never half-read. */
describe('web app backup', () => {
  const vault = newVault();
  vault.keyFile.devices['thermo-1'] = { deviceType: 'thermostat', signPublicKey: new Uint8Array(32).fill(1), boxPublicKey: generateOwnerKeys().boxPublicKey };
  vault.brokers['thermo-1'] = 'wss://127.0.0.1:8884';
  vault.receipts.push({ deviceId: 'thermo-1', kind: 'erase-all', issuedAt: 1, signed: 'a1b2' });

  it('round-trips keys, devices, broker addresses and receipts', () => {
    const back = decodeVault(encodeVault(vault));
    expect(toHex(back.keyFile.keys.signSecretKey)).toBe(toHex(vault.keyFile.keys.signSecretKey));
    expect(back.brokers).toEqual(vault.brokers);
    expect(back.receipts).toEqual(vault.receipts);
    expect(Object.keys(back.keyFile.devices)).toEqual(['thermo-1']);
  });

  it('accepts a CLI owner key file as it is', () => {
    const back = decodeVault(encodeOwnerKeyFile(vault.keyFile));
    expect(toHex(back.keyFile.keys.keyId)).toBe(toHex(vault.keyFile.keys.keyId));
    expect(back.brokers).toEqual({});
  });

  it.each([
    ['not JSON', (t: string) => t.slice(0, 40), /not JSON/],
    ['an array', () => '[]', /not a companion backup/],
    ['another version', (t: string) => t.replace('"v": 1', '"v": 2'), /unknown version/],
    ['a damaged secret key', (t: string) => t.replace(/"signSecretKey": "[0-9a-f]{6}/, '"signSecretKey": "zzzzzz'), /owner keys in this file are damaged/],
    ['a short secret key', (t: string) => t.replace(/"boxSecretKey": "([0-9a-f]{2})[0-9a-f]+"/, '"boxSecretKey": "$1"'), /owner keys in this file are damaged/],
    ['a plaintext broker', (t: string) => t.replace('wss://127.0.0.1:8884', 'mqtt://127.0.0.1:1883'), /not a wss:\/\/ address/],
    ['a damaged receipt', (t: string) => t.replace('"signed": "a1b2"', '"signed": 5'), /receipt in this backup is damaged/],
  ])('refuses %s with a clear message', (_name, damage, message) => {
    expect(() => decodeVault(damage(encodeVault(vault)))).toThrow(message);
  });
});
