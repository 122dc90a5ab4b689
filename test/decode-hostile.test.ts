import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor } from '../agent/codec/cbor.js';
import { keyId } from '../agent/crypto/keys.js';
import { openPairingRequest } from '../agent/owner/pairing.js';
import { decodePart } from '../agent/owner/parts.js';
import { preparseRequest, DEFAULT_REQUEST_LIMITS } from '../agent/owner/requests.js';
import type { Transport } from '../agent/ports/index.js';
import { topics } from '../agent/topics.js';
import type { RefusedMessage } from '../companion/client.js';
import { verifyReply, verifyState } from '../companion/verify.js';
import { attackClasses, constructorTag, map, sharedReferenceDag, signedShell, text } from '../fuzz/shapes.js';
import { makeWorld, reading, T0, wireTestRandom } from './envelope-fixtures.js';
import { pairOwner, startDevice, until, useBrokerWorld, type World } from './helpers/agent-kit.js';

/**
 * Hostile CBOR through every path that decodes before it verifies (issue 10 items 1 and 7): the device's owner
 * channel and pairing, the companion's state, replies and parts, the collector's sealed plaintext. Each refuses
 * under the strict profile (MALFORMED, `CBOR [rule]`), changes nothing, and stays usable.
 */

const shared = useBrokerWorld();
let world: World;
beforeAll(() => {
  ({ world } = shared.current());
  wireTestRandom();
});

async function injector(): Promise<Transport> {
  const transport = world.clientTransport()({ clientId: `hostile-${Math.random().toString(36).slice(2, 8)}`, cleanSession: true });
  await transport.connect();
  shared.cleanups.push(() => transport.close());
  return transport;
}

describe('the owner channel of a real agent', () => {
  it('a ~400-byte unauthenticated cmd/req of shared references is refused as MALFORMED, audited, nothing changes', async () => {
    const { kit } = await startDevice(world, shared.cleanups, 'amp-th');
    const companion = await pairOwner(world, kit);
    shared.cleanups.push(() => companion.close());
    const version = (await companion.getState()).version;
    const state = () => {
      const { enforced, paired, mode, security } = kit.agent.status();
      return structuredClone({ enforced, paired, mode, security });
    };
    const before = state();
    const start = kit.agent.status().commands;
    const auditBefore = kit.agent.audit.entries().length;

    // A map (as a request body must be) whose one field cbor-x expands to 19^6 = 47 million paths; the old
    // pre-parse walked every one of them before it could see that the signer is not the owner (NOT_OWNER).
    const request = signedShell(map([[text('kind'), sharedReferenceDag(7, 19)]]));
    expect(request.length).toBeGreaterThan(350);
    expect(request.length).toBeLessThan(450);
    await (await injector()).publish(topics.commandRequest('amp-th'), request, { qos: 1 });

    await until(() => kit.agent.status().commands.received > start.received, 'the request reached the owner channel', 60_000);
    await until(() => kit.agent.audit.entries().length > auditBefore, 'the refusal is audited', 60_000);
    const refusal = kit.agent.audit.entries().slice(auditBefore).find((e) => e.type === 'command.rejected');
    expect(refusal?.details).toMatchObject({ code: 'MALFORMED', source: 'others' });
    expect(kit.agent.status().commands.accepted).toBe(start.accepted);
    expect(state()).toEqual(before); // the audit trail grew by the refusal; nothing else moved
    expect((await companion.getState()).version).toBe(version); // still serving its owner
  }, 120_000);

  it('the request pre-parse refuses every attack class, in the outer document and in its body', () => {
    for (const attack of attackClasses()) {
      for (const bytes of [attack.bytes, signedShell(attack.bytes)]) {
        const result = preparseRequest(bytes, DEFAULT_REQUEST_LIMITS);
        expect(result, attack.name).toMatchObject({ code: 'MALFORMED', source: 'others' });
      }
    }
  });

  it('pairing: a hostile outer map is MALFORMED before any box is opened', () => {
    const deviceKey = nacl.box.keyPair().secretKey;
    for (const attack of attackClasses()) {
      expect(() => openPairingRequest(attack.bytes, deviceKey), attack.name).toThrowError(
        expect.objectContaining({ code: 'MALFORMED', message: expect.stringContaining(`CBOR [${attack.rule}]`) }));
    }
  });
});

