"""A staff member binds their WeCom account with a one-time code, then a supervisor asks /status."""

from __future__ import annotations

from datetime import timedelta

from handlers.cases import binding
from handlers.deps import Deps
from tests.wecom.conftest import WeCom


async def test_bind_through_wecom_then_supervisor_status(wecom: WeCom, deps: Deps) -> None:
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, "sup2", now=deps.clock.now(), ttl=timedelta(hours=72), salt=deps.config.salt)
    user = "LiSupervisor"
    assert "/status" not in "\n".join(await wecom.say(user, "/help"))  # not bound yet
    assert "无效" in "\n".join(await wecom.say(user, "/bind WRONG-CODE1"))
    assert "已绑定到" in "\n".join(await wecom.say(user, f"/bind {code}"))
    assert "/status" in "\n".join(await wecom.say(user, "/help"))
    status = "\n".join(await wecom.say(user, "/status"))
    assert "工作概况" in status and "当前超期" in status  # the summary, in counts only
