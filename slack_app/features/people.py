"""Who someone is (bot? deactivated? time zone? language?), from users.info, cached in Redis."""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from ..domain.asks import Person
from ..slack.slack_api import Clients, NotInstalled
from ..store.store import Store
from ..text.i18n import ENGLISH, Language, language_of


class People:
    def __init__(self, store: Store, clients: Clients):
        self.store = store
        self.clients = clients

    async def get(self, team_id: str, user_id: str) -> Person:
        return (await self.get_many(team_id, [user_id]))[user_id]

    async def get_many(self, team_id: str, user_ids: list[str]) -> dict[str, Person]:
        wanted = list(dict.fromkeys(user_ids))
        people = await self.store.cached_people(team_id, wanted)
        missing = [uid for uid in wanted if uid not in people]
        if missing:
            found = await asyncio.gather(*(self._look_up(team_id, uid) for uid in missing))
            await self.store.cache_people(team_id, found)
            people.update((person.id, person) for person in found)
        return people

    async def language_of(self, team_id: str, user_id: str) -> Language:
        """The language someone reads slack-ask in. With Redis down they are asked of Slack directly
        (a message saying so must still be theirs); English when even that fails."""
        try:
            person = await self.get(team_id, user_id)
        except RedisError:
            try:
                person = await self._look_up(team_id, user_id)
            except (SlackApiError, RedisError, OSError, NotInstalled):
                return ENGLISH
        except (SlackApiError, OSError, NotInstalled):
            return ENGLISH
        return language_of(person.locale)

    async def _look_up(self, team_id: str, user_id: str) -> Person:
        client = await self.clients.for_team(team_id)
        try:
            response = await client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                return Person(id=user_id, deleted=True)
            raise
        user = response["user"]
        return Person(
            id=user_id,
            name=user.get("real_name") or user.get("name") or "",
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            deleted=bool(user.get("deleted")),
            tz=user.get("tz") or "UTC",
            is_admin=bool(user.get("is_admin") or user.get("is_owner")),
            locale=user.get("locale") or "",
        )
