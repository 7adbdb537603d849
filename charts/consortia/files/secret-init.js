// Run by the hook Job in templates/secret-generate.yaml as `node -e` (CommonJS, no dependencies):
// creates the Secret $SECRET_NAME in $NAMESPACE with a random bootstrap token and encryption key
// when it does not exist, adds a key only when it is missing, and never changes a value. Talks to
// the API server with the pod's ServiceAccount token ($SA_DIR overrides the mount, for tests).
const fs = require('node:fs');
const https = require('node:https');
const { randomBytes } = require('node:crypto');

const dir = process.env.SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
const namespace = process.env.NAMESPACE;
const name = process.env.SECRET_NAME;
const labels = JSON.parse(process.env.SECRET_LABELS || '{}');
const host = process.env.KUBERNETES_SERVICE_HOST;
const port = process.env.KUBERNETES_SERVICE_PORT || '443';
if (!namespace || !name || !host) {
  console.error('NAMESPACE, SECRET_NAME and KUBERNETES_SERVICE_HOST are required');
  process.exit(2);
}
const token = fs.readFileSync(dir + '/token', 'utf8').trim();
const ca = fs.readFileSync(dir + '/ca.crt');

// The values, generated only for keys the Secret lacks. The token is what the control plane
// accepts as CONSORTIA_BOOTSTRAP_TOKEN (16+ characters), the key 32 bytes in hex (parseEncryptionKey).
const generators = {
  'bootstrap-token': () => 'cst_' + randomBytes(30).toString('base64url'),
  'encryption-key': () => randomBytes(32).toString('hex'),
};
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

function call(method, path, body, contentType) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host,
        port,
        method,
        path,
        ca,
        timeout: 10000,
        headers: {
          authorization: 'Bearer ' + token,
          accept: 'application/json',
          ...(payload
            ? { 'content-type': contentType || 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(method + ' ' + path + ' timed out')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function ensure() {
  const path = '/api/v1/namespaces/' + encodeURIComponent(namespace) + '/secrets/' + encodeURIComponent(name);
  const cur = await call('GET', path);
  if (cur.status === 404) {
    const data = {};
    for (const [k, gen] of Object.entries(generators)) data[k] = b64(gen());
    const res = await call('POST', '/api/v1/namespaces/' + encodeURIComponent(namespace) + '/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels },
      type: 'Opaque',
      data,
    });
    if (res.status === 409) return 'retry'; // created meanwhile by another run: read it again
    if (res.status !== 201) throw new Error('creating the Secret: HTTP ' + res.status + ' ' + res.text);
    return 'created Secret ' + namespace + '/' + name + ' with ' + Object.keys(data).join(', ');
  }
  if (cur.status !== 200) throw new Error('reading the Secret: HTTP ' + cur.status + ' ' + cur.text);
  const secret = JSON.parse(cur.text);
  const missing = Object.keys(generators).filter((k) => !(secret.data && secret.data[k]));
  if (missing.length === 0) return 'Secret ' + namespace + '/' + name + ' already has every key; nothing changed';
  const data = {};
  for (const k of missing) data[k] = b64(generators[k]());
  // resourceVersion makes the patch conditional: two runs never both add a key.
  const res = await call(
    'PATCH',
    path,
    { metadata: { resourceVersion: secret.metadata.resourceVersion }, data },
    'application/merge-patch+json',
  );
  if (res.status === 409) return 'retry';
  if (res.status !== 200) throw new Error('adding ' + missing.join(', ') + ': HTTP ' + res.status + ' ' + res.text);
  return 'added ' + missing.join(', ') + ' to Secret ' + namespace + '/' + name;
}

(async () => {
  for (let attempt = 1; attempt <= 30; attempt++) {
    try {
      const outcome = await ensure();
      if (outcome !== 'retry') {
        console.log(outcome);
        return;
      }
    } catch (err) {
      // A refusal (RBAC, admission) will not change: give up at once. A network error may.
      if (/HTTP 4\d\d/.test(err.message)) throw err;
      console.error('attempt ' + attempt + ': ' + err.message);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error('gave up after 30 attempts');
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
