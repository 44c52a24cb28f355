import { getStaticTOMLValue, parseTOML } from "toml-eslint-parser";
import type { AST } from "toml-eslint-parser";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";

export type Path = readonly (string | number)[];

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A parsed description file that can say where each key is written. */
export interface SourceDocument {
  readonly value: unknown;
  /** Where the key (or element) at `path` is written; for a missing key, where its nearest parent is. */
  locate(path: Path): Position;
}

export class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly position: Position,
  ) {
    super(message);
  }
}

const keyOf = (path: Path) => JSON.stringify(path);

function nearest(positions: Map<string, Position>, path: Path): Position {
  for (let n = path.length; n >= 0; n--) {
    const p = positions.get(keyOf(path.slice(0, n)));
    if (p) return p;
  }
  return { line: 1, column: 1 };
}

/** TOML with positions, through toml-eslint-parser's AST (smol-toml gives values only). */
export function parseTomlSource(text: string): SourceDocument {
  let ast: AST.TOMLProgram;
  try {
    ast = parseTOML(text);
  } catch (err) {
    const e = err as { lineNumber?: number; column?: number; message: string };
    throw new SyntaxProblem(e.message.replace(/\s*\(\d+:\d+\)$/, ""), { line: e.lineNumber ?? 1, column: (e.column ?? 0) + 1 });
  }
  const positions = new Map<string, Position>();
  const at = (node: { loc: AST.SourceLocation }): Position => ({ line: node.loc.start.line, column: node.loc.start.column + 1 });
  const visitValue = (node: AST.TOMLContentNode, path: Path) => {
    if (node.type === "TOMLInlineTable") for (const kv of node.body) visitKeyValue(kv, path);
    else if (node.type === "TOMLArray")
      node.elements.forEach((el, i) => {
        positions.set(keyOf([...path, i]), at(el));
        visitValue(el, [...path, i]);
      });
  };
  const visitKeyValue = (kv: AST.TOMLKeyValue, prefix: Path) => {
    const names = kv.key.keys.map((k) => (k.type === "TOMLBare" ? k.name : k.value));
    for (let i = 1; i <= names.length; i++)
      if (!positions.has(keyOf([...prefix, ...names.slice(0, i)]))) positions.set(keyOf([...prefix, ...names.slice(0, i)]), at(kv));
    visitValue(kv.value, [...prefix, ...names]);
  };
  for (const top of ast.body) {
    for (const item of top.body) {
      if (item.type === "TOMLKeyValue") visitKeyValue(item, []);
      else {
        const prefix = item.resolvedKey;
        for (let i = 1; i <= prefix.length; i++) if (!positions.has(keyOf(prefix.slice(0, i)))) positions.set(keyOf(prefix.slice(0, i)), at(item));
        for (const kv of item.body) visitKeyValue(kv, prefix);
      }
    }
  }
  return { value: getStaticTOMLValue(ast), locate: (path) => nearest(positions, path) };
}

/** YAML with positions, through the yaml library's document model. */
export function parseYamlSource(text: string): SourceDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new SyntaxProblem(e.message.split("\n")[0]!, { line: pos.line, column: pos.col });
  }
  const positions = new Map<string, Position>();
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const visit = (node: unknown, path: Path) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const keyNode = pair.key as YamlNode | null;
        if (keyNode?.range) positions.set(keyOf([...path, key]), at(keyNode.range[0]));
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const n = item as YamlNode | null;
        if (n?.range) positions.set(keyOf([...path, i]), at(n.range[0]));
        visit(item, [...path, i]);
      });
    }
  };
  visit(doc.contents, []);
  return { value: doc.toJS(), locate: (path) => nearest(positions, path) };
}
