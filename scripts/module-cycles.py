#!/usr/bin/env python3
"""Reports import circles between the modules of each crate; exits 1 when there is one.

A module is a source file (an inline `mod tests { ... }` counts as part of its file). Module A
depends on module B when A names something of B: a `use crate::...`, `use super::...` or
`use self::...` statement, a qualified path in code (`crate::x::f()`, `super::Y`, `child::Z`),
or `$crate::...` in a macro body. A path through a re-export (`pub use`) counts for the module
that defines the item, and a re-export by itself is not a dependency: a parent module that
re-exports its children's items is their façade, not their user. A submodule using what its
parent (or the crate root) defines is not counted either: it is a part of that module, which
is why Rust lets it see the parent's private items. Comments and string literals are ignored,
so an intra-doc link does not make a dependency.

Usage: scripts/module-cycles.py [crate directory ...]   (default: every crates/*)
       scripts/module-cycles.py --self-test             (the rules above on small made-up crates)
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Module = tuple[str, ...]  # () is the crate root


def strip_comments_and_literals(text: str) -> str:
    """Blanks comments, string and character literals, keeping line breaks."""
    out: list[str] = []
    i, n = 0, len(text)

    def blank(s: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif raw := re.match(r'b?r(#*)"', text[i:]):
            if i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
                out.append(c)
                i += 1
                continue
            end = text.find('"' + raw.group(1), i + raw.end())
            j = n if end < 0 else end + 1 + len(raw.group(1))
            out.append(blank(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            m = re.match(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'", text[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def expand_use_tree(tree: str) -> list[list[str]]:
    """`crate::{a::{b, c as d}, e::*}` → [[crate, a, b], [crate, a, c], [crate, e, *]]."""
    tokens = re.findall(r"::|[{},*]|\$?\w+", tree)
    pos = 0

    def parse(prefix: list[str]) -> list[list[str]]:
        nonlocal pos
        path = list(prefix)
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == "{":
                pos += 1
                paths: list[list[str]] = []
                while pos < len(tokens) and tokens[pos] != "}":
                    if tokens[pos] == ",":
                        pos += 1
                        continue
                    paths += parse(path)
                pos += 1
                return paths
            if tok in (",", "}"):
                break
            if tok == "::":
                pos += 1
                continue
            if tok == "as":
                pos += 2  # the alias does not change what is named
                continue
            path.append(tok)
            pos += 1
        return [path] if len(path) > len(prefix) else []

    return parse([])


@dataclass
class ModuleSource:
    file: Path
    module: Module
    text: str  # comments and literals blanked
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # inline `mod x { }`

    def module_at(self, pos: int) -> Module:
        inner = [name for start, end, name in self.spans if start <= pos <= end]
        return self.module + tuple(inner)


@dataclass
class Crate:
    name: str
    modules: dict[Module, ModuleSource] = field(default_factory=dict)
    inline: set[Module] = field(default_factory=set)  # inline modules, part of their file
    reexports: dict[Module, dict[str, tuple[Module, list[str]]]] = field(default_factory=dict)

    def is_module(self, m: Module) -> bool:
        return m in self.modules or m in self.inline

    def file_of(self, m: Module) -> Module:
        while m not in self.modules:
            m = m[:-1]
        return m


USE = re.compile(r"(\bpub(\s*\([^)]*\))?\s+)?\buse\s+([^;]+);")
MOD_DECL = re.compile(r"\bmod\s+(\w+)\s*;")
MOD_INLINE = re.compile(r"\bmod\s+(\w+)\s*\{")
PATH = re.compile(r"(?<![\w:$])(\$crate|crate|super|self|[a-z_]\w*)((?:\s*::\s*\w+)+)")


def load_crate(crate_dir: Path) -> list[Crate]:
    crates = []
    for root_name in ("lib.rs", "main.rs"):
        root_file = crate_dir / "src" / root_name
        if not root_file.exists():
            continue
        crate = Crate(f"{crate_dir.name} ({root_name})")
        pending: list[tuple[Path, Module]] = [(root_file, ())]
        while pending:
            file, module = pending.pop()
            src = ModuleSource(file, module, strip_comments_and_literals(file.read_text()))
            for m in MOD_INLINE.finditer(src.text):
                end = matching_brace(src.text, m.end() - 1)
                src.spans.append((m.start(), end, m.group(1)))
            for start, _, name in src.spans:
                crate.inline.add((*src.module_at(start), name))
            crate.modules[module] = src
            # Children of lib.rs, main.rs and mod.rs sit next to them; of x.rs, in x/.
            base = (
                file.parent
                if file.name in ("lib.rs", "main.rs", "mod.rs")
                else file.with_suffix("")
            )
            for m in MOD_DECL.finditer(src.text):
                name = m.group(1)
                for candidate in (base / f"{name}.rs", base / name / "mod.rs"):
                    if candidate.exists():
                        pending.append((candidate, (*module, name)))
                        break
        crates.append(crate)
    return crates


def collect_reexports(crate: Crate) -> None:
    for src in crate.modules.values():
        for m in USE.finditer(src.text):
            if not m.group(1) or m.group(2):  # only plain `pub use`; pub(crate) is internal
                continue
            here = src.module_at(m.start())
            for path in expand_use_tree(m.group(3)):
                if path[-1] != "*":
                    crate.reexports.setdefault(here, {})[path[-1]] = (here, path)


def resolve(crate: Crate, here: Module, path: list[str], depth: int = 0) -> Module | None:
    """The module defining what `path`, written in module `here`, names (None: another crate)."""
    first = path[0]
    if first in ("crate", "$crate"):
        module: Module = ()
        rest = path[1:]
    elif first in ("super", "self"):
        module, rest = here, path
        while rest and rest[0] in ("super", "self"):
            module = module[:-1] if rest[0] == "super" else module
            rest = rest[1:]
    elif crate.is_module((*here, first)):
        module, rest = here, path
    else:
        return None
    while rest and crate.is_module((*module, rest[0])):
        module, rest = (*module, rest[0]), rest[1:]
    if rest and depth < 8 and rest[0] in crate.reexports.get(module, {}):
        origin, target = crate.reexports[module][rest[0]]
        via = resolve(crate, origin, target + rest[1:], depth + 1)
        if via is not None:
            return via
    return module


def dependencies(crate: Crate) -> dict[Module, dict[Module, str]]:
    """file module → {file module it depends on → where (file:line)}."""
    deps: dict[Module, dict[Module, str]] = {m: {} for m in crate.modules}

    def add(src: ModuleSource, pos: int, target: Module | None) -> None:
        if target is None:
            return
        source, target = src.module, crate.file_of(target)
        if source[: len(target)] == target:
            return  # the module itself or an ancestor: see the module docs
        if target not in deps[source]:
            line = src.text.count("\n", 0, pos) + 1
            file = src.file.relative_to(ROOT) if src.file.is_relative_to(ROOT) else src.file
            deps[source][target] = f"{file}:{line}"

    for src in crate.modules.values():
        text = src.text
        uses = list(USE.finditer(text))
        for m in uses:
            if m.group(1) and not m.group(2):
                continue  # a re-export: paths through it resolve to the defining module
            here = src.module_at(m.start())
            for path in expand_use_tree(m.group(3)):
                if path[-1] == "*":
                    path = path[:-1]
                if path:
                    add(src, m.start(), resolve(crate, here, path))
        # Qualified paths in code, outside the use statements.
        masked = list(text)
        for m in uses:
            masked[m.start() : m.end()] = " " * (m.end() - m.start())
        code = "".join(masked)
        for m in PATH.finditer(code):
            path = [m.group(1), *re.findall(r"\w+", m.group(2))]
            add(src, m.start(), resolve(crate, src.module_at(m.start()), path))
    return deps


def cycles(deps: dict[Module, dict[Module, str]]) -> list[list[Module]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[Module, int] = {}
    low: dict[Module, int] = {}
    stack: list[Module] = []
    on_stack: set[Module] = set()
    found: list[list[Module]] = []

    def visit(v: Module) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in deps[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    return found


def name(m: Module) -> str:
    return "::".join(m) or "crate"


def circles_in(files: dict[str, str]) -> list[list[str]]:
    """The circles of a made-up crate given as {path under src/: text}."""
    with tempfile.TemporaryDirectory() as tmp:
        for path, text in files.items():
            (Path(tmp) / "src" / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / "src" / path).write_text(text)
        [crate] = load_crate(Path(tmp))
        collect_reexports(crate)
        return [list(map(name, c)) for c in cycles(dependencies(crate))]


def self_test() -> int:
    lib = "mod a;\nmod b;\nmod c;\npub use a::Thing;\n"
    cases: list[tuple[str, dict[str, str], list[list[str]]]] = [
        (
            "siblings using each other",
            {
                "lib.rs": lib,
                "a.rs": "use crate::b::B;",
                "b.rs": "fn f() { super::a::g() }",
                "c.rs": "",
            },
            [["a", "b"]],
        ),
        (
            "a circle of three, through a root re-export and a nested use tree",
            {
                "lib.rs": lib,
                "a.rs": "use crate::{b::{self, B}};",
                "b.rs": "use super::c::C as D;",
                "c.rs": "fn f() -> crate::Thing { todo!() }",
            },
            [["a", "b", "c"]],
        ),
        (
            "a child using its parent, the parent its child",
            {
                "lib.rs": "mod p;",
                "p/mod.rs": "mod k;\npub struct P;\nfn f() { k::g() }",
                "p/k.rs": "use super::P;",
            },
            [],
        ),
        (
            "doc links, comments, strings and test modules' `use super::*`",
            {
                "lib.rs": lib,
                "a.rs": '//! See [`crate::b`].\n/* crate::b::B */\nconst S: &str = "crate::b::x";',
                "b.rs": "use crate::a::A;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}",
                "c.rs": "",
            },
            [],
        ),
    ]
    failed = 0
    for what, files, expected in cases:
        got = circles_in(files)
        if got != expected:
            failed += 1
            print(f"self-test: {what}: expected {expected}, found {got}")
    print(f"self-test: {len(cases) - failed} of {len(cases)} cases pass")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv == ["--self-test"]:
        return self_test()
    dirs = [Path(a) for a in argv] or sorted(
        p for p in (ROOT / "crates").iterdir() if (p / "src").is_dir()
    )
    failed = False
    for crate_dir in dirs:
        for crate in load_crate(crate_dir.resolve()):
            collect_reexports(crate)
            deps = dependencies(crate)
            for component in cycles(deps):
                failed = True
                print(f"{crate.name}: import circle between {', '.join(map(name, component))}")
                members = set(component)
                for a in component:
                    for b, where in sorted(deps[a].items()):
                        if b in members:
                            print(f"  {name(a)} -> {name(b)}  ({where})")
    if not failed:
        print(f"no import circles ({len(dirs)} crates)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
