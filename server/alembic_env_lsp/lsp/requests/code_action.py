"""textDocument/codeAction and codeAction/resolve: actions.py's plans as LSP code actions.

The async rewrite is heavy, so it is offered without its edit when the client can resolve
one (the edit is computed on codeAction/resolve), else as the convert command.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from .. import convert
from ..actions import Plan, offers_async_rewrite, plan_env_actions, plan_ini_actions
from ..documents import ENV, INI
from ..snapshot import EnvSnapshot
from .rewrite import convert_edit

if TYPE_CHECKING:
    from ..session import Session


async def code_actions(session: Session, uri: str, client_range: Any, only: Any) -> list:
    kind = session.kind(uri)
    if kind == ENV:
        env = await session.env_snapshot(uri)
        if env is None or not env.result.enabled or env.result.analysis is None:
            return []
        rng = env.codec.range_from_client(env.doc, client_range)
        analysis = env.result.analysis
        planner = partial(
            plan_env_actions,
            analysis,
            env.result.env_indexes,
            rng,
            only,
            offer_rewrite=offers_async_rewrite(analysis),
        )
        # fix-all re-analyses until stable (the pipeline `check --fix` uses): off the loop
        fix_all = bool(only) and convert.kind_wanted(convert.FIX_ALL_KIND, only)
        plans = await asyncio.to_thread(planner) if fix_all else planner()
        return [_env_action(plan, env) for plan in plans]
    if kind == INI:
        ini = await session.ini_snapshot(uri)
        if ini is None:
            return []
        rng = ini.codec.range_from_client(ini.doc, client_range)
        actions = []
        for result, item in ini.items:
            for plan, _ in plan_ini_actions([item], rng, only):
                actions.append(
                    convert.code_action(
                        plan.title,
                        plan.kind,
                        diagnostics=[item.diagnostic],
                        preferred=plan.preferred,
                        edit=ini.files.workspace_edit(plan.edits, result),
                    )
                )
        return actions
    return []


def _env_action(plan: Plan, env: EnvSnapshot) -> Any:
    if plan.lazy == "convert":
        uri = env.doc.uri
        if env.features.resolve_edit:
            data = {"action": "convert", "uri": uri, "version": env.doc.version}
            return convert.code_action(plan.title, plan.kind, data=data)
        return convert.code_action(
            plan.title,
            plan.kind,
            command=(plan.title, convert.CONVERT_COMMAND, [uri, {"notify": True}]),
        )
    by_index = dict(zip(env.result.env_indexes, env.result.env_diagnostics, strict=True))
    return convert.code_action(
        plan.title,
        plan.kind,
        diagnostics=[by_index[i] for i in plan.findings if i in by_index],
        preferred=plan.preferred,
        edit=env.files.workspace_edit(plan.edits, env.result),
    )


async def resolve(session: Session, action: Any) -> Any:
    data = convert.action_data(action)
    if not isinstance(data, dict) or data.get("action") != "convert":
        return action
    edit = (await convert_edit(session, str(data.get("uri")))).edit
    if edit is None:
        # nothing to apply: running the command instead tells the user why
        command = (
            convert.action_title(action),
            convert.CONVERT_COMMAND,
            [data.get("uri"), {"notify": True}],
        )
        return convert.with_resolution(action, None, command)
    return convert.with_resolution(action, edit, None)
