"""How copies are disguised in bench/similarity.py (and tests/insight): AST rewrites of a program.

Each disguise is a function ``(code, keep, rng) -> code`` that keeps the program
working (``keep``: the names the judge calls, never renamed):

- ``rename``: every name the student chose, renamed;
- ``korean``: the same with Korean identifiers;
- ``reorder``: top-level functions in another order, and helper functions moved;
- ``deadcode``: comments on lines, unused variables, a helper that is called and does
  nothing, and a function that nothing calls;
- ``loops``: ``for x in range(...)`` as ``while``, ``for x in seq`` over indexes;
- ``padding``: dead code of a kind the normalizer does not remove (values computed and
  never read, a helper whose result is thrown away);
- ``all``: rename, loop forms, reordering and dead code together.
"""

from __future__ import annotations

import ast
import builtins
import random
from collections.abc import Callable

BUILTINS = frozenset(dir(builtins))
ENGLISH = ["value", "item", "acc", "tmp", "data", "res", "cur", "idx", "cnt", "buf", "node", "part"]
KOREAN = [
    "값",
    "결과",
    "목록",
    "개수",
    "현재",
    "임시",
    "합계",
    "위치",
    "사전",
    "문자",
    "숫자",
    "답",
]


def _chosen_names(tree: ast.AST, keep: set[str]) -> list[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return sorted(n for n in names if n not in keep and n not in BUILTINS)


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.mapping.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.mapping.get(node.name, node.name)
        self.generic_visit(node)
        return node


def _rename(code: str, keep: set[str], rng: random.Random, words: list[str]) -> str:
    tree = ast.parse(code)
    names = _chosen_names(tree, keep)
    pool = words[:]
    rng.shuffle(pool)
    mapping = {n: f"{pool[i % len(pool)]}{i // len(pool) or ''}" for i, n in enumerate(names)}
    return ast.unparse(_Renamer(mapping).visit(tree))


def rename(code: str, keep: set[str], rng: random.Random) -> str:
    return _rename(code, keep, rng, ENGLISH)


def korean(code: str, keep: set[str], rng: random.Random) -> str:
    return _rename(code, keep, rng, KOREAN)


def reorder(code: str, keep: set[str], rng: random.Random) -> str:
    tree = ast.parse(code)
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef | ast.ClassDef | ast.Import)]
    rest = [s for s in tree.body if s not in defs]
    defs.reverse()
    if len(defs) < 2 and rest and not defs:
        return ast.unparse(tree)
    tree.body = defs + rest
    return ast.unparse(tree)


class _LoopRewriter(ast.NodeTransformer):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0

    def visit_For(self, node: ast.For) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        has_jump = any(isinstance(n, ast.Continue) for n in ast.walk(node))
        if node.orelse or has_jump or not isinstance(node.target, ast.Name):
            return node
        it = node.iter
        var = node.target.id
        if (
            isinstance(it, ast.Call)
            and isinstance(it.func, ast.Name)
            and it.func.id == "range"
            and 1 <= len(it.args) <= 2
            and not it.keywords
        ):
            start = it.args[0] if len(it.args) == 2 else ast.Constant(0)
            stop = it.args[-1]
            self.count += 1
            limit = f"_stop{self.count}"
            code = (
                f"{limit} = {ast.unparse(stop)}\n{var} = {ast.unparse(start)}\n"
                f"while {var} < {limit}:\n    pass\n"
            )
            init_stop, init, loop = ast.parse(code).body
            assert isinstance(loop, ast.While)
            step = ast.parse(f"{var} += 1").body
            loop.body = list(node.body) + step
            return [init_stop, init, loop]
        self.count += 1
        seq, index = f"_seq{self.count}", f"_i{self.count}"
        head = ast.parse(
            f"{seq} = list({ast.unparse(it)})\nfor {index} in range(len({seq})):\n    {var} = {seq}[{index}]"
        ).body
        loop = head[1]
        assert isinstance(loop, ast.For)
        loop.body = loop.body + list(node.body)
        return [head[0], loop]


def loops(code: str, keep: set[str], rng: random.Random) -> str:
    tree = ast.parse(code)
    tree = _LoopRewriter(rng).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


def deadcode(code: str, keep: set[str], rng: random.Random) -> str:
    tree = ast.parse(code)
    helper = ast.parse("def _trace(*args):\n    return None").body[0]
    unused = ast.parse(
        "def _debug_dump(values):\n    for v in values:\n        print('debug', v)\n    return len(values)"
    ).body[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.body:
            args = [a.arg for a in node.args.args][:1]
            extra = ast.parse(f"_trace({', '.join(args)})\n_unused_{len(node.body)} = 0").body
            node.body[0:0] = extra
    tree.body = [helper, *tree.body, unused]
    lines = []
    for i, line in enumerate(ast.unparse(tree).splitlines()):
        comment = rng.choice(["# step", "# 여기서 처리", "# check", "# TODO", ""])
        lines.append(f"{line}  {comment}" if comment and i % 2 == 0 else line)
        if i % 5 == 0:
            lines.append("# " + rng.choice(["helper", "주석입니다", "logic here", "note"]))
    return "\n".join(lines) + "\n"


def padding(code: str, keep: set[str], rng: random.Random) -> str:
    """Dead code the normalizer does not look for: computed values nobody reads, a helper
    that computes something whose result is thrown away."""
    tree = ast.parse(code)
    # each copier pads in their own way (two padded programs share no padding)
    helper = ast.parse(
        rng.choice(
            [
                "def _check(values):\n    count = 0\n    for v in values:\n"
                "        count = count + 1\n    return count",
                "def _validate(data):\n    if not data:\n        return False\n"
                "    return isinstance(data, str) and len(data) > 0",
                "def _summary(x):\n    parts = [str(p) for p in str(x).split()]\n"
                "    return ' '.join(parts)[:40]",
            ]
        )
    ).body[0]
    assert isinstance(helper, ast.FunctionDef)
    call = helper.name
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.body and node.args.args:
            first = node.args.args[0].arg
            unused = rng.choice(
                [
                    f"_size = len(str({first}))",
                    f"_seen = [{first}]",
                    f"_kind = type({first}).__name__",
                ]
            )
            extra = ast.parse(f"{unused}\n{call}(str({first}))").body
            at = rng.randrange(len(node.body))
            node.body[at:at] = extra
    tree.body = [helper, *tree.body]
    return ast.unparse(tree) + "\n"


def everything(code: str, keep: set[str], rng: random.Random) -> str:
    return deadcode(reorder(loops(rename(code, keep, rng), keep, rng), keep, rng), keep, rng)


DISGUISES: dict[str, Callable[[str, set[str], random.Random], str]] = {
    "rename": rename,
    "korean": korean,
    "reorder": reorder,
    "deadcode": deadcode,
    "loops": loops,
    "padding": padding,
    "all": everything,
}
