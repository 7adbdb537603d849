import { Type, type TLiteral, type TSchemaOptions, type TUnion } from 'typebox';

type LiteralUnion<T extends readonly string[]> = TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;

/**
 * The TypeBox schema "one of these strings" built from a constant list, e.g.
 * `literalUnion(TLS_MODES, { default: 'on' })`. Same schema as
 * `Type.Union(xs.map((x) => Type.Literal(x)))`, whose static type is `never`: TypeBox derives
 * the static type of a union from a tuple, and `map` returns an array.
 */
export function literalUnion<const T extends readonly [string, ...string[]]>(
  values: T,
  options?: TSchemaOptions,
): LiteralUnion<T> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as LiteralUnion<T>;
}
