import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPseudonymiser } from '@mlops/synthetic';

describe('pseudonymisation', () => {
  it.each([
    ['a short key', 'key-of-sixteen-chars', 'ana.silva1@example.com'],
    ['a key longer than a block', 'k'.repeat(100), '+12015550123'],
    ['a non-ASCII value', 'another-key-0123456789', 'zoë@exämple.com'],
  ])('equals HMAC-SHA256 of the normalised value with %s', (_name, key, value) => {
    expect(createPseudonymiser(key).hash(value)).toBe(
      createHmac('sha256', key).update(value.trim().toLowerCase()).digest('hex'),
    );
  });

  it('normalises case and surrounding spaces, so one address has one pseudonym', () => {
    const pseudonymiser = createPseudonymiser('key-of-sixteen-chars');
    expect(pseudonymiser.hash('  Ana.Silva@Example.COM ')).toBe(pseudonymiser.hash('ana.silva@example.com'));
  });

  it('gives different pseudonyms under different keys', () => {
    expect(createPseudonymiser('key-of-sixteen-chars').hash('x@example.com')).not.toBe(
      createPseudonymiser('key-of-sixteen-charz').hash('x@example.com'),
    );
  });

  it('refuses an empty key', () => {
    expect(() => createPseudonymiser('')).toThrow(RangeError);
  });
});
