"""Who someone is (bot? deactivated? time zone?), from users.info, cached in Redis."""

from __future__ import annotations

import asyncio

from slack_sdk.errors import SlackApiError

from .asks import Person
from .slack_api import Clients
from .store import Store


class People:
    def __init__(self, store: Store, clients: Clients):
        self.store = store
        self.clients = clients

    async def get(self, team_id: str, user_id: str) -> Person:
        cached = await self.store.cached_person(team_id, user_id)
        if cached:
            return cached
        person = await self._look_up(team_id, user_id)
        await self.store.cache_person(team_id, person)
        return person

    async def get_many(self, team_id: str, user_ids: list[str]) -> dict[str, Person]:
        people = await asyncio.gather(*(self.get(team_id, uid) for uid in dict.fromkeys(user_ids)))
        return {person.id: person for person in people}

    async def _look_up(self, team_id: str, user_id: str) -> Person:
        client = await self.clients.for_team(team_id)
        try:
            response = await client.users_info(user=user_id)
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
        )
