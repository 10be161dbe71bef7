"""The one Jinja2 environment of the HTML renderers (autoescaped, templates in ``templates/``)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from troth.policy.render.document import Items, Para, Table


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("troth.policy.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["para"] = lambda b: isinstance(b, Para)
    env.tests["items"] = lambda b: isinstance(b, Items)
    env.tests["table"] = lambda b: isinstance(b, Table)
    return env


def render_template(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
