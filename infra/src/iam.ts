import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** Trust policy letting an AWS service assume a role. */
export function assumeRolePolicy(service: string, actions: string[] = ['sts:AssumeRole']): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: actions }],
  });
}

/** Policy for using a KMS key to encrypt/decrypt data and to let AWS services create grants on it. */
export function kmsUsePolicy(keyArn: pulumi.Input<string>, grants: boolean): pulumi.Output<string> {
  return pulumi.output(keyArn).apply((arn) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
          Resource: arn,
        },
        ...(grants
          ? [
              {
                Effect: 'Allow',
                Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
                Resource: arn,
                Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
              },
            ]
          : []),
      ],
    }),
  );
}

export function attachManaged(
  name: string,
  role: aws.iam.Role,
  policyArns: string[],
  opts?: pulumi.CustomResourceOptions,
): aws.iam.RolePolicyAttachment[] {
  return policyArns.map(
    (arn) =>
      new aws.iam.RolePolicyAttachment(`${name}-${arn.split('/').pop()}`, { role: role.name, policyArn: arn }, opts),
  );
}
