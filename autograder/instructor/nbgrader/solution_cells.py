"""The code of an nbgrader answer cell: a stub's function with the solution's body inside
``### BEGIN SOLUTION`` / ``### END SOLUTION``.

    def batchnorm_forward(x, gamma, beta, eps=1e-5):     <- the stub's signature
        \"\"\"Training-mode forward pass ...\"\"\"          <- the stub's docstring
        ### BEGIN SOLUTION
        n = x.shape[0]                                    <- the solution's body
        ...
        ### END SOLUTION

``nbgrader generate_assignment`` replaces the region with ``raise NotImplementedError()``, so
the released cell is the stub, docstring included. What the solution defines at the top of its
file and the stub does not (a constant such as ``AXES``, a helper, an import) is copied into
the region of each function that uses it, so no solution leaks into the released code.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
INDENT = "    "


class SpliceError(ValueError):
    """The stub and the solution do not fit together (a function missing in one of them)."""


@dataclass(frozen=True)
class Module:
    """A parsed Python file."""

    source: str
    tree: ast.Module

    @classmethod
    def parse(cls, source: str) -> Module:
        return cls(source, ast.parse(source))

    def function(self, name: str) -> ast.FunctionDef:
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
        raise SpliceError(f"no function {name!r}")

    def lines(self, first: int, last: int) -> str:
        return "\n".join(self.source.splitlines()[first - 1:last])

    def top_level(self, skip: set[str]) -> list[ast.stmt]:
        """Top-level statements but the docstring and the functions named in `skip`."""
        body = self.tree.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        return [node for node in body if not (isinstance(node, ast.FunctionDef) and node.name in skip)]

    def segment(self, node: ast.stmt) -> str:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return self.lines(start, node.end_lineno)


def setup_code(stub: str, functions: set[str]) -> str:
    """The stub file's top-level code other than the exercise functions (``import numpy as np``)."""
    module = Module.parse(stub)
    return "\n".join(module.segment(node) for node in module.top_level(functions))


def answer_cell(stub: str, solution: str, function: str, functions: set[str]) -> str:
    """The answer cell of `function`: the stub's header and docstring, the solution's body in a
    solution region. `functions` are all the exercise functions of the file."""
    stub_module, solution_module = Module.parse(stub), Module.parse(solution)
    stub_node = stub_module.function(function)
    solved = solution_module.function(function)
    header = stub_module.lines(min([stub_node.lineno] + [d.lineno for d in stub_node.decorator_list]),
                               _docstring_end(stub_node))
    region = [*_extras(stub_module, solution_module, solved, functions), _body(solution_module, solved)]
    body = "\n".join(part for part in region if part.strip())
    return f"{header}\n{INDENT}{BEGIN}\n{body}\n{INDENT}{END}\n"


def _docstring_end(node: ast.FunctionDef) -> int:
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno
    return first.lineno - 1


def _body(module: Module, node: ast.FunctionDef) -> str:
    """The function's body after its docstring, as written (comments kept), indentation kept."""
    return module.lines(_docstring_end(node) + 1, node.end_lineno).strip("\n")


def _extras(stub: Module, solution: Module, node: ast.FunctionDef, functions: set[str]) -> list[str]:
    """Top-level statements of the solution that the stub lacks and `node` uses, indented."""
    in_stub = {ast.dump(statement) for statement in stub.top_level(functions)}
    used = {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}
    extras = []
    for statement in solution.top_level(functions):
        if ast.dump(statement) in in_stub or not (_bound(statement) & used):
            continue
        extras.append(textwrap.indent(textwrap.dedent(solution.segment(statement)), INDENT))
    return extras


def _bound(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).partition(".")[0] for alias in statement.names}
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [statement.target] if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
