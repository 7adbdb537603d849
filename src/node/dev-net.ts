#!/usr/bin/env node
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DEFAULT_PARAMS,
  fromHex,
  generateKeyPair,
  genesisHash,
  sealedGenesisToJSON,
  signGenesisApproval,
  toHex,
  verifySealedGenesis,
  type Genesis,
  type SealedGenesis,
} from '../chain/index.js';
import { ConsortiaError, CommonCodes } from '../lib/errors.js';
import { CHAIN_NODE_V8_FLAGS } from '../lib/node-flags.js';

/**
 * `npm run dev:net`: a local N-validator network (default 4) on loopback in one command.
 * Creates (or, with an existing --dir, reuses) node keys via `main.js keygen`, demo member
 * admin keys, a sealed genesis approved by every member, one config per node; then spawns the
 * nodes, prints each API / metrics URL, and stops them all on Ctrl-C.
 */

export interface DevNetOptions {
  /** Where keys, genesis, configs, data and logs go; a temp dir (removed on stop unless keep) if absent. */
  dir?: string;
  chainId?: string;
  validators?: number;
  host?: string;
  /** Node i uses p2p basePort+2i and api basePort+2i+1; free ports are probed if absent. */
  basePort?: number;
  blockIntervalMs?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Path of dist/node/main.js (default: next to this file). */
  mainPath?: string;
  /** Keep a temp dir after stop. */
  keep?: boolean;
  startTimeoutMs?: number;
}

export interface DevNetNode {
  index: number;
  name: string;
  publicKey: string;
  api: string;
  metrics: string;
  p2p: string;
  configFile: string;
  dataDir: string;
  logFile: string;
  pid: number | undefined;
}

export interface DevNet {
  dir: string;
  chainId: string;
  genesisFile: string;
  genesisHash: string;
  membersFile: string;
  nodes: DevNetNode[];
  /** SIGTERM every node, SIGKILL after a grace period; idempotent. */
  stop(): Promise<void>;
}

interface Layout {
  chainId: string;
  genesisHash: string;
  nodes: {
    name: string;
    publicKey: string;
    p2p: string;
    api: string;
    configFile: string;
    dataDir: string;
    logFile: string;
  }[];
}

const LAYOUT_FILE = 'devnet.json';

async function freePort(host: string): Promise<number> {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

function runKeygen(
  mainPath: string,
  keyFile: string,
  chainId: string,
): Promise<{ publicKey: string; proofOfPossession: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [mainPath, 'keygen', '--key-file', keyFile, '--chain-id', chainId], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', rej);
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`keygen for ${keyFile} exited ${code}: ${err.trim()}`));
      try {
        res(JSON.parse(out.trim()) as { publicKey: string; proofOfPossession: string });
      } catch (e) {
        rej(new Error(`keygen printed no JSON: ${out}`));
      }
    });
  });
}

