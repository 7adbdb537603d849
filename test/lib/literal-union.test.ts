import { Type, type Static } from 'typebox';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/lib/config.js';
import { CommonCodes } from '../../src/lib/errors.js';
import { literalUnion } from '../../src/lib/literal-union.js';

const COLOURS = ['red', 'green'] as const;

describe('literalUnion', () => {
  it('is the same schema as a union of literals, options included', () => {
    const expected = Type.Union([Type.Literal('red'), Type.Literal('green')], { default: 'red' });
    expect(JSON.parse(JSON.stringify(literalUnion(COLOURS, { default: 'red' })))).toEqual(
      JSON.parse(JSON.stringify(expected)),
    );
  });

  it('types its values as the union of the strings (npm run typecheck checks the lines below)', () => {
    const Schema = Type.Object({ colour: literalUnion(COLOURS) });
    const ok: Static<typeof Schema> = { colour: 'green' };
    // @ts-expect-error 'blue' is not one of COLOURS
    const bad: Static<typeof Schema> = { colour: 'blue' };
    expect(validateConfig(Schema, ok)).toEqual({ colour: 'green' });
    expect(() => validateConfig(Schema, bad)).toThrow(expect.objectContaining({ code: CommonCodes.INVALID_CONFIG }));
  });
});
