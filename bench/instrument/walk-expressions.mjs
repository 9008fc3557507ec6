// Visit every expression of a binaryen function body, with a way to replace the visited expression
// in its parent. binaryen.js has no generic child iterator: each expression class has its own getters
// and setters (If.getIfTrue/setIfTrue, Block.getChildAt/setChildAt, ...), listed here per kind.
// An expression kind that is neither listed nor a leaf stops the walk with an error, so a grow hidden
// under a kind we do not know can never be skipped silently.
import binaryen from 'binaryen';

// kind -> [class, single child fields, array child field ([singular, plural]) or null]
const KINDS = {
  Block: [[], ['Child', 'Children']],
  If: [['Condition', 'IfTrue', 'IfFalse'], null],
  Loop: [['Body'], null],
  Break: [['Condition', 'Value'], null],
  Switch: [['Condition', 'Value'], null],
  Call: [[], ['Operand', 'Operands']],
  CallIndirect: [['Target'], ['Operand', 'Operands']],
  CallRef: [['Target'], ['Operand', 'Operands']],
  LocalSet: [['Value'], null],
  GlobalSet: [['Value'], null],
  Load: [['Ptr'], null],
  Store: [['Ptr', 'Value'], null],
  AtomicRMW: [['Ptr', 'Value'], null],
  AtomicCmpxchg: [['Ptr', 'Expected', 'Replacement'], null],
  AtomicWait: [['Ptr', 'Expected', 'Timeout'], null],
  AtomicNotify: [['Ptr', 'NotifyCount'], null],
  SIMDExtract: [['Vec'], null],
  SIMDReplace: [['Vec', 'Value'], null],
  SIMDShuffle: [['Left', 'Right'], null],
  SIMDTernary: [['A', 'B', 'C'], null],
  SIMDShift: [['Vec', 'Shift'], null],
  SIMDLoad: [['Ptr'], null],
  SIMDLoadStoreLane: [['Ptr', 'Vec'], null],
  MemoryInit: [['Dest', 'Offset', 'Size'], null],
  MemoryCopy: [['Dest', 'Source', 'Size'], null],
  MemoryFill: [['Dest', 'Value', 'Size'], null],
  MemoryGrow: [['Delta'], null],
  Unary: [['Value'], null],
  Binary: [['Left', 'Right'], null],
  Select: [['IfTrue', 'IfFalse', 'Condition'], null],
  Drop: [['Value'], null],
  Return: [['Value'], null],
  TableGet: [['Index'], null],
  TableSet: [['Index', 'Value'], null],
  TableGrow: [['Value', 'Delta'], null],
  RefIsNull: [['Value'], null],
  RefAs: [['Value'], null],
  RefEq: [['Left', 'Right'], null],
  RefTest: [['Ref'], null],
  RefCast: [['Ref'], null],
  Try: [['Body'], ['CatchBody', 'CatchBodies']],
  Throw: [[], ['Operand', 'Operands']],
  TupleMake: [[], ['Operand', 'Operands']],
  TupleExtract: [['Tuple'], null],
};
const LEAVES = ['Nop', 'Unreachable', 'LocalGet', 'GlobalGet', 'Const', 'MemorySize', 'DataDrop', 'RefNull',
  'RefFunc', 'TableSize', 'Rethrow', 'Pop', 'AtomicFence'];

// id -> { name, fields: [{ get, set }], array: { num, get, set } | null }, checked once against binaryen.js
let byId = null;
function table() {
  if (byId) return byId;
  byId = new Map();
  for (const name of LEAVES) byId.set(binaryen[`${name}Id`], { name, fields: [], array: null });
  for (const [name, [fields, array]] of Object.entries(KINDS)) {
    const C = binaryen[name];
    const need = (fn) => {
      if (typeof C?.[fn] !== 'function') throw new Error(`binaryen.js has no ${name}.${fn}: unsupported binaryen version`);
      return C[fn];
    };
    byId.set(binaryen[`${name}Id`], {
      name,
      fields: fields.map((f) => ({ get: need(`get${f}`), set: need(`set${f}`) })),
      array: array && { num: need(`getNum${array[1]}`), get: need(`get${array[0]}At`), set: need(`set${array[0]}At`) },
    });
  }
  return byId;
}

export class UnknownExpressionError extends Error {}

// Calls visit(expr, id, replace) for every expression of func's body, parents before children;
// replace(newExpr) puts newExpr where expr was. If visit returns an expression (the replacement), the
// walk goes on into that one's children instead. Iterative: bodies nest thousands deep.
export function walkFunction(funcRef, visit) {
  const kinds = table();
  const body = binaryen.Function.getBody(funcRef);
  if (!body) return; // an import
  const stack = [[body, (e) => binaryen.Function.setBody(funcRef, e)]];
  while (stack.length) {
    const [visited, replace] = stack.pop();
    let expr = visited;
    let id = binaryen.getExpressionId(expr);
    if (!kinds.has(id)) throw new UnknownExpressionError(`expression kind ${id} is not supported by the walker`);
    const replacement = visit(expr, id, replace);
    if (replacement) {
      expr = replacement;
      id = binaryen.getExpressionId(expr);
      if (!kinds.has(id)) throw new UnknownExpressionError(`expression kind ${id} is not supported by the walker`);
    }
    const k = kinds.get(id);
    for (const f of k.fields) {
      const child = f.get(expr);
      if (child) stack.push([child, (e) => f.set(expr, e)]);
    }
    if (k.array) {
      const n = k.array.num(expr);
      for (let i = n - 1; i >= 0; i--) {
        const child = k.array.get(expr, i);
        if (child) stack.push([child, (e) => k.array.set(expr, i, e)]);
      }
    }
  }
}
