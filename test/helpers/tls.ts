import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
  remove(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * A throwaway CA and a server certificate for 127.0.0.1 / localhost, made with the openssl CLI (P-256 keys:
 * fast to generate). A broker that drops to an unprivileged user (Mosquitto started as root) must read them,
 * so the directory is 755 and the files 644: acceptable for a test key that lives for seconds.
 */
export function createTestPki(label = 'broker'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `ta-pki-${label}-`));
  chmodSync(dir, 0o755);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=iot-trust-agent test CA ${label}`], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
  for (const file of ['ca.pem', 'server.pem', 'server.key']) chmodSync(join(dir, file), 0o644);
  const caFile = join(dir, 'ca.pem');
  return {
    dir,
    caFile,
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    caPem: readFileSync(caFile, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
