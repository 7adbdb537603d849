import { describe, expect, it } from 'vitest';
import { checkTlsConfig, isLoopbackHost, type TlsConfig } from '../../src/lib/tls-config.js';
import { normalizeFingerprint, parseFingerprint } from '../../src/lib/tls-fingerprint.js';

const NAMES = { mode: 'tls.mode', listen: 'listen', certFile: 'tls.certFile', keyFile: 'tls.keyFile' };
const check = (tls: TlsConfig, host: string) => () => checkTlsConfig(tls, host, NAMES);

describe('isLoopbackHost', () => {
  it('accepts 127.0.0.0/8, ::1 and localhost only', () => {
    for (const h of ['127.0.0.1', '127.0.0.150', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', 'localhost.example.com', '', '::2'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('checkTlsConfig', () => {
  it('allows plain HTTP on loopback when asked for', () => {
    expect(check({ mode: 'off' }, '127.0.0.1')).not.toThrow();
    expect(check({ mode: 'off' }, 'localhost')).not.toThrow();
  });
  it('refuses plain HTTP on a non-loopback address, naming the settings', () => {
    expect(check({ mode: 'off' }, '0.0.0.0')).toThrow(
      /tls\.mode is 'off' \(plain HTTP\) but listen "0\.0\.0\.0" is not a loopback address/,
    );
    expect(check({ mode: 'off' }, '10.1.2.3')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
  it('allows plain HTTP on the network only with plainOnNetwork, and plainOnNetwork only with mode off', () => {
    expect(check({ mode: 'off', plainOnNetwork: true }, '0.0.0.0')).not.toThrow();
    expect(check({ mode: 'on', plainOnNetwork: true }, '0.0.0.0')).toThrow(/plainOnNetwork only applies/);
  });
  it('HTTPS may listen anywhere; a certificate needs its key and the reverse', () => {
    expect(check({ mode: 'on' }, '0.0.0.0')).not.toThrow();
    expect(check({ mode: 'on', certFile: '/c', keyFile: '/k' }, '0.0.0.0')).not.toThrow();
    expect(check({ mode: 'on', certFile: '/c' }, '0.0.0.0')).toThrow(
      /tls\.certFile and tls\.keyFile must be given together/,
    );
    expect(check({ mode: 'on', keyFile: '/k' }, '127.0.0.1')).toThrow(/must be given together/);
  });
});

describe('fingerprints', () => {
  const hex = 'ab'.repeat(32);
  it('normalizes every common spelling to sha256:<lowercase hex>', () => {
    expect(normalizeFingerprint(`sha256:${hex}`)).toBe(`sha256:${hex}`);
    expect(normalizeFingerprint(hex.toUpperCase())).toBe(`sha256:${hex}`);
    expect(normalizeFingerprint(`SHA256:${'AB:'.repeat(31)}AB`)).toBe(`sha256:${hex}`);
  });
  it('refuses anything else with a message naming the setting', () => {
    expect(normalizeFingerprint('sha256:abc')).toBeUndefined();
    expect(normalizeFingerprint(`sha1:${hex}`)).toBeUndefined();
    expect(() => parseFingerprint('nope', '--tls-fingerprint')).toThrow(
      /--tls-fingerprint must be a SHA-256 certificate fingerprint/,
    );
  });
});
