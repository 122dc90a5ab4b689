import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { create } from 'qrcode/lib/core/qrcode.js';
import { pairingQrSvg, pairingQrText } from '../agent/node.js';
import { encodePairingPayload } from '../agent/owner/pairing.js';

const payload = encodePairingPayload({
  deviceId: 'thermo-1', deviceType: 'thermostat', boxPublicKey: new Uint8Array(32).fill(7), signPublicKey: new Uint8Array(32).fill(9), setupCode: 'ABCDEFGH',
});

describe('pairing QR code', () => {
  it('draws every dark module of the encoded payload in the SVG, inside a 4-module quiet zone', () => {
    const { modules } = create(payload, { errorCorrectionLevel: 'M' });
    const svg = pairingQrSvg(payload, { title: 'Pair <thermo-1>' });
    const size = modules.size + 8;
    expect(svg).toContain(`viewBox="0 0 ${size} ${size}"`);
    expect(svg).toContain('<title>Pair &#60;thermo-1&#62;</title>');
    let dark = 0;
    for (let r = 0; r < modules.size; r++) for (let c = 0; c < modules.size; c++) if (modules.get(r, c)) dark++;
    expect(svg.match(/h1v1h-1z/g)).toHaveLength(dark);
    // The top-left finder pattern's first row: seven dark modules starting at the quiet zone.
    for (let x = 4; x < 11; x++) expect(svg).toContain(`M${x} 4h1v1h-1z`);
    expect(svg).not.toContain('M3 4h1v1h-1z');
  });

  it('renders the same matrix as half blocks for a terminal, two module rows per line', () => {
    const { modules } = create(payload, { errorCorrectionLevel: 'M' });
    const lines = pairingQrText(payload).trimEnd().split('\n');
    expect(lines).toHaveLength(Math.ceil((modules.size + 8) / 2));
    for (const line of lines) expect([...line]).toHaveLength(modules.size + 8);
    // Quiet zone is light (full block). Rows 4-5: the finder's dark top row over its light inner row (dark ends).
    expect(lines[0]).toBe('█'.repeat(modules.size + 8));
    expect(lines[2]?.slice(4, 11)).toBe(' ▄▄▄▄▄ ');
  });

  it('stays out of the neutral agent bundle', () => {
    expect(readFileSync('dist/standalone/agent.js', 'utf8')).not.toMatch(/alignment|finder pattern|QR Code/i);
  });
});
