"""Weakening read from the test code itself (pure: source texts in, evidence lines out).

What a diff's line counts cannot see: an assertion that cannot fail (``assert True``,
``assert add(1, 2) == add(1, 2)``, ``self.assertEqual(x, x)``, ``expect(true).toBe(true)``),
test code that reaches into pytest's reporting (``_pytest``, ``TestReport``, the report
hooks, assigning to ``pytest.`` attributes), and a parametrized test that lost cases (counted
per test function, so cases cut from one test and made up by a new test still show).

Python files are read with ``ast`` (the new text for what was added, both texts for the
cases); only what stands on an added line is reported. Other languages get a few regexes
over the added lines.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Any

from shopfloor.gate.diffs import FileDiff, matches

Reader = Callable[[str], str | None]  # path -> the file's text at that revision (None if absent)
MAX_PARSED_BYTES = 2 * 1024 * 1024

# unittest (and numpy/pandas testing) calls whose first argument alone decides them
_TRUTH_CALLS = {"assertTrue": True, "assert_": True, "failUnless": True, "assertFalse": False, "failIf": False}
# calls that compare their first two arguments: equal arguments make them pass whatever the code does
_SAME_CALLS = {
    "assertEqual", "assertEquals", "failUnlessEqual", "assertIs", "assertAlmostEqual", "assertAlmostEquals",
    "assertCountEqual", "assertItemsEqual", "assertListEqual", "assertTupleEqual", "assertSetEqual",
    "assertDictEqual", "assertSequenceEqual", "assertMultiLineEqual", "assertGreaterEqual", "assertLessEqual",
    "assert_equal", "assert_array_equal", "assert_allclose", "assert_almost_equal", "assert_frame_equal",
    "assert_series_equal", "assert_array_almost_equal",
}  # fmt: skip
_TRUE_WHEN_SAME = (ast.Eq, ast.Is, ast.LtE, ast.GtE)
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}  # fmt: skip
# hooks that decide or rewrite a test's outcome
REPORT_HOOKS = {
    "pytest_runtest_makereport", "pytest_report_teststatus", "pytest_runtest_logreport", "pytest_runtest_protocol",
    "pytest_runtest_call", "pytest_pyfunc_call", "pytest_terminal_summary", "pytest_sessionfinish",
}  # fmt: skip
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}  # fmt: skip
_NO_VALUE = object()


def _constant(node: ast.expr) -> Any:
    """The value of a literal expression (``1``, ``"x"``, ``(1, 2)``, ``not False``), else ``_NO_VALUE``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _constant(node.operand)
        return _NO_VALUE if inner is _NO_VALUE else not inner
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        a, b = _constant(node.left), _constant(node.right)
        if not all(isinstance(v, int | float) and abs(v) < 1e12 for v in (a, b)):
            return _NO_VALUE  # numbers only, and small: no "x" * 10**9
        try:
            return _ARITHMETIC[type(node.op)](a, b)
        except ArithmeticError:
            return _NO_VALUE
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NO_VALUE


def _same(a: ast.expr, b: ast.expr) -> bool:
    return ast.dump(a) == ast.dump(b)


def _always_true(test: ast.expr) -> str | None:
    """Why an ``assert`` test cannot fail, or None."""
    value = _constant(test)
    if value is not _NO_VALUE:
        return "asserts a constant" if value else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, _TRUE_WHEN_SAME) and _same(left, right):
            return "compares an expression with itself"
        a, b = _constant(left), _constant(right)
        if a is not _NO_VALUE and b is not _NO_VALUE:
            try:
                return "compares two constants" if _COMPARE[type(op)](a, b) else None
            except Exception:  # a comparison the literals do not support
                return None
    return None


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _always_passing_call(call: ast.Call) -> str | None:
    name = _call_name(call.func)
    if name is None or not call.args:
        return None
    if name in _TRUTH_CALLS:
        value = _constant(call.args[0])
        if value is not _NO_VALUE and bool(value) == _TRUTH_CALLS[name]:
            return f"{name} of a constant"
    if name in _SAME_CALLS and len(call.args) >= 2:
        if _same(call.args[0], call.args[1]):
            return f"{name} of an expression with itself"
        a, b = _constant(call.args[0]), _constant(call.args[1])
        if a is not _NO_VALUE and b is not _NO_VALUE and a == b:
            return f"{name} of two equal constants"
    return None


def _lines(node: ast.AST) -> range:
    start = getattr(node, "lineno", 0)
    return range(start, (getattr(node, "end_lineno", None) or start) + 1)


def _parse(text: str | None) -> ast.Module | None:
    if text is None or len(text) > MAX_PARSED_BYTES:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def tautologies(text: str, added: set[int]) -> list[tuple[int, str]]:
    """(line, why) of each assertion on an added line of a Python file that cannot fail."""
    tree = _parse(text)
    if tree is None:
        return []
    out = []
    for node in ast.walk(tree):
        why = None
        if isinstance(node, ast.Assert):
            why = _always_true(node.test)
        elif isinstance(node, ast.Call):
            why = _always_passing_call(node)
        if why and added.intersection(_lines(node)):
            out.append((getattr(node, "lineno", 0), why))
    return sorted(out)


_JS_SAME = re.compile(
    r"\bexpect\(\s*(?P<a>[^()]*(?:\([^()]*\))?[^()]*?)\s*\)\s*\.\s*(?:toBe|toEqual|toStrictEqual)\(\s*(?P<b>[^()]*(?:\([^()]*\))?[^()]*?)\s*\)"
)
_OTHER_CONSTANT = re.compile(
    r"\bexpect\(\s*(?:true|1|!0)\s*\)\s*\.\s*toBeTruthy\(\s*\)|\bassert(?:\.ok|\.isTrue)?\(\s*true\s*\)"
    r"|\bassert!\(\s*true\s*\)|\bassertTrue\(\s*true\s*\)|\bassert_eq!\(\s*(?P<r>[^,()]+)\s*,\s*(?P=r)\s*\)"
    r"|\bassert\.(?:equal|strictEqual|deepEqual|deepStrictEqual)\(\s*(?P<j>[^,()]+)\s*,\s*(?P=j)\s*\)"
)


