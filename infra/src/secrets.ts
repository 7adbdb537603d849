import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { InfraConfig } from './config.js';

export interface PlatformSecrets {
  encryptionKey: aws.secretsmanager.Secret;
  bootstrapToken: aws.secretsmanager.Secret;
  /** The stored values (Pulumi secrets), for the Kubernetes Secret the control plane reads. */
  encryptionKeyValue: pulumi.Output<string>;
  bootstrapTokenValue: pulumi.Output<string>;
}

/**
 * The control plane's credentials, generated once (random resources keep their value across
 * `pulumi up`) and stored in Secrets Manager under the secrets key, which only the administrators
 * may decrypt: the at-rest encryption key (32 bytes, hex: the control plane's
 * CONSORTIA_ENCRYPTION_KEY) and the first platform-admin token. They reach the cluster as one
 * Kubernetes Secret (envelope-encrypted with the eks key) that the chart uses as auth.existingSecret.
 */
export function createPlatformSecrets(
  cfg: InfraConfig,
  key: aws.kms.Key,
  opts?: pulumi.CustomResourceOptions,
): PlatformSecrets {
  const name = cfg.clusterName;
  const keyBytes = new random.RandomBytes(`${name}-encryption-key`, { length: 32 }, opts);
  const tokenChars = new random.RandomPassword(`${name}-bootstrap-token`, { length: 40, special: false }, opts);
  const secret = (id: string, description: string, value: pulumi.Input<string>) => {
    const s = new aws.secretsmanager.Secret(
      `${name}-${id}`,
      {
        name: `consortia/${cfg.environment}/${id}`,
        description,
        kmsKeyId: key.arn,
        recoveryWindowInDays: 30,
        tags: { ...cfg.tags, Name: `consortia-${id}` },
      },
      opts,
    );
    const v = new aws.secretsmanager.SecretVersion(`${name}-${id}`, { secretId: s.id, secretString: value }, opts);
    return { s, v };
  };
  const enc = secret(
    'encryption-key',
    'Consortia control plane: AES-256 key for data at rest (CONSORTIA_ENCRYPTION_KEY, hex)',
    keyBytes.hex,
  );
  const tok = secret(
    'bootstrap-token',
    'Consortia control plane: first platform-admin API token',
    pulumi.interpolate`cst_${tokenChars.result}`,
  );
  return {
    encryptionKey: enc.s,
    bootstrapToken: tok.s,
    encryptionKeyValue: pulumi.secret(enc.v.secretString.apply((v) => v ?? '')),
    bootstrapTokenValue: pulumi.secret(tok.v.secretString.apply((v) => v ?? '')),
  };
}
