/**
 * A SoftHSM2 token as a PKCS#11 key provider of the real cluster: the module (Debian's, copied from
 * this host), its configuration and an initialised token on a local PersistentVolume, which a node
 * pod mounts through a PVC that the runtime creates in its consortium's namespace (a restricted
 * namespace admits PVCs, not hostPath). The provider entry is what a platform admin puts in the control plane's keyProviders.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';

export const SOFTHSM_HOST_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** Where the volume is mounted in the node pod. */
const POD_DIR = '/opt/softhsm';
const PVC_NAME = 'softhsm';
const STORAGE_CLASS = 'consortia-softhsm';

export interface SoftHsmVolume {
  /** The keyProviders entry (chart value controlPlane.config.keyProviders). */
  provider: Record<string, unknown>;
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid);
}

export async function createSoftHsmVolume(
  core: CoreV1Api,
  o: { name: string; pvDir: string; nodeName: string; tokenLabel: string; pinEnv: string; pin: string; uid: number },
): Promise<SoftHsmVolume> {
  const dir = join(o.pvDir, 'softhsm');
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  copyFileSync(SOFTHSM_HOST_MODULE, join(dir, 'libsofthsm2.so'));
  const conf = (tokens: string) => `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`;
  writeFileSync(join(dir, 'softhsm2.conf'), conf(`${POD_DIR}/tokens`));
  writeFileSync(join(dir, 'host-softhsm2.conf'), conf(join(dir, 'tokens')));
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', o.tokenLabel, '--pin', o.pin, '--so-pin', `${o.pin}-so`],
    { env: { ...process.env, SOFTHSM2_CONF: join(dir, 'host-softhsm2.conf') }, stdio: 'pipe' },
  );
  chownTree(dir, o.uid);
  const pvName = `${STORAGE_CLASS}-pv`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName },
      spec: {
        capacity: { storage: '64Mi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: STORAGE_CLASS,
        volumeMode: 'Filesystem',
        local: { path: dir },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [o.nodeName] }] },
            ],
          },
        },
      },
    },
  });
  return {
    provider: {
      name: o.name,
      backend: 'pkcs11',
      module: `${POD_DIR}/libsofthsm2.so`,
      tokenLabel: o.tokenLabel,
      pinEnv: o.pinEnv,
      kubernetes: {
        // The runtime creates the claim in the consortium namespace (only it may write there).
        volumeClaims: [
          {
            name: PVC_NAME,
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: STORAGE_CLASS,
              volumeName: pvName,
              resources: { requests: { storage: '64Mi' } },
            },
          },
        ],
        volumes: [{ name: 'softhsm', persistentVolumeClaim: { claimName: PVC_NAME } }],
        volumeMounts: [{ name: 'softhsm', mountPath: POD_DIR }],
        env: [{ name: 'SOFTHSM2_CONF', value: `${POD_DIR}/softhsm2.conf` }],
      },
    },
  };
}