def tautologies_in_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The regex fallback for other languages: ``expect(x).toBe(x)``, ``assert.ok(true)``, ..."""
    out = []
    for number, text in lines:
        found = _JS_SAME.search(text)
        if found and found.group("a").strip() == found.group("b").strip():
            out.append((number, "compares an expression with itself"))
        elif _OTHER_CONSTANT.search(text):
            out.append((number, "asserts a constant"))
    return out


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _pytest_string(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(_PYTEST_NAME.match(node.value))


_PYTEST_NAME = re.compile(r"_?pytest(\.|\Z)")


def _reporting(node: ast.AST) -> str | None:
    """Why a node reaches into pytest's reporting, or None."""
    if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "_pytest" for a in node.names):
        return "imports pytest internals (_pytest)"
    if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "_pytest":
        return "imports pytest internals (_pytest)"
    if isinstance(node, ast.Name | ast.Attribute) and (
        (node.id if isinstance(node, ast.Name) else node.attr) in ("TestReport", "CollectReport")
    ):
        return "uses pytest's report objects"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in REPORT_HOOKS:
        return f"implements the {node.name} hook"
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute | ast.Subscript) and _root(target) in ("pytest", "_pytest"):
                return "assigns to a pytest attribute"
    if isinstance(node, ast.Call):
        name = _call_name(node.func)
        if name in ("setattr", "delattr", "patch", "object", "import_module", "__import__", "setitem") and any(
            _pytest_string(a) or _root(a) in ("pytest", "_pytest") for a in node.args[:2]
        ):
            return f"patches pytest ({name})"
    return None


def reporting_patches(text: str, added: set[int]) -> list[tuple[int, str]]:
    """(line, why) of each added line of Python test code that patches pytest's reporting."""
    tree = _parse(text)
    if tree is None:
        return []
    found: dict[int, str] = {}
    for node in ast.walk(tree):
        why = _reporting(node)
        if why is None:
            continue
        lines = (
            [getattr(node, "lineno", 0)] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else _lines(node)
        )
        if added.intersection(lines):
            found.setdefault(getattr(node, "lineno", 0), why)
    return sorted(found.items())


def _cases(call: ast.Call, literals: dict[str, ast.expr]) -> int | None:
    """How many literal cases a ``parametrize(names, values)`` call holds (None when not literal)."""
    values = (
        call.args[1] if len(call.args) >= 2 else next((k.value for k in call.keywords if k.arg == "argvalues"), None)
    )
    if isinstance(values, ast.Name):
        values = literals.get(values.id)
    if isinstance(values, ast.List | ast.Tuple | ast.Set):
        if any(isinstance(v, ast.Starred) for v in values.elts):
            return None
        return len(values.elts)
    return None


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for inner in node.body:
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}::{inner.name}", inner


def parametrized_cases(text: str | None) -> dict[str, int]:
    """{test function (``Class::name`` for a method): its number of parametrized cases}.

    Stacked ``parametrize`` decorators multiply; a function whose cases are not all literal
    (built by a call, a comprehension) is left out."""
    tree = _parse(text)
    if tree is None:
        return {}
    literals: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            literals[node.targets[0].id] = node.value
    out: dict[str, int] = {}
    for name, fn in _functions(tree):
        calls = [d for d in fn.decorator_list if isinstance(d, ast.Call) and _call_name(d.func) == "parametrize"]
        counts = [_cases(call, literals) for call in calls]
        out.pop(name, None)  # a later definition of the same name replaces the earlier one
        if calls and all(c is not None for c in counts):
            total = 1
            for count in counts:
                total *= count or 0
            out[name] = total
    return out


def fewer_cases(old: str | None, new: str | None) -> list[str]:
    """Each test function that has fewer parametrized cases in ``new`` than in ``old``."""
    before, after = parametrized_cases(old), parametrized_cases(new)
    return [
        f"{name}: {after[name]} parametrized case(s), was {count}"
        for name, count in sorted(before.items())
        if name in after and after[name] < count
    ]


def _reads_pytest(path: str, test_paths: tuple[str, ...]) -> bool:
    name = PurePosixPath(path).name
    return matches(path, test_paths) or name == "conftest.py"


def evidence(files: dict[str, FileDiff], test_paths: tuple[str, ...], new: Reader, old: Reader) -> list[str]:
    """The evidence lines of weakening found in the test code of a change."""
    out: list[str] = []
    for path, diff in sorted(files.items()):
        if diff.status == "D" or not _reads_pytest(path, test_paths):
            continue
        added = {n for n, _ in diff.added}
        if not path.endswith(".py"):
            if matches(path, test_paths):
                out += [f"assertion that cannot fail: {path}:{n}: {why}" for n, why in tautologies_in_lines(diff.added)]
            continue
        text = new(path)
        if text is None:
            continue
        if matches(path, test_paths):
            out += [f"assertion that cannot fail: {path}:{n}: {why}" for n, why in tautologies(text, added)]
        out += [f"patches pytest's reporting: {path}:{n}: {why}" for n, why in reporting_patches(text, added)]
        if diff.status != "A" and matches(path, test_paths):
            out += [f"fewer cases: {path}::{line}" for line in fewer_cases(old(diff.old_path or path), text)]
    return out