describe('the companion decodes state, replies and parts under the strict profile before verifying', () => {
  const signer = nacl.sign.keyPair();

  it('verifyState, verifyReply and decodePart refuse each attack class with its rule', () => {
    for (const attack of attackClasses()) {
      const expected = expect.objectContaining({ code: 'MALFORMED', message: expect.stringContaining(`CBOR [${attack.rule}]`) });
      expect(() => verifyState(attack.bytes, signer.publicKey, 'd1'), attack.name).toThrowError(expected);
      expect(() => verifyReply(attack.bytes, signer.publicKey, 'd1'), attack.name).toThrowError(expected);
      expect(() => decodePart(attack.bytes), attack.name).toThrowError(expected);
    }
  });

  it('a shared-reference graph beside a valid signature field is refused, not walked', () => {
    const outer = encodeCbor({ b: Uint8Array.of(0xa0), k: keyId(signer.publicKey), s: new Uint8Array(64) });
    // Splice a fourth field {x: <dag>} into the signed document's map (b9 00 03 -> b9 00 04).
    const hostile = Uint8Array.from([...outer.subarray(0, 2), 4, ...outer.subarray(3), 0x61, 0x78, ...sharedReferenceDag(7, 6)]);
    expect(() => verifyState(hostile, signer.publicKey, 'd1')).toThrowError(expect.objectContaining({ code: 'MALFORMED', message: expect.stringContaining('CBOR [tag]') }));
  });

  it('end to end: hostile retained state and replies are refused as MALFORMED; the owner is still served', async () => {
    const { kit } = await startDevice(world, shared.cleanups, 'hostile-comp');
    const companion = await pairOwner(world, kit);
    shared.cleanups.push(() => companion.close());
    const refused: RefusedMessage[] = [];
    companion.watchRefused((message) => refused.push(message));
    const inject = await injector();
    // The signed document itself is hostile: it is decoded before its signature can be checked.
    await inject.publish(topics.state('hostile-comp'), sharedReferenceDag(12, 4), { qos: 1, retain: true });
    await inject.publish(topics.commandReply('hostile-comp', 'tok1', 'accepted'), constructorTag('Error', 'x'), { qos: 1 });
    await until(() => refused.length >= 2, 'both hostile messages refused', 60_000);
    for (const message of refused) expect(message).toMatchObject({ code: 'MALFORMED', reason: expect.stringMatching(/^CBOR \[/) });
    await inject.publish(topics.state('hostile-comp'), new Uint8Array(0), { qos: 1, retain: true }); // clear the retained junk
    expect((await companion.getState()).version).toBeGreaterThanOrEqual(0);
  }, 120_000);
});

describe('the collector refuses off-spec plaintext inside an authentic sealed envelope', () => {
  /** Seal arbitrary plaintext bytes exactly as a v1 device would, so only the plaintext is off-spec. */
  function sealRaw(plaintext: Uint8Array, seq: number, device: { boxSecretKey: Uint8Array; boxPublicKey: Uint8Array }, collectorPublic: Uint8Array): Uint8Array {
    const nonce = nacl.randomBytes(24);
    return encodeCbor({
      v: 1, alg: 1, rk: keyId(collectorPublic), sk: keyId(device.boxPublicKey), sid: new Uint8Array(8).fill(1), seq, ts: T0,
      n: nonce, ct: nacl.box(plaintext, nonce, collectorPublic, device.boxSecretKey),
    });
  }

  /** The inner map a v1 sealer writes, with the given `d`. */
  function inner(seq: number, devicePublic: Uint8Array, collectorPublic: Uint8Array, d: unknown): Uint8Array {
    const one = reading(new Uint8Array(8).fill(1), seq);
    return encodeCbor({
      dev: 'hostile-1', st: 'telemetry', rk: keyId(collectorPublic), sk: keyId(devicePublic), sid: new Uint8Array(8).fill(1), seq, ts: T0,
      r: [{ s: one.id.session, q: seq, c: one.category, t: one.at, x: one.expiresAt, d }],
    });
  }

  /** Replaces the one occurrence of `from` (the encoded `d`) with `to`. */
  const splice = (bytes: Uint8Array, from: readonly number[], to: readonly number[]): Uint8Array => {
    for (let at = 0; at + from.length <= bytes.length; at++) {
      if (from.every((b, i) => bytes[at + i] === b)) return Uint8Array.from([...bytes.subarray(0, at), ...to, ...bytes.subarray(at + from.length)]);
    }
    throw new Error('marker not found');
  };

  it('Error and RegExp objects, duplicate keys, indefinite lengths, any tag: MALFORMED, nothing delivered', () => {
    const world = makeWorld();
    const device = world.device('hostile-1').identity;
    const collectorKey = world.collector.publicKey;
    const honestD = [0xb9, 0x00, 0x02, 0x62, 0x61, 0x61, 0x01, 0x62, 0x61, 0x62, 0x02]; // {aa: 1, ab: 2}
    const honest = (seq: number) => inner(seq, device.boxPublicKey, collectorKey, { aa: 1, ab: 2 });
    const plaintexts: Record<string, (seq: number) => Uint8Array> = {
      'Error as d': (seq) => inner(seq, device.boxPublicKey, collectorKey, new Error('boom')),
      'RegExp as d': (seq) => inner(seq, device.boxPublicKey, collectorKey, /(a+)+$/),
      'duplicate key in d': (seq) => splice(honest(seq), honestD, [0xa2, 0x62, 0x61, 0x61, 0x01, 0x62, 0x61, 0x61, 0x02]),
      'indefinite-length d': (seq) => splice(honest(seq), honestD, [0xbf, 0x62, 0x61, 0x61, 0x01, 0x62, 0x61, 0x62, 0x02, 0xff]),
      'shared references in d': (seq) => splice(honest(seq), honestD, [0xa1, 0x62, 0x61, 0x61, ...sharedReferenceDag(4, 4)]),
      'a date tag in d': (seq) => splice(honest(seq), honestD, [0xa1, 0x62, 0x61, 0x61, 0xc1, 0x00]),
    };
    // The honest one is accepted, so the refusals below are about the plaintext and nothing else.
    expect(world.collector.ingest(topics.telemetry('hostile-1'), sealRaw(honest(0), 0, device, collectorKey)).ok).toBe(true);
    const delivered = world.delivered.length;
    let seq = 1;
    for (const [name, plaintext] of Object.entries(plaintexts)) {
      const result = world.collector.ingest(topics.telemetry('hostile-1'), sealRaw(plaintext(seq), seq, device, collectorKey));
      seq++;
      expect(result, name).toMatchObject({ ok: false, reason: 'malformed', code: 'MALFORMED' });
    }
    expect(world.delivered.length).toBe(delivered);
    expect(world.collector.stats().rejected.malformed).toBe(Object.keys(plaintexts).length);
  });
});
