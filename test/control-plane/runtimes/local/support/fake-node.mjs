// A stand-in chain node for runtime tests: a real process that reads the config file the
// runtime wrote and serves the node's identity/health endpoints (docs/protocol.md#node-http-api) on apiListen.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const cfgPath = process.argv[process.argv.indexOf('--config') + 1];
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
mkdirSync(dirname(cfg.keyFile), { recursive: true });
if (!existsSync(cfg.keyFile)) writeFileSync(cfg.keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
const key = readFileSync(cfg.keyFile, 'utf8').trim();
const hasGenesis = typeof cfg.genesisFile === 'string' && existsSync(cfg.genesisFile);
const [host, port] = [
  cfg.apiListen.slice(0, cfg.apiListen.lastIndexOf(':')),
  Number(cfg.apiListen.slice(cfg.apiListen.lastIndexOf(':') + 1)),
];

const server = createServer((req, res) => {
  const send = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/v1/identity')
    return send(200, { publicKey: key, proofOfPossession: 'ab'.repeat(64), role: cfg.role, chainId: cfg.chainId });
  if (req.url === '/healthz') return send(200, { ok: true });
  if (req.url === '/readyz') return send(hasGenesis ? 200 : 503, { ready: hasGenesis });
  if (req.url === '/v1/status')
    return send(200, { chainId: cfg.chainId, role: cfg.role, height: hasGenesis ? 7 : 0, peers: cfg.peers });
  send(404, { error: { code: 'NOT_FOUND', message: req.url } });
});
server.listen(port, host, () => console.log(`fake node ${cfg.role} listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