/** Writes keys, members, sealed genesis and configs; returns the layout (also saved as devnet.json). */
async function createLayout(
  dir: string,
  o: Required<Pick<DevNetOptions, 'chainId' | 'validators' | 'host' | 'logLevel' | 'mainPath'>> & DevNetOptions,
): Promise<Layout> {
  const n = o.validators;
  const names = Array.from({ length: n }, (_, i) => `validator-${i + 1}`);
  const ports: { p2p: number; api: number }[] = [];
  for (let i = 0; i < n; i++) {
    ports.push(
      o.basePort !== undefined
        ? { p2p: o.basePort + 2 * i, api: o.basePort + 2 * i + 1 }
        : { p2p: await freePort(o.host), api: await freePort(o.host) },
    );
  }
  const keys = await Promise.all(
    names.map((name) => {
      mkdirSync(join(dir, name, 'data'), { recursive: true });
      return runKeygen(o.mainPath, join(dir, name, 'data', 'node.key'), o.chainId);
    }),
  );

  // Demo members: one org per validator, each with one admin key (kept in members.json, 0600).
  const members = names.map((_, i) => ({
    memberId: `org${i + 1}`,
    name: `Demo Org ${i + 1}`,
    admin: generateKeyPair(),
  }));
  const genesis: Genesis = {
    chainId: o.chainId,
    genesisTime: Date.now(),
    params: { ...DEFAULT_PARAMS, ...(o.blockIntervalMs !== undefined ? { blockIntervalMs: o.blockIntervalMs } : {}) },
    members: members.map((m) => ({ memberId: m.memberId, name: m.name, adminKeys: [m.admin.publicKey] })),
    validators: keys.map((k, i) => ({
      memberId: members[i]!.memberId,
      publicKey: fromHex(k.publicKey, 32),
      power: 1,
      proofOfPossession: fromHex(k.proofOfPossession, 64),
    })),
    nodes: keys.map((k, i) => ({
      memberId: members[i]!.memberId,
      publicKey: fromHex(k.publicKey, 32),
      role: 'validator' as const,
    })),
    accounts: [],
  };
  const sealed: SealedGenesis = {
    genesis,
    approvals: members.map((m) => signGenesisApproval(genesis, m.memberId, m.admin.secretKey, m.admin.publicKey)),
  };
  verifySealedGenesis(sealed);
  const genesisFile = join(dir, 'genesis.json');
  writeFileSync(genesisFile, JSON.stringify(sealedGenesisToJSON(sealed), null, 2));
  writeFileSync(
    join(dir, 'members.json'),
    JSON.stringify(
      members.map((m) => ({
        memberId: m.memberId,
        name: m.name,
        adminPublicKey: toHex(m.admin.publicKey),
        adminSecretKey: toHex(m.admin.secretKey),
      })),
      null,
      2,
    ),
    { mode: 0o600 },
  );

  const layout: Layout = { chainId: o.chainId, genesisHash: toHex(genesisHash(genesis)), nodes: [] };
  names.forEach((name, i) => {
    const nodeDir = join(dir, name);
    const p2p = `${o.host}:${ports[i]!.p2p}`;
    const api = `${o.host}:${ports[i]!.api}`;
    const config = {
      role: 'validator',
      chainId: o.chainId,
      dataDir: join(nodeDir, 'data'),
      keyFile: join(nodeDir, 'data', 'node.key'),
      genesisFile,
      p2pListen: p2p,
      p2pAdvertise: p2p,
      apiListen: api,
      // Plain HTTP, asked for explicitly: a development network on loopback (a node refuses it elsewhere).
      tls: { mode: 'off' },
      peers: names.flatMap((_, j) =>
        j === i ? [] : [{ publicKey: keys[j]!.publicKey, address: `${o.host}:${ports[j]!.p2p}` }],
      ),
      logLevel: o.logLevel,
    };
    const configFile = join(nodeDir, 'node.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    layout.nodes.push({
      name,
      publicKey: keys[i]!.publicKey,
      p2p,
      api,
      configFile,
      dataDir: config.dataDir,
      logFile: join(nodeDir, 'node.log'),
    });
  });
  writeFileSync(join(dir, LAYOUT_FILE), JSON.stringify(layout, null, 2));
  return layout;
}

function defaultMainPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'main.js');
}

