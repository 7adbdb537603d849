/** The node's `tls` block: file, CONSORTIA_NODE_TLS_* environment and --insecure-http, checked against apiListen. */
import { describe, expect, it } from 'vitest';
import { INSECURE_HTTP_FLAG, loadNodeConfig, nodeEnvOverlay, parseNodeConfig } from '../../src/node/config.js';

const BASE = { chainId: 'c', dataDir: '/d', apiListen: '127.0.0.1:26657' };

describe('node tls config', () => {
  it('defaults to HTTPS; relative certificate paths resolve against the base directory', () => {
    expect(parseNodeConfig(BASE).tls).toEqual({ mode: 'on' });
    const cfg = parseNodeConfig(
      { ...BASE, tls: { certFile: 'tls/c.pem', keyFile: '/abs/k.pem', caFile: 'ca.pem' } },
      '/base',
    );
    expect(cfg.tls).toEqual({ mode: 'on', certFile: '/base/tls/c.pem', keyFile: '/abs/k.pem', caFile: '/base/ca.pem' });
  });
  it('reads CONSORTIA_NODE_TLS_* from the environment', () => {
    expect(
      nodeEnvOverlay({
        CONSORTIA_NODE_TLS_MODE: 'off',
        CONSORTIA_NODE_TLS_CERT_FILE: '/c.pem',
        CONSORTIA_NODE_TLS_PLAIN_ON_NETWORK: 'true',
      }),
    ).toEqual({
      tls: { mode: 'off', certFile: '/c.pem', plainOnNetwork: 'true' },
    });
    const cfg = loadNodeConfig([], {
      CONSORTIA_NODE_CHAIN_ID: 'c',
      CONSORTIA_NODE_DATA_DIR: '/d',
      CONSORTIA_NODE_API_LISTEN: '0.0.0.0:1',
      CONSORTIA_NODE_TLS_MODE: 'off',
      CONSORTIA_NODE_TLS_PLAIN_ON_NETWORK: 'true',
    });
    expect(cfg.tls).toEqual({ mode: 'off', plainOnNetwork: true });
  });
  it(`${INSECURE_HTTP_FLAG} means plain HTTP, allowed on a loopback apiListen only`, () => {
    expect(
      loadNodeConfig([INSECURE_HTTP_FLAG], { CONSORTIA_NODE_CHAIN_ID: 'c', CONSORTIA_NODE_DATA_DIR: '/d' }).tls.mode,
    ).toBe('off');
    expect(() =>
      loadNodeConfig([INSECURE_HTTP_FLAG], {
        CONSORTIA_NODE_CHAIN_ID: 'c',
        CONSORTIA_NODE_DATA_DIR: '/d',
        CONSORTIA_NODE_API_LISTEN: '[::]:26657',
      }),
    ).toThrow(
      /tls\.mode \(CONSORTIA_NODE_TLS_MODE, --insecure-http\) is 'off' \(plain HTTP\) but apiListen \(CONSORTIA_NODE_API_LISTEN\) "::" is not a loopback address/,
    );
    expect(parseNodeConfig({ ...BASE, apiListen: '[::1]:1', tls: { mode: 'off' } }).tls.mode).toBe('off');
  });
  it('plainOnNetwork serves plain HTTP on the network, only when asked for with mode off', () => {
    expect(
      parseNodeConfig({ ...BASE, apiListen: '0.0.0.0:1', tls: { mode: 'off', plainOnNetwork: true } }).tls
        .plainOnNetwork,
    ).toBe(true);
    expect(() => parseNodeConfig({ ...BASE, apiListen: '0.0.0.0:1', tls: { plainOnNetwork: true } })).toThrow(
      /plainOnNetwork only applies/,
    );
  });
  it('refuses a certificate without its key and unknown tls keys', () => {
    expect(() => parseNodeConfig({ ...BASE, tls: { keyFile: '/k.pem' } })).toThrow(
      /tls\.certFile \(CONSORTIA_NODE_TLS_CERT_FILE\) and tls\.keyFile \(CONSORTIA_NODE_TLS_KEY_FILE\) must be given together/,
    );
    expect(() => parseNodeConfig({ ...BASE, tls: { insecure: true } })).toThrow(/invalid configuration/);
  });
});
