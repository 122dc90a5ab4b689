/**
 * A small JSON parser that remembers the line each value starts on, keyed by JSON path, so scenario errors can
 * say "line 42, events[3].device". Strict JSON (RFC 8259): the same language JSON.parse accepts.
 */
export type JsonPath = Array<string | number>;

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export function formatPath(path: JsonPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(root)' : out;
}

export function parseJsonWithLines(text: string): { value: unknown; lines: Map<string, number> } {
  const lines = new Map<string, number>();
  let pos = 0;
  let line = 1;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at line ${line}`, line);
  };
  const skip = (): void => {
    while (pos < text.length) {
      const c = text[pos];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') return;
      pos++;
    }
  };
  const parseString = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === '\\') pos++;
      if (text[pos] === '\n') fail('unterminated string');
      pos++;
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return fail('invalid string escape');
    }
  };
  const parseValue = (path: JsonPath): unknown => {
    skip();
    lines.set(formatPath(path), line);
    const c = text[pos];
    if (c === '{') return parseObject(path);
    if (c === '[') return parseArray(path);
    if (c === '"') return parseString();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 64));
    if (!m) return fail(c === undefined ? 'unexpected end of input' : `unexpected character '${c}'`);
    pos += m[0].length;
    return JSON.parse(m[0]) as unknown;
  };
  const parseObject = (path: JsonPath): Record<string, unknown> => {
    const obj: Record<string, unknown> = {};
    pos++;
    skip();
    if (text[pos] === '}') return pos++, obj;
    for (;;) {
      skip();
      if (text[pos] !== '"') fail('expected a property name in double quotes');
      const key = parseString();
      skip();
      if (text[pos] !== ':') fail(`expected ':' after "${key}"`);
      pos++;
      Object.defineProperty(obj, key, { value: parseValue([...path, key]), enumerable: true, writable: true, configurable: true });
      skip();
      if (text[pos] === ',') { pos++; continue; }
      if (text[pos] === '}') { pos++; return obj; }
      fail("expected ',' or '}'");
    }
  };
  const parseArray = (path: JsonPath): unknown[] => {
    const arr: unknown[] = [];
    pos++;
    skip();
    if (text[pos] === ']') return pos++, arr;
    for (;;) {
      arr.push(parseValue([...path, arr.length]));
      skip();
      if (text[pos] === ',') { pos++; continue; }
      if (text[pos] === ']') { pos++; return arr; }
      fail("expected ',' or ']'");
    }
  };
  const value = parseValue([]);
  skip();
  if (pos < text.length) fail('unexpected text after the JSON value');
  return { value, lines };
}

/** The line of the deepest known ancestor of `path` (a missing property is reported at its parent object). */
export function lineOf(lines: Map<string, number>, path: JsonPath): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const found = lines.get(formatPath(path.slice(0, n)));
    if (found !== undefined) return found;
  }
  return undefined;
}
