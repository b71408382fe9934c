"""Where OAuth installations and OAuth states live: Redis, behind slack_sdk's own interfaces.

slack_sdk ships file, SQL and S3 stores but none for Redis. Every key of one installation is
namespaced by its owner — the workspace, or the enterprise for an org-wide install — and shares
that owner's hash tag, so uninstalling can find and remove all of it. Each record is sealed
(sealing.py): Redis, its snapshots and its replicas never hold a token in the clear.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import (
    AsyncInstallationStore,
)
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from . import lua
from .client import RedisClient, optional_text, text
from .sealing import Seal, Unreadable

log = logging.getLogger(__name__)

Record = TypeVar("Record", Bot, Installation)

STATE_SECONDS = 600  # how long an "Add to Slack" link stays good
RESEAL_TRIES = 5  # a record that changes under rotate-key this often in a row is left for the next run


def owner(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False) -> str:
    return enterprise_id if (is_enterprise_install or not team_id) and enterprise_id else team_id or "none"


def bot_key(owner_id: str) -> str:
    return f"{{{owner_id}}}:install:bot"


def installer_key(owner_id: str, user_id: str | None = None) -> str:
    return f"{{{owner_id}}}:install:installer" + (f":{user_id}" if user_id else "")


def enterprise_key(team_id: str) -> str:
    """Which enterprise a workspace belongs to, for finding an org-wide install's token later."""
    return f"{{{team_id}}}:install:enterprise"


def enterprise_teams_key(enterprise_id: str) -> str:
    """The workspaces seen under an enterprise, so an org-wide uninstall can forget each one."""
    return f"{{{enterprise_id}}}:install:teams"


# The keys holding sealed records (the enterprise notes are ids, not secrets).
SEALED_PATTERNS = ("*:install:bot", "*:install:installer*")


def state_key(state: str) -> str:
    return f"slack-ask:oauth-state:{state}"


@dataclass
class Resealed:
    """What `slack-ask rotate-key` did: records re-sealed, and the keys of those it had to leave."""

    resealed: int = 0
    unreadable: list[str] = field(default_factory=list)  # no configured key opens them
    busy: list[str] = field(default_factory=list)  # changed by a running instance on every try


class RedisInstallationStore(AsyncInstallationStore):
    def __init__(self, redis: RedisClient, seal: Seal):
        self.redis = redis
        self.seal = seal
        self._reseal = redis.register_script(lua.source("reseal"))

    def _json(self, model: Bot | Installation) -> str:
        fields = {key: value for key, value in vars(model).items() if not key.startswith("_")}
        return self.seal.seal(json.dumps(fields, default=str))

    def _load(self, model: type[Record], raw: bytes | str | None) -> Record | None:
        """A record sealed or, written before sealing, plain: either reads; the next save seals it."""
        if not raw:
            return None
        data = json.loads(self.seal.open(text(raw)))
        accepted = model.__init__.__code__.co_varnames
        return model(**{key: value for key, value in data.items() if key in accepted})

    async def reseal_all(self) -> Resealed:
        """Re-seals every record with the first key (`slack-ask rotate-key`), safely beside running
        instances: each record is replaced only if it is still what was read (else read again), and
        one that no key opens is reported, not fatal."""
        outcome = Resealed()
        for pattern in SEALED_PATTERNS:
            async for key in self.redis.scan_iter(match=pattern, count=500):
                await self._reseal_one(key, outcome)
        return outcome

    async def _reseal_one(self, key: str, outcome: Resealed) -> None:
        for _ in range(RESEAL_TRIES):
            raw = optional_text(await self.redis.get(key))
            if not raw:
                return  # uninstalled meanwhile: nothing left to re-seal
            try:
                sealed = self.seal.reseal(raw)
            except Unreadable:
                outcome.unreadable.append(key)
                return
            if await self._reseal(keys=[key], args=[raw, sealed]):
                outcome.resealed += 1
                return
        outcome.busy.append(key)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        who = owner(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(installer_key(who), self._json(installation))
            if installation.user_id:
                pipe.set(installer_key(who, installation.user_id), self._json(installation))
            if installation.bot_token:
                pipe.set(bot_key(who), self._json(installation.to_bot()))
            await pipe.execute()

    async def async_save_bot(self, bot: Bot) -> None:
        await self.redis.set(bot_key(owner(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)), self._json(bot))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        bot = self._load(Bot, await self.redis.get(bot_key(owner(enterprise_id, team_id, is_enterprise_install))))
        if bot is None and enterprise_id and team_id:  # a workspace of an org-wide install
            bot = self._load(Bot, await self.redis.get(bot_key(enterprise_id)))
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        who = owner(enterprise_id, team_id, is_enterprise_install)
        installation = self._load(Installation, await self.redis.get(installer_key(who, user_id)))
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if installation is not None and bot is not None:
            # The bot token may have been rotated since this installer record was written.
            installation.bot_token, installation.bot_refresh_token = bot.bot_token, bot.bot_refresh_token
            installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def note_enterprise(self, team_id: str, enterprise_id: str) -> None:
        await self.redis.set(enterprise_key(team_id), enterprise_id)
        await self.redis.sadd(enterprise_teams_key(enterprise_id), team_id)

    async def enterprise_teams(self, enterprise_id: str) -> set[str]:
        return {text(team_id) for team_id in await self.redis.smembers(enterprise_teams_key(enterprise_id))}

    async def find_workspace_bot(self, team_id: str) -> Bot | None:
        """The bot token for a workspace, installed there directly or through its organisation."""
        enterprise_id = optional_text(await self.redis.get(enterprise_key(team_id)))
        return await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.redis.delete(bot_key(owner(enterprise_id, team_id)))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        who = owner(enterprise_id, team_id)
        if user_id:
            await self.redis.delete(installer_key(who, user_id))
            return
        installers = [key async for key in self.redis.scan_iter(match=f"{{{who}}}:install:installer*")]
        if installers:
            await self.redis.delete(*installers)  # one slot: the owner's

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)
        if enterprise_id and not team_id:  # the organisation itself is gone: so is the note of its workspaces
            await self.redis.delete(enterprise_teams_key(enterprise_id))


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """One-time states for the OAuth redirect, so a forged callback is refused."""

    def __init__(self, redis: RedisClient):
        self.redis = redis

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(24)
        await self.redis.set(state_key(state), "1", ex=STATE_SECONDS)
        return state

    async def async_consume(self, state: str) -> bool:
        return bool(await self.redis.getdel(state_key(state)))
