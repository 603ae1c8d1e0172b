"""The measures of a YAML node graph, taken before anything is constructed: how deep
collections nest (``MAX_DEPTH``), aliases that refer to their own anchor, and how far
aliases expand a document (``MAX_ALIAS_NODES``, a "billion laughs" bomb). Used by
runner.safeyaml; every problem is an InputError of the class the caller names.
"""

from __future__ import annotations

import re

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from runner.errors import InputError

MAX_DEPTH = 100  # nested collections; deeper data breaks JSON output and templating
MAX_ALIAS_NODES = 1_000_000  # nodes that aliases may add to a document when expanded


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def check_graph(root: yaml.Node, path: str, error: type[InputError]) -> None:
    """Depth, recursive aliases and alias expansion, measured once per distinct node."""
    sizes: dict[int, int] = {}  # id(node) -> expanded size
    depths: dict[int, int] = {}  # id(node) -> collections nested below, itself included
    on_path: set[int] = set()
    added = 0  # nodes that aliases add when the document is expanded
    stack = [(root, iter(_children(root)))]
    on_path.add(id(root))
    while stack:
        node, kids = stack[-1]
        for kid in kids:
            key = id(kid)
            if key in on_path:
                raise error(
                    "an alias refers to the collection that contains it",
                    path=path,
                    line=kid.start_mark.line + 1,
                    hint="an alias (*name) must refer to an anchor (&name) that is complete",
                )
            if key in sizes:  # reached again through an alias
                added += sizes[key]
                if added > MAX_ALIAS_NODES:
                    raise error(
                        f"aliases expand this document to more than {MAX_ALIAS_NODES:,} nodes",
                        path=path,
                        line=node.start_mark.line + 1,
                        hint="write the data out, or use fewer nested aliases",
                    )
                if len(stack) + depths[key] > MAX_DEPTH:
                    raise _too_deep(node, path, error)
                continue
            if not isinstance(kid, (MappingNode, SequenceNode)):
                sizes[key], depths[key] = 1, 0
                continue
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(kid, path, error)
            on_path.add(key)
            stack.append((kid, iter(_children(kid))))
            break
        else:
            stack.pop()
            key = id(node)
            on_path.discard(key)
            below = _children(node)
            sizes[key] = 1 + sum(sizes[id(k)] for k in below)
            depths[key] = 1 + max((depths[id(k)] for k in below), default=0)


def check_tree_depth(root: yaml.Node, path: str, error: type[InputError]) -> None:
    """Depth only, for a document without anchors (so its node graph is a tree)."""
    stack = [(root, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > MAX_DEPTH:
            raise _too_deep(node, path, error)
        kind = node.__class__
        if kind is MappingNode:
            for key, value in node.value:
                if value.__class__ is not ScalarNode:
                    push((value, depth + 1))
                if key.__class__ is not ScalarNode:
                    push((key, depth + 1))
        elif kind is SequenceNode:
            for value in node.value:
                if value.__class__ is not ScalarNode:
                    push((value, depth + 1))


def _too_deep(node: yaml.Node, path: str, error: type[InputError]) -> InputError:
    return error(
        f"data is nested deeper than {MAX_DEPTH} levels",
        path=path,
        line=node.start_mark.line + 1,
        hint="flatten the structure",
    )


def deep_line(text: str) -> int | None:
    """The line where ``[``/``{`` nesting first passes ``MAX_DEPTH`` (quotes ignored:
    only used to place an error the parser could not place)."""
    depth = 0
    for found in re.finditer(r"[\[\]{}]", text):
        depth += 1 if found.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return text.count("\n", 0, found.start()) + 1
    return None


__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "check_graph", "check_tree_depth", "deep_line"]
