import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHAIN_NODE_V8_FLAGS } from '../../src/lib/node-flags.js';

/**
 * No Docker engine is available here, so the image is checked structurally: stages, non-root
 * user, healthcheck, ports, and that the entrypoint exists, is executable, parses, and maps
 * env as documented (run against a stand-in main.js that echoes what it received).
 */
const root = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'node-image/Dockerfile'), 'utf8');
const entrypoint = join(root, 'node-image/entrypoint.sh');
const tmp = mkdtempSync(join(tmpdir(), 'consortia-entrypoint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Dockerfile instructions with line continuations joined. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

describe('node-image/Dockerfile', () => {
  const ins = instructions(dockerfile);
  const froms = ins.map((x, i) => ({ ...x, i })).filter((x) => x.op === 'FROM');
  const finalStage = ins.slice(froms[froms.length - 1]!.i);

  it('is multi-stage on node:20-bookworm-slim, building with npm ci + tsc and pruning dev deps', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:20-bookworm-slim/);
    expect(froms[0]!.args).toMatch(/AS build/i);
    const build = ins
      .slice(froms[0]!.i, froms[1]!.i)
      .map((x) => `${x.op} ${x.args}`)
      .join('\n');
    expect(build).toMatch(/RUN npm ci/);
    expect(build).toMatch(/tsc -p tsconfig\.json/);
    expect(build).toMatch(/npm prune --omit=dev/);
    // runtime copies build output from the build stage, not the source tree
    expect(finalStage.some((x) => x.op === 'COPY' && /--from=build .*\/dist/.test(x.args))).toBe(true);
    expect(finalStage.some((x) => x.op === 'COPY' && /\bsrc\b/.test(x.args) && !/--from/.test(x.args))).toBe(false);
  });

  it('runs as a non-root user with state in the /data volume', () => {
    const users = finalStage.filter((x) => x.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!.args.trim();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(finalStage.some((x) => x.op === 'VOLUME' && x.args.includes('/data'))).toBe(true);
    // USER comes after the last RUN that needs root
    const lastRun = finalStage.map((x) => x.op).lastIndexOf('RUN');
    expect(finalStage.findIndex((x) => x.op === 'USER')).toBeGreaterThan(lastRun);
  });

  it('exposes P2P and API ports and health-checks /healthz with node', () => {
    const expose = finalStage
      .filter((x) => x.op === 'EXPOSE')
      .map((x) => x.args)
      .join(' ');
    expect(expose.split(/\s+/)).toEqual(expect.arrayContaining(['26656', '26657']));
    const hc = finalStage.find((x) => x.op === 'HEALTHCHECK');
    expect(hc?.args).toMatch(/CMD \["node"/);
    expect(hc?.args).toMatch(/\/healthz/);
  });

  it('uses the entrypoint script, which exists, is executable and is valid sh', () => {
    const ep = finalStage.find((x) => x.op === 'ENTRYPOINT');
    expect(ep?.args).toMatch(/consortia-node/);
    expect(finalStage.some((x) => x.op === 'COPY' && x.args.includes('node-image/entrypoint.sh'))).toBe(true);
    expect(statSync(entrypoint).mode & 0o111).not.toBe(0);
    expect(readFileSync(entrypoint, 'utf8').startsWith('#!/bin/sh')).toBe(true);
    expect(spawnSync('sh', ['-n', entrypoint]).status).toBe(0);
    expect(readFileSync(join(root, 'node-image/Dockerfile.dockerignore'), 'utf8')).toMatch(/!src/);
  });
});

describe('node-image/entrypoint.sh as a plain process', () => {
  const fakeMain = join(tmp, 'main.js');
  writeFileSync(
    fakeMain,
    `const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CONSORTIA_NODE_')));
     const g = env.CONSORTIA_NODE_GENESIS_FILE ? require('node:fs').readFileSync(env.CONSORTIA_NODE_GENESIS_FILE, 'utf8') : null;
     process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), execArgv: process.execArgv, env, genesis: g }));`,
  );
  const run = (args: string[], env: Record<string, string>) => {
    const r = spawnSync(entrypoint, args, {
      env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmp, CONSORTIA_NODE_MAIN: fakeMain, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as {
      argv: string[];
      execArgv: string[];
      env: Record<string, string>;
      genesis: string | null;
    };
  };

  it('starts node with the V8 flags every chain-node launcher uses', () => {
    expect(run(['--config', 'x.json'], {}).execArgv).toEqual([...CHAIN_NODE_V8_FLAGS]);
  });

  it('passes arguments through unchanged (config file and keygen modes)', () => {
    expect(run(['--config', '/etc/consortia/node.json'], {}).argv).toEqual(['--config', '/etc/consortia/node.json']);
    const kg = run(['keygen', '--key-file', '/data/node.key', '--chain-id', 'c'], { CONSORTIA_CONTAINER: '1' });
    expect(kg.argv[0]).toBe('keygen');
    expect(kg.env['CONSORTIA_NODE_API_LISTEN']).toBeUndefined();
  });

  it('in a container without a config file, defaults to /data and all-interface listeners', () => {
    const r = run([], {
      CONSORTIA_CONTAINER: '1',
      CONSORTIA_NODE_CHAIN_ID: 'c',
      CONSORTIA_NODE_API_LISTEN: '0.0.0.0:9000',
    });
    expect(r.env['CONSORTIA_NODE_DATA_DIR']).toBe('/data');
    expect(r.env['CONSORTIA_NODE_API_LISTEN']).toBe('0.0.0.0:9000');
    expect(r.env['CONSORTIA_NODE_P2P_LISTEN']).toBe('0.0.0.0:26656');
    // with a config file, env defaults must not override the file
    expect(run(['--config', 'x.json'], { CONSORTIA_CONTAINER: '1' }).env['CONSORTIA_NODE_DATA_DIR']).toBeUndefined();
  });

  it('writes CONSORTIA_NODE_GENESIS_JSON to a file for the node', () => {
    const r = run([], { CONSORTIA_NODE_GENESIS_JSON: '{"genesis":{}}' });
    expect(r.genesis).toBe('{"genesis":{}}');
    expect(r.env['CONSORTIA_NODE_GENESIS_JSON']).toBeUndefined();
  });

  it('fails clearly when main.js is missing', () => {
    const r = spawnSync(entrypoint, [], {
      env: { PATH: process.env['PATH'] ?? '', CONSORTIA_NODE_MAIN: join(tmp, 'nope.js') },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/entrypoint not found/);
  });
});
