import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TsocatError } from '../../src/errors.js';
import { parseAddress } from '../../src/grammar/parse.js';

const single = (text: string) => {
  const spec = parseAddress(text);
  if (spec.kind !== 'single') throw new Error('expected a single address');
  return spec;
};

describe('address grammar', () => {
  it('splits TYPE:params,options', () => {
    expect(single('TCP:localhost:80,nodelay,retry=3')).toMatchObject({
      type: 'TCP',
      params: ['localhost', '80'],
      options: [{ name: 'nodelay' }, { name: 'retry', value: '3' }],
    });
  });

  it('keeps colons inside option values', () => {
    expect(single('TCP-LISTEN:80,bind=127.0.0.1:5000').options).toEqual([{ name: 'bind', value: '127.0.0.1:5000' }]);
  });

  it('drops outer single quotes and protects : , inside them', () => {
    expect(single("SYSTEM:'echo a,b:c'").params).toEqual(['echo a,b:c']);
  });

  it('drops outer double quotes, still honouring escapes inside', () => {
    expect(single('SYSTEM:"echo \\"x\\""').params).toEqual(['echo "x"']);
  });

  it('keeps brackets and what they protect', () => {
    expect(single('EXEC:sh -c (a:b,c)').params).toEqual(['sh -c (a:b,c)']);
    expect(single('TCP:[::1]:80').params).toEqual(['[::1]', '80']);
    expect(single('X:{a,b}').params).toEqual(['{a,b}']);
  });

  it('resolves backslash escapes, C style', () => {
    expect(single('SYSTEM:a\\:b\\,c').params).toEqual(['a:b,c']);
    expect(single('TEXT:x\\ny').params).toEqual(['x\ny']);
  });

  it('parses read!!write dual addresses', () => {
    const spec = parseAddress('OPEN:in,rdonly!!CREATE:out');
    expect(spec.kind).toBe('dual');
    if (spec.kind === 'dual') {
      expect(spec.read).toMatchObject({ type: 'OPEN', params: ['in'], options: [{ name: 'rdonly' }] });
      expect(spec.write).toMatchObject({ type: 'CREATE', params: ['out'] });
    }
  });

  it('keeps !! inside quotes', () => {
    expect(single("SYSTEM:'echo hi!!'").params).toEqual(['echo hi!!']);
  });

  it('reads - and bare paths as plain keywords (the registry interprets them)', () => {
    expect(single('-')).toMatchObject({ type: '-', params: [] });
    expect(single('/tmp/x,append')).toMatchObject({ type: '/tmp/x', options: [{ name: 'append' }] });
  });

  it('refuses an unbalanced quote', () => {
    expect(() => parseAddress("SYSTEM:'echo")).toThrow(TsocatError);
    expect(() => parseAddress('SYSTEM:"echo')).toThrow(/unexpected end of address/);
  });

  it('refuses an empty address', () => {
    expect(() => parseAddress('')).toThrow(TsocatError);
  });

  it('never throws anything but TsocatError (property)', () => {
    const alphabet = fc.constantFrom(...'abcTCP:,=!\'"\\()[]{} -/0123'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')), (text) => {
        try {
          parseAddress(text);
        } catch (err) {
          expect(err).toBeInstanceOf(TsocatError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips plain tokens (property)', () => {
    const word = fc.stringMatching(/^[a-z0-9.]{1,8}$/);
    fc.assert(
      fc.property(word, fc.array(word, { maxLength: 4 }), fc.array(fc.tuple(word, fc.option(word)), { maxLength: 4 }), (type, params, opts) => {
        const text = [type, ...params].join(':') + opts.map(([n, v]) => `,${n}${v === null ? '' : `=${v}`}`).join('');
        const spec = single(text);
        expect(spec.type).toBe(type);
        expect(spec.params).toEqual(params);
        expect(spec.options).toEqual(opts.map(([name, value]) => (value === null ? { name } : { name, value })));
      }),
    );
  });
});
