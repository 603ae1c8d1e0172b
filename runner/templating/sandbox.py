"""The one Jinja2 environment: sandboxed, strict about undefined names, compiled without
constant folding, and checked against the limits of runner.templating.limits.

jinja2 (and limits/guards, which import it) load inside ``environment()``, on first use:
a run whose command has no ``{{`` never imports it (start-up time, not a cycle).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from runner.templating.filters import ansible_filters, ansible_tests
from runner.templating.filters_more import more_filters, more_tests


@lru_cache(maxsize=1)
def environment() -> Any:
    """The one sandboxed environment (StrictUndefined: an undefined name is an error),
    with the size limits of runner.templating.limits and no compile-time folding."""
    from jinja2 import ChainableUndefined, StrictUndefined
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from runner.templating import guards, limits
    from runner.templating.lookups import lookup_globals

    class Undefined(ChainableUndefined, StrictUndefined):
        """Strict when used (rendered, compared, iterated), but ``a.b is defined`` and
        ``a.b | default(x)`` work when ``a`` is undefined, as in Ansible."""

    class Generator(CodeGenerator):
        def visit_Const(self, node: Any, frame: Any) -> None:  # 1e400 is inf: not a name
            value = node.as_const(frame.eval_ctx)
            if isinstance(value, float) and not math.isfinite(value):
                self.write(f"float({str(value)!r})")
            else:
                super().visit_Const(node, frame)

        def visit_Concat(self, node: Any, frame: Any) -> None:  # ``a ~ b``: checked first
            if frame.eval_ctx.volatile:
                join = "(markup_join if context.eval_ctx.volatile else str_join)"
            else:
                join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
            self.write(f"{join}(environment.check_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write(")))")

    class Environment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        code_generator_class = Generator

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            guards.check_binop(operator, left, right)
            return self.binop_table[operator](left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            guards.check_call(__obj, args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

        def wrap_str_format(self, value: Any) -> Any:
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt = value.__self__

            def checked_format(*args: Any, **kwargs: Any) -> str:
                guards.check_format(fmt, args, kwargs)
                return wrapped(*args, **kwargs)

            return checked_format

        @staticmethod
        def check_concat(parts: tuple) -> tuple:
            guards.check_concat(parts)
            return parts

    env = Environment(
        undefined=Undefined,
        keep_trailing_newline=True,
        autoescape=False,
        optimized=False,  # folding runs user expressions at compile time, unchecked
        finalize=limits.finish,
    )
    ours = {**ansible_filters(), **more_filters()}
    env.filters.update(ours)
    env.filters.update({f"ansible.builtin.{name}": f for name, f in ours.items()})
    env.filters = guards.checked_filters(env.filters)
    tests = {**ansible_tests(), **more_tests()}
    env.tests.update(tests)
    env.tests.update({f"ansible.builtin.{name}": t for name, t in tests.items()})
    # jinja2 infers its TESTS dict as builtins.function, which mypy does not call a Callable
    env.tests = {name: guards.checked(test) for name, test in env.tests.items()}  # type: ignore[arg-type]
    env.globals["lipsum"] = guards.lipsum
    env.globals["range"] = guards.checked_range
    env.globals.update(lookup_globals())
    return env
