import ast

from ..findings import Fix
from ..fixes.edits import remove_keyword
from ..knowledge import version_tuple
from ..model.facts import Scope
from ..pyenv import judged_environment
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range
from ._common import constant_str

# Flask-Migrate >= 4.0 (Migrate.__init__) always puts these into configure_args.
FLASK_MIGRATE_KEYS = frozenset({"compare_type", "render_as_batch"})


def check(ctx: RuleContext) -> None:
    for configure in ctx.facts.configures:
        node = configure.call.node
        explicit = {kw.arg: kw for kw in node.keywords if kw.arg}
        if not explicit:
            continue
        for splat in configure.call.splats:
            keys, origin = _known_keys(ctx, splat, configure.call.scope, node.lineno)
            for name in sorted(set(explicit) & keys):
                severity = Severity.ERROR
                note = ""
                if origin == "flask-migrate" and name in FLASK_MIGRATE_KEYS:
                    # the project's Flask-Migrate decides, not the checker's
                    env = judged_environment(ctx)
                    version = env.version("flask-migrate") if env is not None else None
                    if version is not None and version_tuple(version)[:1] < (4,):
                        continue
                    if version is None:
                        severity = Severity.WARNING
                        why = (
                            f"Flask-Migrate is not installed {env.where}"
                            if env is not None
                            else "no project environment was found to tell its version"
                        )
                        note = (
                            " (Flask-Migrate 4+ puts compare_type and render_as_batch in "
                            f"configure_args; {why})"
                        )
                    else:
                        note = (
                            f" (Flask-Migrate {version}, {env.where}, always puts compare_type "  # type: ignore[union-attr]
                            "and render_as_batch in configure_args)"
                        )
                keyword = explicit[name]
                start = ctx.source.from_utf8(keyword.lineno, keyword.col_offset)
                span = Range(start, Position(start.line, start.character + len(name)))
                edit = remove_keyword(ctx.source, node, name)
                fixes = (
                    [
                        Fix(
                            f"Remove the explicit {name}= (the ** options carry it)",
                            (edit,),
                            safe=False,
                        )
                    ]
                    if edit
                    else []
                )
                ctx.report(
                    f"'{name}' is passed explicitly and also through **{ctx.source.slice(ctx.range(splat))}{note}: "
                    f"\"TypeError: configure() got multiple values for keyword argument '{name}'\".",
                    span,
                    severity=severity,
                    fixes=fixes,
                )


def _known_keys(
    ctx: RuleContext, expr: ast.expr, scope: Scope, line: int, depth: int = 0
) -> tuple[set[str], str]:
    if depth > 5:
        return set(), ""
    keys: set[str]
    if isinstance(expr, ast.Dict):
        keys = {k for k in (constant_str(key) for key in expr.keys if key is not None) if k}
        for key, value in zip(expr.keys, expr.values, strict=True):
            if key is None:
                keys |= _known_keys(ctx, value, scope, line, depth + 1)[0]
        return keys, "dict"
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "dict"
        and scope.lookup_function("dict") is None
    ):
        keys = {kw.arg for kw in expr.keywords if kw.arg}
        for arg in expr.args:
            keys |= _known_keys(ctx, arg, scope, line, depth + 1)[0]
        return keys, "dict"
    if _is_flask_migrate_args(expr):
        return set(FLASK_MIGRATE_KEYS), "flask-migrate"
    if isinstance(expr, ast.Name):
        keys = set()
        origin = ""
        assignment = scope.last_assignment(expr.id, line)
        if assignment is not None:
            keys, origin = _known_keys(
                ctx, assignment.value, scope, assignment.stmt.lineno, depth + 1
            )
        prefix = f"{expr.id}["
        current: Scope | None = scope
        while current is not None:
            for name, assigned in current.assignments.items():
                if name.startswith(prefix) and any(a.stmt.lineno <= line for a in assigned):
                    keys.add(name[len(prefix) : -1])
            current = current.parent
        for call in scope.calls:
            if call.receiver == expr.id and call.node.lineno < line:
                if call.attr == "setdefault" and call.node.args and constant_str(call.node.args[0]):
                    keys.add(constant_str(call.node.args[0]))  # type: ignore[arg-type]
                elif call.attr == "update":
                    keys |= {kw.arg for kw in call.node.keywords if kw.arg}
                    for arg in call.node.args:
                        keys |= _known_keys(ctx, arg, scope, line, depth + 1)[0]
        return keys, origin or "dict"
    return set(), ""


