import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { TSchema, Static } from 'typebox';
import { Value } from 'typebox/value';
import { ConsortiaError, CommonCodes } from './errors.js';

/**
 * Configuration is read once at start-up: a file (JSON or YAML) overlaid by environment
 * variables, then validated against a TypeBox schema. Nothing reads process.env elsewhere;
 * the validated object is passed down.
 */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('top level must be a mapping');
    }
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `config file ${path} is not valid: ${(err as Error).message}`);
  }
}

/**
 * Maps environment variables onto config keys: `mapping` is { configKey: ENV_NAME }.
 * Values are coerced by the schema (numbers, booleans) in validateConfig.
 */
export function envOverlay(env: NodeJS.ProcessEnv, mapping: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(mapping)) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

/** Validates (with defaults and type coercion) and returns the typed config, or throws INVALID_CONFIG naming each bad field. */
export function validateConfig<T extends TSchema>(schema: T, raw: unknown): Static<T> {
  const withDefaults = Value.Default(schema, structuredClone(raw));
  const converted = Value.Convert(schema, withDefaults);
  if (!Value.Check(schema, converted)) {
    const problems = [...Value.Errors(schema, converted)].slice(0, 10).map((e) => {
      const where = (e as { instancePath?: string; path?: string }).instancePath ?? (e as { path?: string }).path ?? '';
      return `${where || '/'}: ${e.message}`;
    });
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `invalid configuration: ${problems.join('; ')}`, { problems });
  }
  return converted as Static<T>;
}
