import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** An HCL block as hcl2json gives it: attributes as JSON values, expressions as `${...}` strings. */
export type Block = Record<string, unknown>;

/** The Terraform configuration of a folder, every file merged. */
export interface Infra {
  /** `resource[type][name]`: the block. */
  readonly resource: Record<string, Record<string, Block>>;
  readonly data: Record<string, Record<string, Block>>;
  readonly locals: Record<string, unknown>;
  readonly variable: Record<string, Block>;
  /** Every file's text, for checks no parse tree answers (no public members anywhere). */
  readonly text: string;
}

function mergeNamed(target: Record<string, Record<string, Block>>, source: unknown, file: string): void {
  for (const [type, byName] of Object.entries((source ?? {}) as Record<string, Record<string, Block[]>>)) {
    target[type] ??= {};
    for (const [name, blocks] of Object.entries(byName)) {
      if (target[type]![name]) throw new Error(`${type}.${name} is declared twice (again in ${file})`);
      target[type]![name] = blocks[0]!;
    }
  }
}

/** Parse every `*.tf` of a folder with HashiCorp's HCL parser (compiled to WebAssembly). */
export async function loadInfra(dir: string): Promise<Infra> {
  const infra = { resource: {}, data: {}, locals: {}, variable: {}, text: '' } as {
    resource: Record<string, Record<string, Block>>;
    data: Record<string, Record<string, Block>>;
    locals: Record<string, unknown>;
    variable: Record<string, Block>;
    text: string;
  };
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.tf'))
    .sort()) {
    const text = readFileSync(join(dir, file), 'utf8');
    infra.text += text;
    const parsed = (await parse(file, text)) as Record<string, unknown>;
    mergeNamed(infra.resource, parsed.resource, file);
    mergeNamed(infra.data, parsed.data, file);
    for (const block of (parsed.locals ?? []) as Record<string, unknown>[]) Object.assign(infra.locals, block);
    for (const [name, blocks] of Object.entries((parsed.variable ?? {}) as Record<string, Block[]>))
      infra.variable[name] = blocks[0]!;
  }
  return infra;
}

/** The resources of one type, by name (empty when there are none). */
export function resources(infra: Infra, type: string): Record<string, Block> {
  return infra.resource[type] ?? {};
}

/** A nested block (hcl2json gives nested blocks as arrays), or undefined. */
export function nested(block: Block | undefined, name: string): Block | undefined {
  const value = block?.[name];
  return Array.isArray(value) ? (value[0] as Block) : (value as Block | undefined);
}

/** Every nested block of that name. */
export function nestedAll(block: Block | undefined, name: string): Block[] {
  const value = block?.[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as Block[]) : [value as Block];
}

/** The quoted strings of a literal list expression such as `${toset(["a", "b"])}`. */
export function literalStrings(expression: unknown): string[] {
  return [...String(expression).matchAll(/"([^"$]*)"/g)].map((match) => match[1]!);
}