/** Starts (creating if needed) the dev network and resolves once every node printed its 'listening' line. */
export async function startDevNet(opts: DevNetOptions = {}): Promise<DevNet> {
  const o = {
    chainId: 'devnet',
    validators: 4,
    host: '127.0.0.1',
    logLevel: 'info' as const,
    mainPath: defaultMainPath(),
    startTimeoutMs: 60_000,
    ...opts,
  };
  if (!Number.isInteger(o.validators) || o.validators < 1 || o.validators > 32) {
    throw new ConsortiaError(CommonCodes.INVALID_ARGUMENT, 'validators must be 1..32');
  }
  if (!existsSync(o.mainPath)) {
    throw new ConsortiaError(CommonCodes.INVALID_ARGUMENT, `${o.mainPath} not found: run npm run build first`);
  }
  const tempDir = o.dir === undefined;
  const dir = o.dir !== undefined ? resolve(o.dir) : mkdtempSync(join(tmpdir(), 'consortia-devnet-'));
  mkdirSync(dir, { recursive: true });
  const layoutPath = join(dir, LAYOUT_FILE);
  const layout: Layout = existsSync(layoutPath)
    ? (JSON.parse(readFileSync(layoutPath, 'utf8')) as Layout)
    : await createLayout(dir, o);

  const children: ChildProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    if (tempDir && !o.keep) rmSync(dir, { recursive: true, force: true });
  };

  const nodes: DevNetNode[] = [];
  try {
    await Promise.all(
      layout.nodes.map(
        (n, index) =>
          new Promise<void>((res, rej) => {
            const logFd = openSync(n.logFile, 'a');
            const child = spawn(process.execPath, [...CHAIN_NODE_V8_FLAGS, o.mainPath, '--config', n.configFile], {
              stdio: ['ignore', 'pipe', logFd],
            });
            closeSync(logFd);
            children.push(child);
            const timer = setTimeout(
              () => rej(new Error(`${n.name} did not start within ${o.startTimeoutMs} ms; see ${n.logFile}`)),
              o.startTimeoutMs,
            );
            child.once('exit', (code, signal) => {
              clearTimeout(timer);
              if (!stopped) {
                process.stderr.write(`${n.name} exited (code ${code}, signal ${signal}); log: ${n.logFile}\n`);
                rej(new Error(`${n.name} exited during start (code ${code}); see ${n.logFile}`));
              }
            });
            createInterface({ input: child.stdout! }).on('line', (line) => {
              let ev: { event?: string; api?: string; p2p?: string; publicKey?: string };
              try {
                ev = JSON.parse(line) as typeof ev;
              } catch {
                return;
              }
              if (ev.event !== 'listening') return;
              clearTimeout(timer);
              const api = ev.api ?? `http://${n.api}`;
              nodes[index] = {
                index,
                name: n.name,
                publicKey: ev.publicKey ?? n.publicKey,
                api,
                metrics: `${api}/metrics`,
                p2p: ev.p2p ?? n.p2p,
                configFile: n.configFile,
                dataDir: n.dataDir,
                logFile: n.logFile,
                pid: child.pid,
              };
              res();
            });
          }),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    chainId: layout.chainId,
    genesisFile: join(dir, 'genesis.json'),
    genesisHash: layout.genesisHash,
    membersFile: join(dir, 'members.json'),
    nodes,
    stop,
  };
}

function parseArgs(argv: readonly string[]): DevNetOptions {
  const o: DevNetOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new ConsortiaError(CommonCodes.INVALID_ARGUMENT, `${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--dir':
        o.dir = val();
        break;
      case '--chain-id':
        o.chainId = val();
        break;
      case '--validators':
        o.validators = Number(val());
        break;
      case '--host':
        o.host = val();
        break;
      case '--base-port':
        o.basePort = Number(val());
        break;
      case '--block-interval-ms':
        o.blockIntervalMs = Number(val());
        break;
      case '--log-level':
        o.logLevel = val() as DevNetOptions['logLevel'];
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          'usage: npm run dev:net -- [--dir D] [--chain-id C] [--validators N] [--host 127.0.0.1] [--base-port P] [--block-interval-ms MS] [--log-level L] [--keep]\n',
        );
        return process.exit(0);
      default:
        throw new ConsortiaError(CommonCodes.INVALID_ARGUMENT, `unknown argument ${a}`);
    }
  }
  return o;
}

async function cli(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  process.stderr.write(`starting ${opts.validators ?? 4}-validator dev network...\n`);
  const net = await startDevNet(opts);
  const lines = [
    `chain ${net.chainId}  genesis ${net.genesisHash}`,
    `dir ${net.dir}${opts.dir === undefined && !opts.keep ? ' (removed on exit; --keep to keep)' : ''}`,
    `members (demo admin keys) ${net.membersFile}`,
    ...net.nodes.map(
      (n) =>
        `${n.name}  api ${n.api}  metrics ${n.metrics}  p2p ${n.p2p}  key ${n.publicKey.slice(0, 16)}…  log ${n.logFile}`,
    ),
    'Ctrl-C stops all nodes.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({
      event: 'devnet-ready',
      chainId: net.chainId,
      dir: net.dir,
      nodes: net.nodes.map(({ name, api, metrics, p2p, publicKey }) => ({ name, api, metrics, p2p, publicKey })),
    }) + '\n',
  );
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('stopping dev network...\n');
    void net.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli().catch((err: unknown) => {
    process.stderr.write(
      JSON.stringify({
        level: 'error',
        msg: 'dev-net failed',
        error: err instanceof Error ? err.message : String(err),
      }) + '\n',
    );
    process.exit(1);
  });
}
