#!/usr/bin/env python3
"""Checks that vkvit's sources form layers, not tangles: no cycle among src/ files, neither in their
#include lines nor in who calls whom (the defined/undefined symbols of the built objects, read with
nm). Prints each cycle found and exits 1; prints the layer order and exits 0 otherwise.

    tools/check_deps.py [BUILD_DIR]      # default build; the object graph needs the built libvkvit-internal.a
"""
import os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, 'src')


def include_graph():
    graph = {}
    for dirpath, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, SRC)
            deps = set()
            for m in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', open(path).read(), re.M):
                inc = m.group(1)
                for cand in (os.path.join(dirpath, inc), os.path.join(SRC, inc)):
                    if os.path.isfile(cand):
                        deps.add(os.path.relpath(cand, SRC))
                        break
            graph[rel] = deps
    return graph


def object_graph(build):
    lib = os.path.join(build, 'libvkvit-internal.a')
    if not os.path.isfile(lib):
        sys.exit(f'check_deps: {lib} not found: build first')
    out = subprocess.run(['nm', '-A', lib], capture_output=True, text=True, check=True).stdout
    sources = {}
    for dirpath, _, files in os.walk(SRC):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), SRC)
            sources['src_' + rel.replace('/', '_')] = rel
    defined, undefined = {}, {}
    for line in out.splitlines():
        m = re.match(r'^[^:]+:([^:]+\.o):\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$', line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        # meson names objects after their path: src_vk_context.c.o is vk/context.c
        name = sources.get(os.path.basename(obj)[:-2])
        if not name:
            continue
        if kind == 'U':
            undefined.setdefault(name, set()).add(sym)
        elif kind.isupper():
            defined[sym] = name
    graph = {}
    for obj, syms in undefined.items():
        graph[obj] = {defined[s] for s in syms if s in defined and defined[s] != obj}
    for obj in set(defined.values()):
        graph.setdefault(obj, set())
    c_files = [f for f in sources.values() if f.endswith('.c')]
    if len(graph) < len(c_files) // 2:   # a check that reads nothing must not pass
        sys.exit(f'check_deps: only {len(graph)} of {len(c_files)} src/ objects found in {lib}')
    return graph


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'build')
    bad = 0
    for what, graph in (('#include', include_graph()), ('calls (nm)', object_graph(build))):
        found = cycles(graph)
        for comp in found:
            print(f'check_deps: {what} cycle among: ' + ', '.join(comp))
            for v in comp:
                print(f'    {v} -> ' + ', '.join(sorted(set(graph[v]) & set(comp))))
        bad += len(found)
        print(f'check_deps: {what}: {len(graph)} files, {len(found)} cycle(s)')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
