import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

// No Docker engine here: these checks keep the root Dockerfile consistent with the Helm chart
// (command, port, UID) and its build context free of local state and secrets.
const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
const ignore = readFileSync(`${root}.dockerignore`, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const values = parseYaml(readFileSync(`${root}charts/consortia/values.yaml`, 'utf8'));
const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

describe('control-plane Dockerfile', () => {
  it('is multi-stage and ships only production dependencies and dist/', () => {
    expect(instructions.filter((l) => l.startsWith('FROM ')).length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build [^\n]*\/app\/dist \.\/dist/);
  });

  it('runs as the non-root user the chart expects, with the chart command and port', () => {
    const user = instructions.filter((l) => l.startsWith('USER ')).pop();
    expect(user).toBe(`USER ${values.podSecurity.runAsUser}:${values.podSecurity.runAsGroup}`);
    const cmd = instructions.filter((l) => l.startsWith('CMD ')).pop()!;
    expect(JSON.parse(cmd.slice(4))).toEqual(['node', 'dist/control-plane/main.js']);
    expect(instructions).toContain(`EXPOSE ${values.controlPlane.port}`);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('keeps local state and secrets out of the build context but not the sources', () => {
    for (const p of ['.git', 'node_modules', '.cache', 'dist', '**/*.pem', '**/*.key', '**/.env'])
      expect(ignore).toContain(p);
    for (const p of ['src', 'package.json', 'package-lock.json', 'tsconfig.json']) expect(ignore).not.toContain(p);
  });
});
