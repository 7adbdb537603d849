import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { subnetCidr, type InfraConfig } from './config.js';

export interface Network {
  vpc: aws.ec2.Vpc;
  publicSubnets: aws.ec2.Subnet[];
  privateSubnets: aws.ec2.Subnet[];
}

/**
 * VPC across the configured zones: a public subnet per zone (load balancers, NAT) and a
 * private subnet per zone (EKS nodes). One NAT gateway by default (cost), one per zone when
 * natGatewayPerAz is set (a zone outage then leaves the others' egress intact).
 * Subnets are /20s: public take indexes 0..n-1, private take 8..8+n-1.
 */
export function createNetwork(cfg: InfraConfig, opts?: pulumi.ComponentResourceOptions): Network {
  const name = cfg.clusterName;
  const clusterTag = { [`kubernetes.io/cluster/${name}`]: 'shared' };
  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: cfg.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { ...cfg.tags, Name: `${name}-vpc` },
    },
    opts,
  );
  const igw = new aws.ec2.InternetGateway(
    `${name}-igw`,
    { vpcId: vpc.id, tags: { ...cfg.tags, Name: `${name}-igw` } },
    opts,
  );
  const publicRt = new aws.ec2.RouteTable(
    `${name}-public`,
    {
      vpcId: vpc.id,
      routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
      tags: { ...cfg.tags, Name: `${name}-public` },
    },
    opts,
  );

  const publicSubnets: aws.ec2.Subnet[] = [];
  const privateSubnets: aws.ec2.Subnet[] = [];
  const nats: aws.ec2.NatGateway[] = [];
  cfg.availabilityZones.forEach((az, i) => {
    const pub = new aws.ec2.Subnet(
      `${name}-public-${az}`,
      {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: subnetCidr(cfg.vpcCidr, 20, i),
        mapPublicIpOnLaunch: false,
        tags: { ...cfg.tags, ...clusterTag, Name: `${name}-public-${az}`, 'kubernetes.io/role/elb': '1' },
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(`${name}-public-${az}`, { subnetId: pub.id, routeTableId: publicRt.id }, opts);
    publicSubnets.push(pub);
    if (i === 0 || cfg.natGatewayPerAz) {
      const eip = new aws.ec2.Eip(
        `${name}-nat-${az}`,
        { domain: 'vpc', tags: { ...cfg.tags, Name: `${name}-nat-${az}` } },
        opts,
      );
      nats.push(
        new aws.ec2.NatGateway(
          `${name}-nat-${az}`,
          {
            allocationId: eip.id,
            subnetId: pub.id,
            tags: { ...cfg.tags, Name: `${name}-nat-${az}` },
          },
          { ...opts, dependsOn: [igw] },
        ),
      );
    }
  });
  cfg.availabilityZones.forEach((az, i) => {
    const nat = nats[cfg.natGatewayPerAz ? i : 0]!;
    const rt = new aws.ec2.RouteTable(
      `${name}-private-${az}`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
        tags: { ...cfg.tags, Name: `${name}-private-${az}` },
      },
      opts,
    );
    const priv = new aws.ec2.Subnet(
      `${name}-private-${az}`,
      {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: subnetCidr(cfg.vpcCidr, 20, 8 + i),
        tags: { ...cfg.tags, ...clusterTag, Name: `${name}-private-${az}`, 'kubernetes.io/role/internal-elb': '1' },
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(`${name}-private-${az}`, { subnetId: priv.id, routeTableId: rt.id }, opts);
    privateSubnets.push(priv);
  });
  return { vpc, publicSubnets, privateSubnets };
}