def _is_flask_migrate_args(expr: ast.expr) -> bool:
    """`current_app.extensions['migrate'].configure_args`"""
    if not (isinstance(expr, ast.Attribute) and expr.attr == "configure_args"):
        return False
    holder = expr.value
    return (
        isinstance(holder, ast.Subscript)
        and constant_str(holder.slice) == "migrate"
        and isinstance(holder.value, ast.Attribute)
        and holder.value.attr == "extensions"
    )


_FLASK = """from flask import current_app

from alembic import context


def run_migrations_online():
    connectable = current_app.extensions["migrate"].db.engine
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=current_app.extensions["migrate"].db.metadata,
            compare_type=True,
            **current_app.extensions["migrate"].configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()
"""

RULE = Rule(
    code="ENV048",
    name="duplicate-configure-option",
    severity=Severity.ERROR,
    summary="A `context.configure()` keyword is also carried by a `**` dict (Flask-Migrate's `configure_args`): TypeError.",
    docs=Docs(
        what=(
            "Finds keywords passed to `context.configure()` explicitly and also inside a `**` dict whose keys are "
            'known: a dict literal or `dict(...)` (also built up with `opts["k"] = ...`, `setdefault`, `update`), '
            "or Flask-Migrate's `current_app.extensions['migrate'].configure_args`, which since Flask-Migrate 4.0 "
            "always carries `compare_type` and `render_as_batch`. The message names the Flask-Migrate version seen."
        ),
        why=(
            'Python refuses a keyword given twice: "TypeError: configure() got multiple values for keyword argument '
            "'compare_type'\". Every `flask db upgrade` / `migrate` fails."
        ),
        example="context.configure(connection=connection, compare_type=True, **current_app.extensions['migrate'].configure_args)",
        instead=(
            "context.configure(connection=connection, **current_app.extensions['migrate'].configure_args)\n"
            "# and Migrate(app, db, compare_type=True) where the extension is created"
        ),
        fix_safety="Unsafe: removing the explicit keyword lets the dict's value win, which may differ.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _FLASK,
            environment=(("flask-migrate", "4.0.7"),),
            span="compare_type",
            message="(Flask-Migrate 4.0.7, installed here",
            fixed=_FLASK.replace("            compare_type=True,\n", ""),
        ),
        Example(
            _FLASK,
            environment=(("flask-migrate", None),),
            severity=Severity.WARNING,
            note="Flask-Migrate not installed where the checker runs: warning",
        ),
        Example(
            "from alembic import context\n\nOPTIONS = {'render_as_batch': True}\n\n\ndef run(connection):\n"
            "    context.configure(connection=connection, render_as_batch=True, **OPTIONS)\n",
            span="render_as_batch",
            note="a dict literal",
        ),
        Example(
            "from alembic import context\n\n\ndef run(connection):\n    options = dict(compare_type=True)\n"
            "    options['include_schemas'] = True\n"
            "    context.configure(connection=connection, include_schemas=False, **options)\n",
            span="include_schemas",
            note="a key added by subscript assignment",
        ),
    ),
    valid=(
        Example(
            _FLASK.replace("            compare_type=True,\n", ""),
            environment=(("flask-migrate", "4.0.7"),),
        ),
        Example(
            _FLASK,
            environment=(("flask-migrate", "3.1.0"),),
            note="Flask-Migrate 3 does not add compare_type",
        ),
        Example(
            "from alembic import context\n\n\ndef run(connection, **kwargs):\n"
            "    context.configure(connection=connection, compare_type=True, **kwargs)\n",
            note="unknown keys",
        ),
    ),
)
